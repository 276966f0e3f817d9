"""Configuration: TOML at ``$APPLIANCE_CONFIG``, state in ``$APPLIANCE_STATE_DIR``.

Precedence: built-in defaults < the TOML file < ``APPLIANCE_<SECTION>__<KEY>``
environment variables < the ``overrides`` mapping (tests). Every section is a
frozen dataclass; an unknown section or key, or a value of the wrong type, is a
:class:`ConfigError` that names the file and the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from appliance.errors import ConfigError
from appliance.util.timefmt import DEFAULT_TIMEZONE, zone

DEFAULT_CONFIG = "/etc/appliance/appliance.toml"
DEFAULT_STATE_DIR = "/var/lib/appliance"


@dataclass(frozen=True)
class DeviceSection:
    """``[device]``: who issues."""

    id: str = "demo-device-0001"
    country: str = "DE"                  #: ISO 3166-1 alpha-2, CWT ``iss`` and ``co`` default
    issuer: str = "Demo Impfzentrum"     #: ``is`` field: free text, at most 80 characters
    uvci_issuer: str = "DEMO1"           #: issuer part of the UVCI, ``[A-Z0-9]+``
    #: the test centres staff pick from: "ID=Name; ID=Name" (only the ID is synced to the hub)
    centres: str = "DEMO-TC=Testzentrum Würzburg Marktplatz"
    #: the centre's time zone (IANA name): times are typed and shown in it; certificates keep UTC
    timezone: str = DEFAULT_TIMEZONE

    def centre_map(self) -> dict[str, str]:
        """``{id: name}`` of :attr:`centres` (checked by :func:`load_config`)."""
        return dict(parse_centres(self.centres))


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
    tpm_counter: str = ""                #: TPM NV counter index (e.g. "0x01500016"); "" = no TPM counter
    tpm_tcti: str = ""                   #: TCTI for the counter (tpm2-tools); "" = the default (/dev/tpmrm0)
    counter_every: int = 50              #: bind the signed head to the TPM counter every N entries (and at sync)


@dataclass(frozen=True)
class ClockSection:
    """``[clock]``: how far the issuer trusts the system time."""

    max_forward_hours: int = 24          #: a time this far past the newest entry needs a confirmation; 0 = off


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
    #: behind nginx (provisioning/nginx/appliance.conf): trust its X-Forwarded-For/-Proto (one hop)
    behind_proxy: bool = False
    disk_reserve_mb: int = 200           #: free disk below this (state dir) is a problem on /healthz


@dataclass(frozen=True)
class HubSection:
    """``[hub]``: the central hub service (only on the hub machine)."""

    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: str = ""
    tls_key: str = ""
    max_batch: int = 5000
    #: sqlite:///PATH (relative to the state dir; the embedded default) or postgresql://USER:PW@HOST/DB
    database: str = "sqlite:///hub.sqlite"
    #: largest request body: a batch of max_batch entries is about 2.6 MB
    max_body_bytes: int = 3 * 1024 * 1024
    workers: int = 1                     #: hub processes `hub serve` runs on one port (PostgreSQL)


@dataclass(frozen=True)
class ReferenceSection:
    """``[reference]``: signed reference-data bundles (value sets, trust list, revocations, rules)."""

    trust_anchor: str = ""               #: the central office's reference-data certificate (PEM/DER)
    valuesets_max_age_days: int = 30     #: warn when the installed value sets are older
    trustlist_max_age_days: int = 7      #: warn when the installed trust list is older
    revocations_max_age_days: int = 7    #: warn when the installed revocations are older
    destinations: str = ""               #: up to five countries for the acceptance preview, "AT,NL"
    fetch: bool = True                   #: ask the hub for newer bundles at every sync

    def destination_list(self) -> list[str]:
        """:attr:`destinations` as a list (checked by :func:`load_config`)."""
        return [c.strip() for c in self.destinations.split(",") if c.strip()]


SECTIONS: dict[str, type] = {
    "device": DeviceSection,
    "signer": SignerSection,
    "issue": IssueSection,
    "journal": JournalSection,
    "clock": ClockSection,
    "sync": SyncSection,
    "printer": PrinterSection,
    "gpio": GpioSection,
    "web": WebSection,
    "hub": HubSection,
    "reference": ReferenceSection,
}


@dataclass(frozen=True)
class Config:
    """The whole configuration plus where it came from."""

    device: DeviceSection = field(default_factory=DeviceSection)
    signer: SignerSection = field(default_factory=SignerSection)
    issue: IssueSection = field(default_factory=IssueSection)
    journal: JournalSection = field(default_factory=JournalSection)
    clock: ClockSection = field(default_factory=ClockSection)
    sync: SyncSection = field(default_factory=SyncSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    gpio: GpioSection = field(default_factory=GpioSection)
    web: WebSection = field(default_factory=WebSection)
    hub: HubSection = field(default_factory=HubSection)
    reference: ReferenceSection = field(default_factory=ReferenceSection)
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    source: str = "<defaults>"

    def replace(self, **sections: Any) -> "Config":
        """A copy with some sections replaced (``cfg.replace(printer=...)``)."""
        return dataclasses.replace(self, **sections)


_CENTRE_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")


def parse_centres(text: str) -> list[tuple[str, str]]:
    """``"TC1=Testzentrum Mitte; TC2=Drive-in"`` -> ``[("TC1", "Testzentrum Mitte"), ...]``; ValueError."""
    out: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        ident, eq, name = (x.strip() for x in item.partition("="))
        if not eq or not _CENTRE_ID.match(ident) or not name or len(name) > 80:
            raise ValueError(f"{item!r} is not ID=Name (ID: capitals, digits and '-', at most 16; "
                             "name: 1 to 80 characters)")
        if ident in dict(out) or name in dict(out).values():
            raise ValueError(f"the centre {ident} ({name}) appears twice")
        out.append((ident, name))
    return out


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
    dest = [c.strip() for c in cfg.reference.destinations.split(",") if c.strip()]
    if len(dest) > 5 or any(len(c) != 2 or not c.isalpha() or not c.isupper() for c in dest):
        raise ConfigError(f"{where}: [reference] destinations={cfg.reference.destinations!r} must be up to five "
                          "comma-separated two-letter country codes, e.g. \"AT,NL\"")
    if len(cfg.device.issuer) > 80:
        raise ConfigError(f"{where}: [device] issuer is longer than 80 characters")
    try:
        zone(cfg.device.timezone)
    except ValueError as exc:
        raise ConfigError(f"{where}: [device] timezone: {exc}") from None
    try:
        parse_centres(cfg.device.centres)
    except ValueError as exc:
        raise ConfigError(f"{where}: [device] centres: {exc}") from None
    if cfg.journal.tpm_counter and not re.fullmatch(r"0x01[0-9a-fA-F]{6}", cfg.journal.tpm_counter):
        raise ConfigError(f"{where}: [journal] tpm_counter={cfg.journal.tpm_counter!r} must be an NV index "
                          "0x01xxxxxx (e.g. 0x01500016), or empty for no TPM counter")
    if cfg.journal.counter_every < 1:
        raise ConfigError(f"{where}: [journal] counter_every must be 1 or more")
    if cfg.clock.max_forward_hours < 0:
        raise ConfigError(f"{where}: [clock] max_forward_hours must be 0 (off) or more")
