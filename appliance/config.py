"""Configuration: TOML at ``$APPLIANCE_CONFIG``, state in ``$APPLIANCE_STATE_DIR``.

Precedence: built-in defaults < the TOML file < ``APPLIANCE_<SECTION>__<KEY>``
environment variables < the ``overrides`` mapping (tests). Every section is a
frozen dataclass; an unknown section or key, or a value of the wrong type, is a
:class:`ConfigError` that names the file and the key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from appliance.errors import ConfigError

DEFAULT_CONFIG = "/etc/appliance/appliance.toml"
DEFAULT_STATE_DIR = "/var/lib/appliance"


@dataclass(frozen=True)
class DeviceSection:
    """``[device]``: who issues."""

    id: str = "demo-device-0001"
    country: str = "DE"                  #: ISO 3166-1 alpha-2, CWT ``iss`` and ``co`` default
    issuer: str = "Demo Impfzentrum"     #: ``is`` field: free text, at most 80 characters
    uvci_issuer: str = "DEMO1"           #: issuer part of the UVCI, ``[A-Z0-9]+``


@dataclass(frozen=True)
class SignerSection:
    """``[signer]``: where the DCC signing key lives."""

    kind: str = "software"               #: "software" (demo only) or "pkcs11"
    module: str = ""                     #: PKCS#11 module path
    token: str = ""                      #: token label
    key_label: str = "dcc-signing-key"
    pin_file: str = ""                   #: file with the user PIN (or $CREDENTIALS_DIRECTORY/pin)
    uri: str = ""                        #: optional RFC 7512 pkcs11: URI (overrides token/key_label)


@dataclass(frozen=True)
class IssueSection:
    """``[issue]``: validity per type and QR settings."""

    validity_days_v: int = 365           #: vaccination: CWT exp = iat + this many days
    validity_hours_t: int = 72           #: test: exp = sample time + this many hours
    validity_days_r: int = 180           #: recovery: exp = valid-until (du), at most iat + this
    qr_ecc: str = "Q"                    #: QR error correction: L, M, Q or H
    schema_version: str = "1.3.0"        #: the ``ver`` field written into certificates


@dataclass(frozen=True)
class JournalSection:
    """``[journal]``: the issuance journal."""

    retention_days: int = 14             #: personal data is purged after this many days


@dataclass(frozen=True)
class SyncSection:
    """``[sync]``: the central hub."""

    hub_url: str = ""
    ca_file: str = ""                    #: pins the hub's CA for HTTPS
    batch_size: int = 500
    backoff_cap_s: float = 300.0


@dataclass(frozen=True)
class PrinterSection:
    """``[printer]``: the receipt printer."""

    kind: str = "file"                   #: file | network | usb | serial | device
    profile: str = "TM-T20II"
    paper_width_mm: int = 80
    host: str = ""
    port: int = 9100
    vendor_id: str = ""
    product_id: str = ""
    path: str = ""
    baudrate: int = 19200
    native_qr: bool = False
    qr_ecc: str = ""                     #: receipt QR level; "" = auto (Q on 80 mm, M on 58 mm)
    timeout_s: float = 5.0


@dataclass(frozen=True)
class GpioSection:
    """``[gpio]``: status lights, button and buzzer (BCM pin numbers; 0 = not fitted)."""

    enabled: bool = True
    green: int = 17
    amber: int = 27
    red: int = 22
    button: int = 23
    buzzer: int = 0
    active_high: bool = True


@dataclass(frozen=True)
class WebSection:
    """``[web]``: the tablet UI."""

    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str = ""
    tls_key: str = ""
    secret_key_file: str = ""            #: default: <state>/web-secret (made on first start)
    idle_timeout_min: int = 15


@dataclass(frozen=True)
class HubSection:
    """``[hub]``: the central hub service (only on the hub machine)."""

    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: str = ""
    tls_key: str = ""
    max_batch: int = 5000


SECTIONS: dict[str, type] = {
    "device": DeviceSection,
    "signer": SignerSection,
    "issue": IssueSection,
    "journal": JournalSection,
    "sync": SyncSection,
    "printer": PrinterSection,
    "gpio": GpioSection,
    "web": WebSection,
    "hub": HubSection,
}


@dataclass(frozen=True)
class Config:
    """The whole configuration plus where it came from."""

    device: DeviceSection = field(default_factory=DeviceSection)
    signer: SignerSection = field(default_factory=SignerSection)
    issue: IssueSection = field(default_factory=IssueSection)
    journal: JournalSection = field(default_factory=JournalSection)
    sync: SyncSection = field(default_factory=SyncSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    gpio: GpioSection = field(default_factory=GpioSection)
    web: WebSection = field(default_factory=WebSection)
    hub: HubSection = field(default_factory=HubSection)
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    source: str = "<defaults>"

    def replace(self, **sections: Any) -> "Config":
        """A copy with some sections replaced (``cfg.replace(printer=...)``)."""
        return dataclasses.replace(self, **sections)


def _coerce(value: Any, typ: Any, where: str) -> Any:
    typ = {"str": str, "int": int, "float": float, "bool": bool}.get(typ, typ)
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif typ is str:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(f"{where}: expected {typ.__name__}, got {value!r}")


def _merge(raw: dict[str, dict[str, Any]], data: Mapping[str, Any], origin: str) -> None:
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{origin}: unknown section [{section}]; known: {', '.join(SECTIONS)}")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        known = {f.name: f.type for f in dataclasses.fields(SECTIONS[section])}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{origin}: unknown key [{section}] {key}; known: {', '.join(known)}")
            raw.setdefault(section, {})[key] = _coerce(value, known[key], f"{origin}: [{section}] {key}")


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith("APPLIANCE_") or "__" not in name:
            continue
        section, _, key = name[len("APPLIANCE_"):].partition("__")
        out.setdefault(section.lower(), {})[key.lower()] = value
    return out


def load_config(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None, state_dir: str | os.PathLike | None = None) -> Config:
    """Build the configuration.

    :param path: the TOML file; default ``$APPLIANCE_CONFIG`` or ``/etc/appliance/appliance.toml``.
        A missing default file is fine (built-in defaults); a missing named file is an error.
    :param env: the environment (default ``os.environ``).
    :param overrides: ``{"section": {"key": value}}`` applied last (tests).
    :param state_dir: default ``$APPLIANCE_STATE_DIR`` or ``/var/lib/appliance``.
    """
    env = os.environ if env is None else env
    explicit = path is not None or "APPLIANCE_CONFIG" in env
    path = Path(path if path is not None else env.get("APPLIANCE_CONFIG", DEFAULT_CONFIG))
    raw: dict[str, dict[str, Any]] = {}
    source = "<defaults>"
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        _merge(raw, data, str(path))
        source = str(path)
    elif explicit:
        raise ConfigError(f"{path}: configuration file not found (set APPLIANCE_CONFIG to an existing file)")
    _merge(raw, _env_overrides(env), "environment")
    if overrides:
        _merge(raw, overrides, "overrides")
    sections = {name: cls(**raw.get(name, {})) for name, cls in SECTIONS.items()}
    state = Path(state_dir if state_dir is not None else env.get("APPLIANCE_STATE_DIR", DEFAULT_STATE_DIR))
    cfg = Config(**sections, state_dir=state, source=source)
    _validate(cfg)
    return cfg


def _validate(cfg: Config) -> None:
    where = cfg.source
    if cfg.signer.kind not in ("software", "pkcs11"):
        raise ConfigError(f"{where}: [signer] kind={cfg.signer.kind!r} is not one of software, pkcs11")
    if cfg.printer.kind not in ("file", "network", "usb", "serial", "device"):
        raise ConfigError(f"{where}: [printer] kind={cfg.printer.kind!r} is not one of file, network, usb, serial, device")
    if cfg.printer.qr_ecc not in ("", "L", "M", "Q", "H"):
        raise ConfigError(f"{where}: [printer] qr_ecc={cfg.printer.qr_ecc!r} is not one of L, M, Q, H (or empty for auto)")
    if cfg.issue.qr_ecc not in ("L", "M", "Q", "H"):
        raise ConfigError(f"{where}: [issue] qr_ecc={cfg.issue.qr_ecc!r} is not one of L, M, Q, H")
    if len(cfg.device.country) != 2 or not cfg.device.country.isalpha() or not cfg.device.country.isupper():
        raise ConfigError(f"{where}: [device] country={cfg.device.country!r} must be two capital letters, e.g. DE")
    if not cfg.device.uvci_issuer.isalnum() or not cfg.device.uvci_issuer.isascii() or not cfg.device.uvci_issuer.isupper() and not cfg.device.uvci_issuer.isdigit():
        raise ConfigError(f"{where}: [device] uvci_issuer={cfg.device.uvci_issuer!r} must be capital letters and digits")
    if len(cfg.device.issuer) > 80:
        raise ConfigError(f"{where}: [device] issuer is longer than 80 characters")
