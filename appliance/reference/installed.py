"""The installed reference data as the engine's types, for the issuer, the verifier and the UI.

:func:`load` reads the current set (``<state>/reference/current``) into a :class:`Reference`:
the value sets laid over the packaged ones (:func:`appliance.dcc.valuesets.load`), the
trust list as certificates with their country and allowed types, the revocations as a
:class:`~appliance.dcc.revocation.RevocationList` and the business rules as
:class:`~appliance.dcc.rules.Rule` objects. An installed set never changes, so each is read
once per process and cached by its folder; a new install or a rollback switches the folder.
Without installed data it gives the packaged value sets and nothing else.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from appliance.dcc import dsc, revocation, rules, valuesets
from appliance.dcc.valuesets import ValueSets
from appliance.errors import ApplianceError, ReferenceDataError
from appliance.reference import store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrustedDsc:
    certificate: x509.Certificate
    country: str
    types: frozenset[str]


@dataclass(frozen=True)
class Reference:
    """What the device knows beyond its package; ``folder`` is None when nothing is installed."""

    folder: Path | None
    versions: dict[str, int]
    valuesets: ValueSets
    trustlist: tuple[TrustedDsc, ...] = ()
    revocations: revocation.RevocationList = revocation.EMPTY
    rules: tuple[rules.Rule, ...] = ()
    dates: dict[str, str] = field(default_factory=dict)  #: content type -> publication time

    @property
    def has_rules(self) -> bool:
        return bool(self.rules)

    def dscs(self) -> list[x509.Certificate]:
        return [t.certificate for t in self.trustlist]

    def type_limits(self) -> dict[bytes, frozenset[str]]:
        """kid -> the certificate types the trust list allows for it."""
        out: dict[bytes, frozenset[str]] = {}
        for t in self.trustlist:
            kid = dsc.kid_of(t.certificate)
            out[kid] = out.get(kid, frozenset()) | t.types
        return out

    def rule_countries(self) -> list[str]:
        return sorted({r.country for r in self.rules})


def _read(folder: Path, name: str):
    return json.loads((folder / store.FILES[name]).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=4)
def _load_folder(folder: Path) -> Reference:
    content = store.manifest(folder)["content"]
    try:
        vs = valuesets.load(str(folder / "valuesets")) if "valuesets" in content else valuesets.load()
        trust = tuple(TrustedDsc(x509.load_der_x509_certificate(base64.b64decode(e["certificate"])), e["country"],
                                 frozenset(e["types"])) for e in _read(folder, "trustlist")) \
            if "trustlist" in content else ()
        revoked = revocation.RevocationList.from_batches(_read(folder, "revocations")) \
            if "revocations" in content else revocation.EMPTY
        rule_list = tuple(rules.parse_rules(_read(folder, "rules"))) if "rules" in content else ()
    except (OSError, ValueError, KeyError, ApplianceError) as exc:
        raise ReferenceDataError(f"installed reference data {folder.name} cannot be read ({exc}); "
                                 "run 'appliance reference rollback' or import a bundle again") from None
    log.info("reference data %s loaded: %s", folder.name,
             ", ".join(f"{k} {v['version']}" for k, v in sorted(content.items())))
    return Reference(folder, {k: int(v["version"]) for k, v in content.items()}, vs, trust, revoked, rule_list,
                     {k: v["created"] for k, v in content.items()})


def load(state_dir: Path) -> Reference:
    """The current installed reference data (packaged value sets only when none is installed)."""
    folder = store.current_dir(Path(state_dir))
    if folder is None:
        return Reference(None, {}, valuesets.load())
    return _load_folder(folder)


def current_valuesets(state_dir: Path) -> ValueSets:
    """The value sets issuing uses: the installed ones over the packaged ones.

    Installed data that cannot be read falls back to the packaged value sets, logged as
    an error (the status page shows the damage through :func:`store.status`)."""
    try:
        return load(state_dir).valuesets
    except ReferenceDataError as exc:
        log.error("%s; issuing uses the packaged value sets", exc)
        return valuesets.load()
