"""Atomic file writes: a reader (or a power cut) never sees half a file.

The data goes to a temporary file in the same folder, which is given its mode,
flushed and fsync'd, then renamed over the target; the folder is fsync'd so the
rename itself is durable. Used for keys, certificates, settings, receipts and exports.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``.

    :raises OSError: when the folder is missing or not writable (nothing is left behind).
    """
    path = Path(path)
    folder = path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dirfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
