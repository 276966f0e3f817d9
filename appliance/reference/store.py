"""Installed reference data in ``<state>/reference/``: install with an atomic switch, rollback, status.

::

    <state>/reference/
        v-0003/            one complete, never-changed set: MANIFEST.json, valuesets/<id>.json,
                           trustlist.json, revocations.json, rules.json, bundle.dccbundle
        current -> v-0003  the set in use (a symlink, replaced by rename(2): atomic)
        previous -> v-0002 kept for ``appliance reference rollback``
        .lock              flock: one install or rollback at a time, across processes
        .serial            the last set number used: a name is never reused

Installing (:func:`install`): check the bundle (signature, trust anchor, manifest, every
part's content, versions) -> write a complete new set into ``.staging-NNNN`` (the parts the
bundle does not carry are copied from the current set), fsync every file and folder ->
rename it to ``v-NNNN`` -> point ``previous`` at the old set -> point ``current`` at the new
one (each a symlink made beside and renamed over the old one) -> fsync the folder. A power
cut at any moment leaves ``current`` on the old set or on the new complete one, never on a
mix; half-written staging folders are removed by the next install.

Versions are monotonic per content type: a part older than the installed one is refused; an
equal version must be byte-identical (a carried-forward part) and then stays; a bundle that
brings nothing newer is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509

from appliance.errors import ReferenceDataError
from appliance.reference.bundle import CONTENT_TYPES, open_bundle, refuse
from appliance.reference.content import check_parts
from appliance.util.timefmt import fmt_utc

log = logging.getLogger(__name__)
audit = logging.getLogger("appliance.audit")

FOLDER, MANIFEST, CURRENT, PREVIOUS, SERIAL = "reference", "MANIFEST.json", "current", "previous", ".serial"
FILES = {"trustlist": "trustlist.json", "revocations": "revocations.json", "rules": "rules.json"}


@dataclass(frozen=True)
class Installed:
    """The outcome of an install: the new set's name and per content type (old, new) versions."""

    name: str
    changes: dict[str, tuple[int, int]]

    def describe(self) -> str:
        return ", ".join(f"{t} {old} -> {new}" if new != old else f"{t} {new} (unchanged)"
                         for t, (old, new) in sorted(self.changes.items()))


def root(state_dir: Path) -> Path:
    return Path(state_dir) / FOLDER


def current_dir(state_dir: Path) -> Path | None:
    """The installed set in use, or None."""
    link = root(state_dir) / CURRENT
    return link.resolve() if link.is_symlink() and (link.resolve() / MANIFEST).is_file() else None


def manifest(folder: Path | None) -> dict:
    if folder is None:
        return {"content": {}}
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"installed reference data {folder.name}: MANIFEST.json is unreadable ({exc}); "
                                 "run 'appliance reference rollback' or import a bundle again") from None


def versions(state_dir: Path) -> dict[str, int]:
    """Installed version per content type (0 = none)."""
    content = manifest(current_dir(state_dir))["content"]
    return {t: int(content[t]["version"]) if t in content else 0 for t in CONTENT_TYPES}


@contextlib.contextmanager
def _locked(state_dir: Path):
    folder = root(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return hashlib.sha256(data).hexdigest()


def _compare(new: dict[str, int], digests: dict[str, str], installed: dict) -> dict[str, tuple[int, int]]:
    changes, newer = {}, False
    for name, version in new.items():
        old = int(installed[name]["version"]) if name in installed else 0
        if version < old:
            raise refuse(name, f"version {version} is older than the installed version {old} (no rollback by import)")
        if version == old and installed[name].get("part_sha256") != digests[name]:
            raise refuse(name, f"version {version} is already installed with other content")
        newer = newer or version > old
        changes[name] = (old, version)
    if not newer:
        raise refuse("versions", "nothing newer than what is installed ("
                     + ", ".join(f"{n} {v}" for n, (_, v) in sorted(changes.items())) + ")")
    return changes


def _write_part(staging: Path, name: str, content, data: bytes) -> dict[str, str]:
    if name != "valuesets":
        return {FILES[name]: _write(staging / FILES[name], data)}
    files = {}
    for set_id, doc in sorted(content.items()):
        rel = f"valuesets/{set_id}.json"
        files[rel] = _write(staging / rel, json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8"))
    _fsync_dir(staging / "valuesets")
    return files


def _switch(folder: Path, link: str, target: str | None) -> None:
    tmp = folder / f".{link}.new"
    tmp.unlink(missing_ok=True)
    if target is None:
        (folder / link).unlink(missing_ok=True)
    else:
        tmp.symlink_to(target)
        os.replace(tmp, folder / link)
    _fsync_dir(folder)


def _next_name(folder: Path) -> str:
    """A name never used before (readers cache a set by its folder): one above every set,
    staging folder and the last number recorded in ``.serial``."""
    names = [p.name.removeprefix(".staging-") for p in folder.iterdir()]
    numbers = [int(n[2:]) for n in names if n.startswith("v-") and n[2:].isdigit()]
    try:
        numbers.append(int((folder / SERIAL).read_text()))
    except (OSError, ValueError):
        pass
    number = max(numbers, default=0) + 1
    _write(folder / f"{SERIAL}.new", str(number).encode())
    os.replace(folder / f"{SERIAL}.new", folder / SERIAL)
    return f"v-{number:04d}"


def _clean(folder: Path) -> None:
    keep = {(folder / link).resolve().name for link in (CURRENT, PREVIOUS) if (folder / link).is_symlink()}
    for path in folder.iterdir():
        if path.name.startswith(".staging-") or (path.name.startswith("v-") and path.name not in keep):
            shutil.rmtree(path, ignore_errors=True)


def install(state_dir: Path, data: bytes, *, anchor: x509.Certificate, now: datetime, source: str) -> Installed:
    """Verify ``data`` (a ``.dccbundle``) and make it the current set. Raises
    :class:`ReferenceDataError` naming the part and the problem; then nothing changed."""
    bundle = open_bundle(data, anchor=anchor, now=now)
    content = check_parts(bundle.parts)
    with _locked(state_dir) as folder:
        old_dir = current_dir(state_dir)
        old = manifest(old_dir)["content"]
        digests = {n: p.sha256.hex() for n, p in bundle.parts.items()}
        changes = _compare(bundle.versions(), digests, old)
        name = _next_name(folder)
        _clean(folder)
        staging = folder / f".staging-{name}"
        staging.mkdir()
        entries = {}
        for kind in CONTENT_TYPES:
            if kind in bundle.parts:
                part = bundle.parts[kind]
                entries[kind] = {"version": part.version, "created": part.created, "items": part.items,
                                 "part_sha256": digests[kind], "installed_at": fmt_utc(now), "source": source,
                                 "files": _write_part(staging, kind, content[kind], part.data)}
            elif kind in old:  # carried forward unchanged from the current set
                for rel in old[kind]["files"]:
                    _write(staging / rel, (old_dir / rel).read_bytes())
                entries[kind] = old[kind]
        _write(staging / "bundle.dccbundle", data)
        _write(staging / MANIFEST, json.dumps({"name": name, "installed_at": fmt_utc(now), "source": source,
                                               "publisher": bundle.publisher, "bundle_created": bundle.created,
                                               "content": entries}, indent=1, sort_keys=True).encode())
        _fsync_dir(staging)
        os.rename(staging, folder / name)
        _fsync_dir(folder)
        if old_dir is not None:
            _switch(folder, PREVIOUS, old_dir.name)
        _switch(folder, CURRENT, name)
    audit.info("reference data installed: %s from %s (%s)", name, source, Installed(name, changes).describe())
    return Installed(name, changes)


def rollback(state_dir: Path) -> tuple[str, str]:
    """Make the previous set current again; returns (from, to). The rolled-back set is dropped
    at the next install; a second rollback has nothing to go back to."""
    with _locked(state_dir) as folder:
        link = folder / PREVIOUS
        target = link.resolve() if link.is_symlink() else None
        now_dir = current_dir(state_dir)
        if target is None or not (target / MANIFEST).is_file() or (now_dir and target == now_dir):
            raise ReferenceDataError("no previous reference data to roll back to; nothing changed")
        problems = integrity_problems(target)
        if problems:
            raise ReferenceDataError(f"the previous reference data {target.name} is damaged ({problems[0]}); "
                                     "nothing changed")
        _switch(folder, CURRENT, target.name)
        _switch(folder, PREVIOUS, None)
    audit.info("reference data rolled back from %s to %s", now_dir.name if now_dir else "-", target.name)
    return (now_dir.name if now_dir else "-"), target.name


def integrity_problems(folder: Path) -> list[str]:
    """Files of an installed set that are missing or differ from its manifest."""
    problems = []
    for kind, entry in manifest(folder)["content"].items():
        for rel, digest in entry["files"].items():
            try:
                ok = hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
            except OSError:
                ok = False
            if not ok:
                problems.append(f"{kind}: {rel} is missing or altered")
    return problems


def _age_days(created: str, now: datetime) -> float | None:
    try:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return round((now - moment).total_seconds() / 86400, 1)


def status(state_dir: Path, *, now: datetime) -> dict:
    """What is installed: the set, per content type its version, publication time, age and
    size, the previous set, and whether the files are intact. No personal data."""
    folder = current_dir(state_dir)
    info = manifest(folder)
    prev = root(state_dir) / PREVIOUS
    content = {t: {"version": int(e["version"]), "created": e["created"], "age_days": _age_days(e["created"], now),
                   "items": e.get("items", 0), "installed_at": e.get("installed_at"), "source": e.get("source")}
               for t, e in info["content"].items()}
    return {"installed": folder is not None, "current": folder.name if folder else None,
            "previous": prev.resolve().name if prev.is_symlink() and prev.resolve().is_dir() else None,
            "installed_at": info.get("installed_at"), "publisher": info.get("publisher"),
            "content": content, "intact": not integrity_problems(folder) if folder else None}
