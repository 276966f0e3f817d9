"""Settings and staff accounts, kept in TinyDB at ``<state>/settings.json``.

Small documents that a technician can read: the centre profile, staff accounts
(scrypt password hashes, never the passwords), and printer/GPIO overrides. Only
the web process writes them. Every write goes through :class:`AtomicJSONStorage`
(temp file in the same folder, ``fsync``, ``rename``, ``fsync`` of the folder),
and every operation holds one lock, because TinyDB itself is neither
thread-safe nor crash-safe.

Precedence: the admin's centre settings override ``[device]``, ``[issue]`` and
``[journal]`` values of the configuration where they are set
(:meth:`Settings.effective_config`); fields left empty fall back to the config.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tinydb import Query, TinyDB
from tinydb.storages import Storage
from werkzeug.security import check_password_hash, generate_password_hash

from appliance.util.atomic import write_atomic
from appliance.errors import ConfigError, InvalidInput

log = logging.getLogger(__name__)

ROLES = ("staff", "admin")
LANGUAGES = ("de", "en")
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_HASH_METHOD = "scrypt"

#: centre fields: name -> (type, check, message)
CENTRE_FIELDS: dict[str, tuple[type, Any, str]] = {
    "name": (str, lambda v: len(v) <= 80, "at most 80 characters"),
    "issuer": (str, lambda v: 0 < len(v) <= 80, "1 to 80 characters"),
    "uvci_issuer": (str, lambda v: re.fullmatch(r"[A-Z0-9]{1,20}", v) is not None, "capital letters and digits, at most 20"),
    "country": (str, lambda v: re.fullmatch(r"[A-Z]{2}", v) is not None, "two capital letters, e.g. DE"),
    "default_product": (str, lambda v: len(v) <= 40, "a product code"),
    "default_test_type": (str, lambda v: len(v) <= 40, "a test type code"),
    "default_test_device": (str, lambda v: len(v) <= 40, "a test device code"),
    "test_centre": (str, lambda v: len(v) <= 80, "at most 80 characters"),
    "timezone": (str, lambda v: _valid_zone(v), "a time zone such as Europe/Berlin"),
    "validity_days_v": (int, lambda v: 1 <= v <= 730, "1 to 730 days"),
    "validity_hours_t": (int, lambda v: 1 <= v <= 168, "1 to 168 hours"),
    "validity_days_r": (int, lambda v: 1 <= v <= 365, "1 to 365 days"),
    "retention_days": (int, lambda v: 1 <= v <= 90, "1 to 90 days"),
}
PRINTER_FIELDS = {"kind": str, "profile": str, "paper_width_mm": int, "host": str, "port": int, "path": str}
GPIO_FIELDS = {"enabled": bool, "green": int, "amber": int, "red": int, "button": int, "buzzer": int}


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return bool(name)


class AtomicJSONStorage(Storage):
    """A TinyDB storage that replaces the whole file atomically on each write."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def read(self) -> dict | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ConfigError(f"{self.path}: settings file is damaged; restore it from a backup or move it away") from None

    def write(self, data: dict) -> None:
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
        write_atomic(self.path, text.encode("utf-8"), mode=0o600)

    def close(self) -> None:
        pass


def _coerce(value: Any, typ: type, field: str, check=None, why: str = "") -> Any:
    try:
        if typ is bool:
            out = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        elif typ is int:
            out = int(str(value).strip())
        else:
            out = str(value).strip()
    except ValueError:
        raise InvalidInput({field: f"must be a whole number ({why})" if why else "must be a whole number"}) from None
    if check is not None and out != "" and not check(out):
        raise InvalidInput({field: f"must be {why}"})
    return out


class Settings:
    """The settings document store. Open with :meth:`open`."""

    def __init__(self, db: TinyDB, path: Path):
        self._db = db
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, state_dir: Path) -> Settings:
        path = Path(state_dir) / "settings.json"
        _dummy_hash()  # made now, so the first unknown name at sign-in costs no more than a real one
        return cls(TinyDB(path, storage=AtomicJSONStorage), path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ----- accounts -------------------------------------------------------------------

    def add_user(self, name: str, *, password: str, role: str, language: str = "de") -> None:
        """Create a staff account; :class:`InvalidInput` on a bad name, role, password or duplicate."""
        errors = {}
        if not isinstance(name, str) or not _NAME.match(name):
            errors["name"] = "use 1-40 letters, digits, dot, dash or underscore, starting with a letter or digit"
        if role not in ROLES:
            errors["role"] = "must be staff or admin"
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            errors["password"] = f"must have at least {MIN_PASSWORD} characters"
        if language not in LANGUAGES:
            errors["language"] = "must be de or en"
        if errors:
            raise InvalidInput(errors)
        record = {"name": name, "role": role, "password_hash": generate_password_hash(password, method=_HASH_METHOD),
                  "language": language, "active": True, "session_version": 0}
        with self._lock:
            users = self._db.table("users")
            if users.contains(Query().name == name):
                raise InvalidInput({"name": "an account with this name exists already; choose another name"})
            users.insert(record)
        log.info("account added (role %s)", role)

    def users(self) -> list[dict]:
        with self._lock:
            return sorted((_public(u) for u in self._db.table("users").all()), key=lambda u: u["name"])

    def user(self, name: str) -> dict | None:
        with self._lock:
            found = self._db.table("users").get(Query().name == name)
        return _public(found) if found else None

    def check_password(self, name: str, password: str) -> dict | None:
        """The account if the password fits and it is active, else ``None``. Writes nothing.

        An unknown or disabled account is checked against a dummy hash of the same cost, so every
        answer takes as long as a wrong password for a real account. Throttling of repeated wrong
        passwords is the web process's (:mod:`appliance.web.throttle`), in memory: signing in must
        work on a full disk.
        """
        with self._lock:
            found = self._db.table("users").get(Query().name == name) if isinstance(name, str) else None
        password = password if isinstance(password, str) else ""
        if not found or not found.get("active", True):
            check_password_hash(_dummy_hash(), password)
            return None
        if check_password_hash(found["password_hash"], password):
            return _public(found)
        return None

    def set_password(self, name: str, password: str) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise InvalidInput({"password": f"must have at least {MIN_PASSWORD} characters"})
        self._update_user(name, {"password_hash": generate_password_hash(password, method=_HASH_METHOD)},
                          end_sessions=True)

    def set_language(self, name: str, language: str) -> None:
        if language not in LANGUAGES:
            raise InvalidInput({"language": "must be de or en"})
        self._update_user(name, {"language": language})

    def set_active(self, name: str, active: bool) -> None:
        self._update_user(name, {"active": bool(active)}, end_sessions=True)

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise InvalidInput({"role": "must be staff or admin"})
        self._update_user(name, {"role": role}, end_sessions=True)

    def _update_user(self, name: str, fields: dict, *, end_sessions: bool = False) -> None:
        """Change an account; ``end_sessions`` bumps its ``session_version``, which ends every
        session signed in before (:mod:`appliance.web.sessions`)."""
        with self._lock:
            users = self._db.table("users")
            found = users.get(Query().name == name)
            if not found:
                raise InvalidInput({"name": "no such account"})
            if end_sessions:
                fields = {**fields, "session_version": int(found.get("session_version", 0)) + 1}
            users.update(fields, doc_ids=[found.doc_id])

    # ----- centre profile and device overrides -------------------------------------------

    def centre(self) -> dict:
        """The centre fields the admin has set (unset fields are absent)."""
        with self._lock:
            doc = self._db.table("centre").get(doc_id=1)
        return {k: v for k, v in (doc or {}).items() if v not in ("", None)}

    def update_centre(self, **fields: Any) -> dict:
        """Set centre fields (an empty string clears one); :class:`InvalidInput` names each bad field."""
        clean, errors = {}, {}
        for key, value in fields.items():
            if key not in CENTRE_FIELDS:
                errors[key] = "is not a centre setting"
                continue
            typ, check, why = CENTRE_FIELDS[key]
            if value in ("", None):
                clean[key] = None
                continue
            try:
                clean[key] = _coerce(value, typ, key, check, why)
            except InvalidInput as exc:
                errors.update(exc.field_errors)
        if errors:
            raise InvalidInput(errors)
        return self._upsert("centre", clean)

    def device_overrides(self) -> dict:
        """``{"printer": {...}, "gpio": {...}}``: printer and pin settings the admin changed."""
        with self._lock:
            doc = self._db.table("devices").get(doc_id=1) or {}
        return {"printer": dict(doc.get("printer", {})), "gpio": dict(doc.get("gpio", {}))}

    def update_devices(self, *, printer: dict | None = None, gpio: dict | None = None) -> dict:
        errors: dict[str, str] = {}
        out = self.device_overrides()
        for section, given, known in (("printer", printer, PRINTER_FIELDS), ("gpio", gpio, GPIO_FIELDS)):
            for key, value in (given or {}).items():
                if key not in known:
                    errors[f"{section}.{key}"] = "is not a setting"
                elif value in ("", None):
                    out[section].pop(key, None)
                else:
                    try:
                        out[section][key] = _coerce(value, known[key], f"{section}.{key}")
                    except InvalidInput as exc:
                        errors.update(exc.field_errors)
        if out["printer"].get("kind", "file") not in ("file", "network", "usb", "serial", "device"):
            errors["printer.kind"] = "must be one of file, network, usb, serial, device"
        if errors:
            raise InvalidInput(errors)
        return self._upsert("devices", out)

    def _upsert(self, table: str, fields: dict) -> dict:
        with self._lock:
            tab = self._db.table(table)
            doc = dict(tab.get(doc_id=1) or {})
            doc.update(fields)
            if tab.contains(doc_id=1):
                tab.update(fields, doc_ids=[1])
            else:
                tab.insert(doc)
        return doc

    def effective_config(self, config):
        """``config`` with the admin's settings applied over ``[device]``, ``[issue]``, ``[journal]``,
        ``[printer]`` and ``[gpio]`` (settings win where set)."""
        centre = self.centre()
        device = dataclasses.replace(config.device, **{k: centre[k] for k in ("issuer", "uvci_issuer", "country") if k in centre})
        issue = dataclasses.replace(config.issue, **{k: centre[k] for k in ("validity_days_v", "validity_hours_t", "validity_days_r") if k in centre})
        journal = dataclasses.replace(config.journal, **{k: centre[k] for k in ("retention_days",) if k in centre})
        overrides = self.device_overrides()
        printer = dataclasses.replace(config.printer, **overrides["printer"])
        gpio = dataclasses.replace(config.gpio, **overrides["gpio"])
        return config.replace(device=device, issue=issue, journal=journal, printer=printer, gpio=gpio)


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password", method=_HASH_METHOD)


def _public(user: dict) -> dict:
    """An account without its password hash."""
    return {k: v for k, v in dict(user).items() if k != "password_hash"}
