"""A batch's working files and status: ``<state>/batches/<id>/`` (folder 0700, files 0600).

The folder holds ``batch.json`` (the status the command line and the tablet show), a copy
of the input list and its map (the only place addresses live besides the letters), and, for
batches started on the tablet, the outputs in ``out/``. A batch's outputs written elsewhere
(``--out DIR``) are listed in ``batch.json`` and removed with it by :meth:`BatchStore.purge`.
Nothing here is ever synced. The batch id is a hash of the type, the input's bytes and the
map's bytes, so running the same file again finds the same batch.

``run.lock`` (flock) is held by the process running a batch; the kernel drops it when that
process dies, so a batch killed with SIGKILL can be continued at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
from datetime import datetime
from pathlib import Path

from appliance.errors import InvalidInput, UsageError
from appliance.util.atomic import write_atomic
from appliance.util.timefmt import fmt_utc

log = logging.getLogger(__name__)

OUTPUT_NAMES = ("manifest.csv", "errors.csv", "summary.json", ".batch-id")


def batch_id(kind: str, type_: str, data: bytes, mapping: bytes = b"") -> str:
    h = hashlib.sha256()
    for part in (kind.encode(), type_.encode(), hashlib.sha256(data).digest(), hashlib.sha256(mapping).digest()):
        h.update(part)
    return h.hexdigest()[:16]


class BatchStore:
    """The batches of one device's state directory."""

    def __init__(self, state_dir: Path):
        self.root = Path(state_dir) / "batches"

    def folder(self, bid: str) -> Path:
        if not bid.isalnum() or len(bid) > 32:
            raise UsageError(f"{bid!r} is not a batch id; 'appliance batch status' lists them")
        return self.root / bid

    def create(self, bid: str, meta: dict, files: dict[str, bytes]) -> dict:
        """Make the batch's folder (or reuse it: the same input gives the same id) and its files."""
        folder = self.folder(bid)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        for name, data in files.items():
            if not (folder / name).exists():
                write_atomic(folder / name, data, mode=0o600)
        existing = self.load(bid, missing_ok=True)
        merged = {**meta, **(existing or {}), "id": bid}
        self.save(merged)
        return merged

    def load(self, bid: str, *, missing_ok: bool = False) -> dict | None:
        path = self.folder(bid) / "batch.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if missing_ok:
                return None
            raise UsageError(f"no batch {bid}; 'appliance batch status' lists them") from None
        except (OSError, ValueError) as exc:
            raise InvalidInput({"batch": f"the status of batch {bid} cannot be read ({exc})"}) from None

    def save(self, meta: dict) -> None:
        write_atomic(self.folder(meta["id"]) / "batch.json",
                     json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True).encode("utf-8"), mode=0o600)

    def update(self, bid: str, now: datetime, **fields) -> dict:
        meta = self.load(bid)
        for key, value in fields.items():
            if isinstance(value, dict) and isinstance(meta.get(key), dict):
                meta[key] = {**meta[key], **value}
            else:
                meta[key] = value
        meta["updated_at"] = fmt_utc(now)
        self.save(meta)
        return meta

    def list(self) -> list[dict]:
        if not self.root.is_dir():
            return []
        found = [self.load(p.name, missing_ok=True) for p in sorted(self.root.iterdir()) if p.is_dir()]
        return sorted((m for m in found if m), key=lambda m: m.get("created_at", ""))

    @contextlib.contextmanager
    def running(self, bid: str):
        """Hold the batch's run lock; :class:`UsageError` when another process runs it."""
        fd = os.open(self.folder(bid) / "run.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(f"batch {bid} is being processed by another process; wait for it or "
                                 "see 'appliance batch status'") from None
            yield
        finally:
            os.close(fd)

    def is_running(self, bid: str) -> bool:
        path = self.folder(bid) / "run.lock"
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def _purge_out(self, out: Path, bid: str, files: list[str]) -> list[str]:
        """Remove the outputs batch ``bid`` wrote to ``out`` (only if its marker says so)."""
        marker = out / ".batch-id"
        if out.is_relative_to(self.folder(bid)) or not marker.is_file() \
                or marker.read_text(encoding="utf-8").strip() != bid:
            return []
        removed = []
        for name in [*files, *(p.name for p in out.glob("letters-*.pdf")), *OUTPUT_NAMES]:
            path = out / name
            if path.is_file():
                path.unlink()
                removed.append(str(path))
        with contextlib.suppress(OSError):
            out.rmdir()
        return removed

    def purge(self, bid: str) -> list[str]:
        """Delete the batch's folder and the outputs it wrote elsewhere; returns what was removed."""
        meta = self.load(bid)
        if self.is_running(bid):
            raise UsageError(f"batch {bid} is running; stop it before purging")
        removed = []
        for out in dict.fromkeys([*meta.get("outs", []), *([meta["out"]] if meta.get("out") else [])]):
            removed += self._purge_out(Path(out), bid, meta.get("files", []))
        shutil.rmtree(self.folder(bid))
        removed.append(str(self.folder(bid)))
        log.info("batch %s purged (%d paths)", bid, len(removed))
        return removed
