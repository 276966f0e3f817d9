"""What the device tells the hub about itself with every batch: its software version and the
installed reference data, as the headers ``X-Appliance-Software`` and ``X-Appliance-Reference``
(the central office's status page shows them and finds devices on an old version).

- software: the installed package's version (``appliance`` distribution, else ``__version__``);
- reference data: the installed set's version per content type, e.g.
  ``valuesets:3+trustlist:2+revocations:7+rules:1`` (types with nothing installed left out),
  ``none`` when nothing is installed. Read at every push: a sync may install a newer set.
"""

from __future__ import annotations

import logging
from importlib import metadata
from pathlib import Path
from typing import Callable

import appliance
from appliance.errors import ApplianceError
from appliance.reference import store

log = logging.getLogger(__name__)

SOFTWARE_HEADER = "X-Appliance-Software"
REFERENCE_HEADER = "X-Appliance-Reference"


def software_version() -> str:
    try:
        return metadata.version("appliance")
    except metadata.PackageNotFoundError:
        return appliance.__version__


def reference_version(state_dir: Path) -> str:
    """The installed reference data's versions as one header value (``none``: nothing installed)."""
    try:
        versions = store.versions(state_dir)
    except ApplianceError as exc:        # a damaged set: say so rather than fail the sync
        log.warning("cannot read the installed reference data's versions: %s", exc)
        return "unreadable"
    parts = [f"{kind}:{number}" for kind, number in versions.items() if number]
    return "+".join(parts) if parts else "none"


def headers(state_dir: Path) -> dict[str, str]:
    return {SOFTWARE_HEADER: software_version(), REFERENCE_HEADER: reference_version(state_dir)}


def reporter(state_dir: Path) -> Callable[[], dict[str, str]]:
    """The headers of this device, read anew at every call (for the hub client)."""
    return lambda: headers(Path(state_dir))
