"""The settings file: :class:`Settings` over TinyDB at ``<state>/settings.json``, written atomically.

:class:`AtomicJSONStorage` replaces the whole file on each write (temp file, ``fsync``,
``rename``, ``fsync`` of the folder: :func:`appliance.util.atomic.write_atomic`); every
operation holds the store's one lock. :class:`Settings` keeps the centre profile and the
printer/GPIO overrides (the accounts are :class:`~appliance.settings.accounts.SettingsAccounts`')
and makes the effective configuration: the admin's settings over ``[device]``, ``[issue]``,
``[journal]``, ``[printer]`` and ``[gpio]``, read again only after settings.json changed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from appliance.config import Config, PrinterSection
from appliance.devices.printer_check import printer_problems
from appliance.errors import ConfigError, InvalidInput, Msg
from appliance.settings.accounts import SettingsAccounts, dummy_hash
from appliance.settings.fields import CENTRE_FIELDS, GPIO_FIELDS, PRINTER_FIELDS, coerce
from appliance.util.atomic import write_atomic

log = logging.getLogger(__name__)


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


class Settings(SettingsAccounts):
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
        dummy_hash()  # made now, so the first unknown name at sign-in costs no more than a real one
        return cls(TinyDB(path, storage=AtomicJSONStorage), path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

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
                clean[key] = coerce(value, typ, key, check, why)
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
                        out[section][key] = coerce(value, known[key], f"{section}.{key}")
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
