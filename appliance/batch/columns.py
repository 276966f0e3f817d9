"""Which column holds what: German and English header synonyms, and the ``--map`` TOML file.

A header is matched after folding (lower case, umlauts and ß spelled out, everything but
letters and digits dropped), so ``Geb.-Datum``, ``geb_datum`` and ``GEBURTSDATUM`` are the
same. A map file handles anything else::

    [columns]                 # header as in the file = field
    "Pat. Zuname" = "family_name"
    [products]                # the centre's own product codes = EU product number
    "BNT-Erw" = "EU/1/20/1528"
    [dates]
    century_pivot = 30        # TT.MM.JJ: JJ <= 30 -> 20JJ, else 19JJ (default: see rows.py)

Fields are the keys of the form's input (:mod:`appliance.dcc.model`) plus ``dose`` (a
combined ``2/2``) and the address fields, which go into the letter only.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import InvalidInput

#: The address fields (personal data: only in the batch's working files and letters).
ADDRESS_FIELDS = ("address_extra", "street", "postal_code", "city", "address_country")
PERSON = ("family_name", "given_name", "date_of_birth", "family_name_standardised", "given_name_standardised")
EVENT = {
    "v": ("product", "dose", "dose_number", "total_doses", "date", "country", "issuer"),
    "t": ("test_type", "test_name", "test_device", "sample_time", "result", "centre", "country", "issuer"),
    "r": ("first_positive", "valid_from", "valid_until", "country", "issuer"),
}
#: Per type: the fields a file must have (the dose as ``dose`` or as ``dose_number`` [+ ``total_doses``]).
REQUIRED = {"v": ("family_name", "date_of_birth", "product", "date"),
            "t": ("family_name", "date_of_birth", "test_type", "sample_time", "result"),
            "r": ("family_name", "date_of_birth", "first_positive", "valid_from", "valid_until")}

#: field -> its usual headers (German and English), folded by :func:`fold`.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "family_name": ("nachname", "name", "familienname", "zuname", "family_name", "familyname", "surname",
                    "last_name", "lastname"),
    "given_name": ("vorname", "vornamen", "given_name", "givenname", "first_name", "firstname", "forename"),
    "date_of_birth": ("geburtsdatum", "gebdatum", "geb", "geboren", "geburtstag", "date_of_birth", "dateofbirth",
                      "dob", "birth_date", "birthdate"),
    "family_name_standardised": ("family_name_standardised", "nachname_standardisiert", "fnt"),
    "given_name_standardised": ("given_name_standardised", "vorname_standardisiert", "gnt"),
    "product": ("impfstoff", "produkt", "impfstoffprodukt", "vakzin", "product", "vaccine", "vaccine_product",
                "medicinal_product", "mp"),
    "dose": ("dosis", "dose", "impfdosis", "dosisfolge"),
    "dose_number": ("dosisnummer", "dosis_nr", "dosisnr", "impfung_nr", "impfungnr", "dose_number", "dosenumber",
                    "dn"),
    "total_doses": ("gesamtdosen", "dosen_gesamt", "dosengesamt", "anzahl_dosen", "total_doses", "totaldoses",
                    "series_doses", "sd"),
    "date": ("impfdatum", "datum_der_impfung", "datum", "vaccination_date", "date_of_vaccination", "date", "dt"),
    "country": ("land", "impfland", "country", "country_of_vaccination"),
    "issuer": ("aussteller", "issuer", "certificate_issuer", "is"),
    "test_type": ("testart", "testtyp", "test_type", "testtype", "tt"),
    "test_name": ("testname", "test_name", "nm"),
    "test_device": ("testhersteller", "test_device", "testdevice", "device", "ma"),
    "sample_time": ("probenahme", "probenahmezeit", "abstrich", "sample_time", "sampletime", "sample_collection",
                    "sc"),
    "result": ("ergebnis", "testergebnis", "result", "test_result", "tr"),
    "centre": ("testzentrum", "teststelle", "centre", "center", "test_centre", "testing_centre", "tc"),
    "first_positive": ("erster_positiver_test", "positiver_test", "datum_positiver_test", "first_positive",
                       "first_positive_test", "fr"),
    "valid_from": ("gueltig_ab", "valid_from", "df"),
    "valid_until": ("gueltig_bis", "valid_until", "du"),
    "street": ("strasse", "str", "strasse_und_hausnummer", "anschrift", "adresse", "street", "address",
               "street_address", "address_line_1"),
    "address_extra": ("adresszusatz", "zusatz", "c_o", "address_extra", "address_line_2"),
    "postal_code": ("plz", "postleitzahl", "postal_code", "postcode", "zip", "zip_code"),
    "city": ("ort", "wohnort", "stadt", "city", "town"),
    "address_country": ("anschrift_land", "address_country"),
}
_FOLD = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}


def fold(header: str) -> str:
    """A header reduced for matching: ``Geb.-Datum`` -> ``gebdatum``, ``Straße`` -> ``strasse``."""
    text = "".join(_FOLD.get(ch, ch) for ch in unicodedata.normalize("NFC", header.strip().lower()))
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text)


#: folded header -> field
_BY_HEADER: dict[str, str] = {}
for _field, _names in SYNONYMS.items():
    for _name in _names:
        _BY_HEADER.setdefault(fold(_name), _field)


@dataclass(frozen=True)
class Mapping:
    """A ``--map`` file: extra headers, the centre's product codes, the century rule."""

    columns: dict[str, str] = field(default_factory=dict)   #: folded header -> field
    products: dict[str, str] = field(default_factory=dict)  #: lower-case code -> EU product number
    century_pivot: int | None = None
    source: str = ""

    def to_json(self) -> dict:
        return {"columns": self.columns, "products": self.products, "century_pivot": self.century_pivot}


def load_map(path: str | Path | None) -> Mapping:
    """Read a ``--map`` TOML file (None: the built-in synonyms only); errors name the file and key."""
    if path is None:
        return Mapping()
    try:
        return parse_map(Path(path).read_bytes(), str(path))
    except FileNotFoundError:
        raise InvalidInput({"--map": f"file not found: {path}"}) from None
    except OSError as exc:
        raise InvalidInput({"--map": f"cannot read {path}: {exc.strerror}"}) from None


def parse_map(raw: bytes, path: str = "the map") -> Mapping:
    """A map file's bytes (see the module's docstring) -> :class:`Mapping`."""
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput({"--map": f"{path} is not a readable TOML file ({exc})"}) from None
    known = {f for names in (PERSON, ADDRESS_FIELDS, *EVENT.values()) for f in names}
    unknown = sorted(set(data) - {"columns", "products", "dates"})
    if unknown:
        raise InvalidInput({"--map": f"{path}: unknown section(s) {', '.join(unknown)}; use [columns], [products], [dates]"})
    columns = {}
    for header, name in (data.get("columns") or {}).items():
        if name not in known:
            raise InvalidInput({"--map": f"{path}: [columns] {header!r} = {name!r}: unknown field; "
                                         f"use one of {', '.join(sorted(known))}"})
        columns[fold(header)] = name
    products = {str(k).strip().lower(): str(v).strip() for k, v in (data.get("products") or {}).items()}
    pivot = (data.get("dates") or {}).get("century_pivot")
    if pivot is not None and (not isinstance(pivot, int) or not 0 <= pivot <= 99):
        raise InvalidInput({"--map": f"{path}: [dates] century_pivot must be a whole number from 0 to 99"})
    return Mapping(columns=columns, products=products, century_pivot=pivot, source=str(path))


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is: field -> column index, and the headers as they are in the file."""

    index: dict[str, int]
    headers: list[str]
    ignored: list[str]

    def header(self, name: str) -> str:
        """The file's header of field ``name`` (for messages), or the field name itself."""
        return self.headers[self.index[name]] if name in self.index else name


def resolve(headers: list[str], type_: str, mapping: Mapping) -> ColumnMap:
    """Match the file's headers; :class:`InvalidInput` names missing and doubled columns."""
    allowed = set(PERSON) | set(ADDRESS_FIELDS) | set(EVENT[type_])
    index: dict[str, int] = {}
    ignored, errors = [], {}
    for i, header in enumerate(headers):
        key = fold(header)
        name = mapping.columns.get(key) or _BY_HEADER.get(key)
        if not key:
            continue
        if name is None or name not in allowed:
            ignored.append(header)
        elif name in index:
            errors[f"column {header}"] = (f"holds {name} like column {headers[index[name]]!r}; "
                                          "remove one or map it with --map")
        else:
            index[name] = i
    missing = [f for f in REQUIRED[type_] if f not in index]
    if type_ == "v" and "dose" not in index and "dose_number" not in index:
        missing.append("dose (or dose_number)")
    if missing:
        errors["columns"] = (f"required column(s) missing: {', '.join(missing)}; the file has "
                             f"{', '.join(repr(h) for h in headers[:20]) or 'no headers'}. Rename the headers "
                             "(e.g. Nachname, Vorname, Geburtsdatum, Impfstoff, Dosis, Impfdatum) or give --map")
    if errors:
        raise InvalidInput(errors)
    return ColumnMap(index=index, headers=list(headers), ignored=ignored)
