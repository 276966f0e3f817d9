"""Settings and staff accounts, kept in TinyDB at ``<state>/settings.json``.

Small documents that a technician can read: the centre profile, staff accounts
(scrypt password hashes, never the passwords), and printer/GPIO overrides. Only
the web process writes them. Every write goes through :class:`AtomicJSONStorage`
(temp file in the same folder, ``fsync``, ``rename``, ``fsync`` of the folder),
and every operation holds one lock, because TinyDB itself is neither
thread-safe nor crash-safe.

Precedence: the admin's centre settings override ``[device]``, ``[issue]`` and
``[journal]`` values of the configuration where they are set, and the printer settings
``[printer]`` (:meth:`Settings.effective_config`); fields left empty fall back to the config.

Settings apply at once: the services hold a :class:`LiveConfig` and read the current
settings at the moment they use them (the issuer, the print service and its purge of old
jobs, the printer, the health verdict behind the lights), never a copy made at start-up;
commands in other processes read them with :func:`effective_for` (``appliance journal purge``).
Only the GPIO pins of the status panel are opened once, at start-up.

Typed text is checked like names are (:func:`appliance.dcc.names.has_unsafe_characters`): no
control, bidi or zero-width characters, since the centre's name and issuer reach every
receipt's ESC/POS stream and every certificate.
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

from appliance.config import Config, PrinterSection
from appliance.dcc.names import has_unsafe_characters
from appliance.devices.printer_check import printer_problems
from appliance.util.atomic import write_atomic
from appliance.errors import ConfigError, InvalidInput, Msg

log = logging.getLogger(__name__)

ROLES = ("staff", "admin")
LANGUAGES = ("de", "en")
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_HASH_METHOD = "scrypt"

#: centre fields: name -> (type, check, message)
CENTRE_FIELDS: dict[str, tuple[type, Any, Msg]] = {
    "name": (str, lambda v: len(v) <= 80, Msg("why.at_most_chars", n=80)),
    "issuer": (str, lambda v: 0 < len(v) <= 80, Msg("why.chars_range", low=1, high=80)),
    "uvci_issuer": (str, lambda v: re.fullmatch(r"[A-Z0-9]{1,20}", v) is not None, Msg("why.capitals_digits", n=20)),
    "country": (str, lambda v: re.fullmatch(r"[A-Z]{2}", v) is not None, Msg("why.two_capitals")),
    "default_product": (str, lambda v: len(v) <= 40, Msg("why.product_code")),
    "default_test_type": (str, lambda v: len(v) <= 40, Msg("why.test_type_code")),
    "default_test_device": (str, lambda v: len(v) <= 40, Msg("why.test_device_code")),
    "test_centre": (str, lambda v: len(v) <= 80, Msg("why.at_most_chars", n=80)),
    "timezone": (str, lambda v: _valid_zone(v), Msg("why.timezone")),
    "validity_days_v": (int, lambda v: 1 <= v <= 730, Msg("why.days_range", low=1, high=730)),
    "validity_hours_t": (int, lambda v: 1 <= v <= 168, Msg("why.hours_range", low=1, high=168)),
    "validity_days_r": (int, lambda v: 1 <= v <= 365, Msg("why.days_range", low=1, high=365)),
    "retention_days": (int, lambda v: 1 <= v <= 90, Msg("why.days_range", low=1, high=90)),
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
        self.writes = 0      #: writes by this process (with the file's stat: whether a cached read is stale)

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
        self.writes += 1

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
        raise InvalidInput({field: Msg("settings.whole_number_why", why=why) if why else Msg("settings.whole_number")}) from None
    if isinstance(out, str) and has_unsafe_characters(out):
        raise InvalidInput({field: Msg("input.control_chars")})
    if check is not None and out != "" and not check(out):
        raise InvalidInput({field: Msg("settings.must_be", why=why)})
    return out


class Settings:
    """The settings document store. Open with :meth:`open`."""

    def __init__(self, db: TinyDB, path: Path):
        self._db = db
        self._lock = threading.Lock()
        self.path = path
        self._memo: dict = {}
        self._memo_stamp: tuple | None = None

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
            errors["name"] = Msg("account.name")
        if role not in ROLES:
            errors["role"] = Msg("account.role")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            errors["password"] = Msg("account.password_short", n=MIN_PASSWORD)
        if language not in LANGUAGES:
            errors["language"] = Msg("account.language")
        if errors:
            raise InvalidInput(errors)
        record = {"name": name, "role": role, "password_hash": generate_password_hash(password, method=_HASH_METHOD),
                  "language": language, "active": True, "session_version": 0}
        with self._lock:
            users = self._db.table("users")
            if users.contains(Query().name == name):
                raise InvalidInput({"name": Msg("account.exists")})
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
            raise InvalidInput({"password": Msg("account.password_short", n=MIN_PASSWORD)})
        self._update_user(name, {"password_hash": generate_password_hash(password, method=_HASH_METHOD)},
                          end_sessions=True)

    def set_language(self, name: str, language: str) -> None:
        if language not in LANGUAGES:
            raise InvalidInput({"language": Msg("account.language")})
        self._update_user(name, {"language": language})

    def set_active(self, name: str, active: bool) -> None:
        self._update_user(name, {"active": bool(active)}, end_sessions=True)

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise InvalidInput({"role": Msg("account.role")})
        self._update_user(name, {"role": role}, end_sessions=True)

    def _update_user(self, name: str, fields: dict, *, end_sessions: bool = False) -> None:
        """Change an account; ``end_sessions`` bumps its ``session_version``, which ends every
        session signed in before (:mod:`appliance.web.sessions`)."""
        with self._lock:
            users = self._db.table("users")
            found = users.get(Query().name == name)
            if not found:
                raise InvalidInput({"name": Msg("account.unknown")})
            if end_sessions:
                fields = {**fields, "session_version": int(found.get("session_version", 0)) + 1}
            users.update(fields, doc_ids=[found.doc_id])

    # ----- centre profile and device overrides -------------------------------------------

    def _stamp(self) -> tuple:
        """Changes whenever settings.json does: this process's writes, and the file's identity and time
        (another process's atomic rename makes a new file)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return (self._db.storage.writes, None)
        return (self._db.storage.writes, st.st_ino, st.st_mtime_ns, st.st_size)

    def _memoised(self, key, compute):
        """``compute()``, read again only after settings.json changed (a stat per call otherwise)."""
        stamp = self._stamp()
        with self._lock:
            if stamp != self._memo_stamp:
                self._memo, self._memo_stamp = {}, stamp
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            if stamp == self._memo_stamp:
                self._memo[key] = value
        return value

    def centre(self) -> dict:
        """The centre fields the admin has set (unset fields are absent)."""
        def read() -> dict:
            with self._lock:
                doc = self._db.table("centre").get(doc_id=1)
            return {k: v for k, v in (doc or {}).items() if v not in ("", None)}
        return dict(self._memoised("centre", read))

    def centre_name(self, config) -> str:
        """The name receipts and letters carry: the admin's centre name, else the issuer in force."""
        return self.centre().get("name") or self.effective_config(config).device.issuer

    def update_centre(self, **fields: Any) -> dict:
        """Set centre fields (an empty string clears one); :class:`InvalidInput` names each bad field."""
        clean, errors = {}, {}
        for key, value in fields.items():
            if key not in CENTRE_FIELDS:
                errors[key] = Msg("settings.not_centre")
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
        def read() -> dict:
            with self._lock:
                return dict(self._db.table("devices").get(doc_id=1) or {})
        doc = self._memoised("devices", read)
        return {"printer": dict(doc.get("printer", {})), "gpio": dict(doc.get("gpio", {}))}

    def update_devices(self, *, printer: dict | None = None, gpio: dict | None = None, config=None) -> dict:
        """Set printer and pin overrides; :class:`InvalidInput` names each bad field (``printer.host``)
        and nothing is saved. The printer that results over ``config``'s ``[printer]`` (the
        defaults without one) must be usable: see :func:`printer_problems`."""
        errors: dict[str, str] = {}
        out = self.device_overrides()
        for section, given, known in (("printer", printer, PRINTER_FIELDS), ("gpio", gpio, GPIO_FIELDS)):
            for key, value in (given or {}).items():
                if key not in known:
                    errors[f"{section}.{key}"] = Msg("settings.unknown")
                elif value in ("", None):
                    out[section].pop(key, None)
                else:
                    try:
                        out[section][key] = _coerce(value, known[key], f"{section}.{key}")
                    except InvalidInput as exc:
                        errors.update(exc.field_errors)
        if printer is not None and not errors:
            base = config.printer if config is not None else PrinterSection()
            state_dir = config.state_dir if config is not None else self.path.parent
            errors.update(printer_problems(dataclasses.replace(base, **out["printer"]), state_dir))
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

    def effective_config(self, config: Config) -> Config:
        """``config`` with the admin's settings applied over ``[device]``, ``[issue]``, ``[journal]``,
        ``[printer]`` and ``[gpio]`` (settings win where set). Made again only after a change."""
        held, effective = self._memoised(("effective", id(config)), lambda: (config, self._effective(config)))
        return effective if held is config else self._effective(config)

    def _effective(self, config: Config) -> Config:
        centre = self.centre()
        device = dataclasses.replace(config.device, **{k: centre[k] for k in ("issuer", "uvci_issuer", "country") if k in centre},
                                     **({"timezone": centre["timezone"]} if centre.get("timezone") else {}))
        issue = dataclasses.replace(config.issue, **{k: centre[k] for k in ("validity_days_v", "validity_hours_t", "validity_days_r") if k in centre})
        journal = dataclasses.replace(config.journal, **{k: centre[k] for k in ("retention_days",) if k in centre})
        overrides = self.device_overrides()
        printer = dataclasses.replace(config.printer, **overrides["printer"])
        gpio = dataclasses.replace(config.gpio, **overrides["gpio"])
        return config.replace(device=device, issue=issue, journal=journal, printer=printer, gpio=gpio)


class LiveConfig:
    """The configuration as it is now: ``config`` with the admin's current settings.

    Services hold one instead of a copy made at start-up and read it at the moment of use
    (``live.device.issuer``, ``live.journal.retention_days``, ``live.printer``): an attribute is
    the current :class:`~appliance.config.Config`'s, which costs a stat of settings.json while
    nothing changed. :meth:`current` is one consistent snapshot.
    """

    def __init__(self, settings: Settings, config: Config):
        self._settings, self._config = settings, config

    def current(self) -> Config:
        return self._settings.effective_config(self._config)

    @property
    def centre_name(self) -> str:
        """The name on receipts: the admin's centre name, else the issuer."""
        return self._settings.centre_name(self._config)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)


def effective_for(config: Config) -> Config:
    """``config`` with the admin's settings in its state directory, read once (for commands in
    their own process, e.g. ``appliance journal purge``); ``config`` itself when there are none."""
    path = Path(config.state_dir) / "settings.json"
    if not path.exists():
        return config
    settings = Settings(TinyDB(path, storage=AtomicJSONStorage), path)
    try:
        return settings.effective_config(config)
    finally:
        settings.close()


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not-a-password", method=_HASH_METHOD)


def _public(user: dict) -> dict:
    """An account without its password hash."""
    return {k: v for k, v in dict(user).items() if k != "password_hash"}
