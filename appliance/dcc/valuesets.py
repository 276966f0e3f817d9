"""The EU DCC value sets (release 2.12.0), packaged in ``appliance/data/valuesets``.

``load()`` reads them once (cached; ``load(directory)`` lays an installed reference-data
value-set folder over them, :func:`build` does so for documents in memory) and returns a :class:`ValueSets` that answers
"is this code allowed", "what do staff see for it" (English or German) and
"which vp/ma go with this vaccine product".

Value-set names are the file names without ``.json``: ``disease-agent-targeted``,
``vaccine-prophylaxis``, ``vaccine-medicinal-product``, ``vaccine-mah-manf``,
``test-type``, ``test-result``, ``test-manf`` (read from ``test-manf-example.json``,
which upstream ships only as an example of the JRC list) and ``country-2-codes``.

German labels: the disease, vaccine types, test types and test results come from
a small table below (translations of the EU display names); product and
manufacturer names are brands and stay as they are; country names come from
Babel's CLDR data when Babel is installed, else the English name is shown.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Mapping

from appliance.errors import InvalidInput
from appliance.messages import Msg

log = logging.getLogger(__name__)

#: value-set name -> packaged file
FILES: dict[str, str] = {
    "disease-agent-targeted": "disease-agent-targeted.json",
    "vaccine-prophylaxis": "vaccine-prophylaxis.json",
    "vaccine-medicinal-product": "vaccine-medicinal-product.json",
    "vaccine-mah-manf": "vaccine-mah-manf.json",
    "test-type": "test-type.json",
    "test-result": "test-result.json",
    "test-manf": "test-manf-example.json",
    "country-2-codes": "country-2-codes.json",
}

#: The generic SNOMED code "COVID-19 vaccine"; used only when a product lists nothing more specific.
GENERIC_VP = "28531000087107"

#: German labels for the codes staff pick (translated from the EU display names).
GERMAN: dict[str, dict[str, str]] = {
    "disease-agent-targeted": {"840539006": "COVID-19"},
    "vaccine-prophylaxis": {
        "1119305005": "SARS-CoV-2-Antigen-Impfstoff",
        "1119349007": "SARS-CoV-2-mRNA-Impfstoff",
        "J07BX03": "COVID-19-Impfstoffe (veraltet)",
        "1162643001": "SARS-CoV-2-Impfstoff mit rekombinantem Spike-Protein",
        "1157024006": "Inaktivierter SARS-CoV-2-Ganzvirus-Impfstoff",
        "29061000087103": "COVID-19-Vektorimpfstoff (nicht replizierend)",
        "28531000087107": "COVID-19-Impfstoff",
        "30141000087107": "SARS-CoV-2-Impfstoff aus virusähnlichen Partikeln",
        "1187593009": "SARS-CoV-2-DNA-Plasmid-Impfstoff (Spike-Protein)",
    },
    "test-type": {
        "LP6464-4": "Nukleinsäure-Amplifikationstest (NAAT, z. B. PCR)",
        "LP217198-3": "Antigen-Schnelltest",
    },
    "test-result": {
        "260415000": "Nicht erkannt (negativ)",
        "260373001": "Erkannt (positiv)",
    },
}


@dataclass(frozen=True)
class Entry:
    code: str
    display: str
    active: bool


def _german_countries() -> Mapping[str, str]:
    try:
        from babel import Locale  # lazy: optional, and only the German labels need CLDR
    except ImportError:
        log.info("babel not installed; country names are shown in English")
        return {}
    return dict(Locale("de").territories)


class ValueSets:
    """All packaged value sets; build with :func:`load`."""

    def __init__(self, sets: dict[str, dict[str, Entry]], encoding: dict[str, tuple[str, str]],
                 dates: dict[str, str], german_countries: Mapping[str, str],
                 ids: Mapping[str, str] | None = None, source: str = "packaged"):
        self._sets = sets
        self._encoding = encoding
        self.dates = dates  #: value-set name -> valueSetDate
        self._de_countries = german_countries
        self.ids = dict(ids or {})  #: value-set name -> valueSetId (the id business rules use)
        self.source = source        #: "packaged", or the installed reference-data directory

    def external(self) -> dict[str, list[str]]:
        """The ``external.valueSets`` of the business rules: valueSetId -> every code."""
        return {self.ids.get(name, name): sorted(codes) for name, codes in self._sets.items()}

    @property
    def names(self) -> list[str]:
        return sorted(self._sets)

    def _set(self, name: str) -> dict[str, Entry]:
        try:
            return self._sets[name]
        except KeyError:
            raise KeyError(f"unknown value set {name!r}; known: {', '.join(self.names)}") from None

    def codes(self, name: str) -> set[str]:
        """Every code in the set, including deprecated (inactive) ones."""
        return set(self._set(name))

    def active_codes(self, name: str) -> set[str]:
        return {c for c, e in self._set(name).items() if e.active}

    def is_valid(self, name: str, code: object) -> bool:
        """True if ``code`` is a string in the value set (inactive codes count: old certificates use them)."""
        return isinstance(code, str) and code in self._set(name)

    def is_active(self, name: str, code: object) -> bool:
        return isinstance(code, str) and code in self._set(name) and self._set(name)[code].active

    def display(self, name: str, code: str, lang: str = "en") -> str:
        """The label for ``code``; unknown codes come back unchanged."""
        entry = self._set(name).get(code)
        if entry is None:
            return code
        if lang == "de":
            if name == "country-2-codes" and code in self._de_countries:
                return self._de_countries[code]
            german = GERMAN.get(name, {}).get(code)
            if german:
                return german
        return entry.display

    def choices(self, name: str, lang: str = "en") -> list[tuple[str, str]]:
        """Active codes as ``(code, label)`` pairs sorted by label, for pickers."""
        pairs = [(c, self.display(name, c, lang)) for c, e in self._set(name).items() if e.active]
        return sorted(pairs, key=lambda p: (p[1].casefold(), p[0]))

    def vaccine_encoding(self, mp: str) -> tuple[str, str]:
        """``(vp, ma)`` for the medicinal product ``mp`` per the encoding instructions.

        The instructions list several SNOMED codes per product (sorted, not by
        preference); we take the first *specific* active code and use the generic
        ``28531000087107`` ("COVID-19 vaccine") only if it is the only one.
        Raises :class:`InvalidInput` (field ``product``) for an unknown product.
        """
        try:
            return self._encoding[mp]
        except KeyError:
            raise InvalidInput({"product": Msg("product.unknown")}) from None


def _read(filename: str) -> dict:
    ref = resources.files("appliance.dcc") / "data" / "valuesets" / filename
    return json.loads(ref.read_text(encoding="utf-8"))


def _encoding(doc: dict, prophylaxis: dict[str, Entry]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for item in doc["valueSetValues"].values():
        mp = item["vaccine-code"].removesuffix(" (deprecated)").strip()
        codes = [c for c in item["sct-codes"] if c in prophylaxis and prophylaxis[c].active]
        specific = [c for c in codes if c != GENERIC_VP]
        vp = (specific or codes or [GENERIC_VP])[0]
        out[mp] = (vp, item["vaccine-manufacturer"])
    return out


ENCODING_FILE = "vaccine-encoding-instructions.json"


@functools.cache
def _packaged_documents() -> dict[str, dict]:
    """The packaged documents by value-set name (plus ``vaccine-encoding-instructions``)."""
    docs = {name: _read(filename) for name, filename in FILES.items()}
    docs["vaccine-encoding-instructions"] = _read(ENCODING_FILE)
    return docs


def build(overrides: Mapping[str, dict] | None = None, *, source: str = "packaged") -> ValueSets:
    """The packaged value sets with ``overrides`` (valueSetId -> value-set document, e.g. from an
    installed reference-data bundle) in place of the packaged set of the same id. Documents
    with an id the package does not know are kept for the business rules' ``external``."""
    docs = dict(_packaged_documents())
    names_by_id = {doc.get("valueSetId", name): name for name, doc in docs.items()}
    for set_id, doc in (overrides or {}).items():
        docs[names_by_id.get(set_id, set_id)] = doc
    sets: dict[str, dict[str, Entry]] = {}
    dates: dict[str, str] = {}
    ids: dict[str, str] = {}
    for name, doc in docs.items():
        if name == "vaccine-encoding-instructions":
            continue
        dates[name] = doc.get("valueSetDate", "")
        ids[name] = doc.get("valueSetId", name)
        sets[name] = {code: Entry(code, v.get("display", code), bool(v.get("active", True)))
                      for code, v in doc["valueSetValues"].items()}
    encoding = _encoding(docs["vaccine-encoding-instructions"], sets["vaccine-prophylaxis"])
    log.debug("built %d value sets (%s)", len(sets), source)
    return ValueSets(sets, encoding, dates, _german_countries(), ids, source)


@functools.cache
def load(directory: str | None = None) -> ValueSets:
    """The packaged value sets, read once; with ``directory`` (an installed reference-data
    value-set folder: one ``<valueSetId>.json`` per set, never changed once installed) the
    sets found there replace the packaged ones of the same id."""
    if directory is None:
        return build()
    overrides = {}
    for path in sorted(Path(directory).glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        overrides[doc.get("valueSetId", path.stem)] = doc
    return build(overrides, source=str(directory))
