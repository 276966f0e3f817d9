"""Tests that need a Debian package (SoftHSM2, swtpm, systemd-analyze, Chromium, ...).

``make test`` installs these packages when it runs as root, so a missing one fails there and in
CI instead of hiding behind a skip; a developer without root gets a skip that names what is missing.
"""

import os

import pytest


def require(available: bool, what: str) -> None:
    """Fail (root or CI) or skip (a developer's machine) when ``available`` is false."""
    if available:
        return
    message = f"{what} (make test installs it when run as root)"
    if os.environ.get("CI") or os.geteuid() == 0:
        pytest.fail(message)
    pytest.skip(message)
