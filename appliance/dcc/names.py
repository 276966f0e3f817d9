"""Standardised names (``fnt``/``gnt``): ICAO Doc 9303 Part 3 transliteration, German rules.

Rules (the convention of German issuers and of the dgc-testdata vectors):

* Ä→AE, Ö→OE, Ü→UE, ß/ẞ→SS, Å→AA, Æ→AE, Ø→OE, Œ→OE, Þ→TH, Ĳ→IJ, Ð/Đ→D,
  and a few letters Unicode does not decompose (Ł→L, Ħ→H, Ŧ→T, Ŋ→N, ı→I, ĸ→K);
* every other Latin letter loses its diacritics (NFKD, combining marks dropped);
* spaces and hyphens become one ``<`` (runs collapse, none at either end);
* apostrophes and other punctuation are dropped;
* the result is upper-case A–Z and ``<``, at most 80 characters; longer is an
  error, never silently truncated.

Letters of other scripts (Cyrillic, Greek, Arabic, CJK, ...) are refused with a
message asking for the standardised name to be typed; :func:`check_standardised`
validates such a typed name.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from appliance.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_LENGTH = 80
STANDARDISED = re.compile(r"[A-Z<]*")

#: Upper-case letters with their own ICAO/German transliteration.
SPECIAL: dict[str, str] = {
    "Ä": "AE", "Ö": "OE", "Ü": "UE", "ẞ": "SS", "Å": "AA", "Æ": "AE", "Ø": "OE", "Œ": "OE",
    "Þ": "TH", "Ĳ": "IJ", "Ð": "D", "Đ": "D", "Ł": "L", "Ħ": "H", "Ŧ": "T", "Ŋ": "N",
    "Ŀ": "L", "Ǆ": "DZ", "ǅ": "DZ", "Ǉ": "LJ", "ǈ": "LJ", "Ǌ": "NJ", "ǋ": "NJ",
}
#: Lower-case letters whose ``str.upper()`` is not what ICAO wants.
LOWER_SPECIAL: dict[str, str] = {"ı": "I", "ĸ": "K", "ß": "SS", "ŉ": "N"}

#: Dropped like punctuation: the micro sign looks Latin but decomposes to Greek mu (NL vectors drop it).
DROP = {"\u00b5"}
SEPARATORS = {"-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"}


def _letters(ch: str) -> str:
    """One input character -> its A-Z letters, '<' for a separator, '' to drop."""
    if ch.isspace() or ch in SEPARATORS or ch == "<":
        return "<"
    if ch in DROP:
        return ""
    if ch in LOWER_SPECIAL:
        return LOWER_SPECIAL[ch]
    up = ch.upper()
    if up in SPECIAL:
        return SPECIAL[up]
    out = ""
    for part in unicodedata.normalize("NFKD", up):
        if unicodedata.category(part).startswith("M"):
            continue  # combining diacritic
        if "A" <= part <= "Z":
            out += part
        elif part in SPECIAL:
            out += SPECIAL[part]
        elif unicodedata.category(part)[0] in "PSZ" or unicodedata.category(part) == "Lm":
            out += "<" if part.isspace() else ""
        else:
            raise _not_latin(part)
    return out


def _not_latin(ch: str) -> InvalidInput:
    if ch.isdigit():
        return InvalidInput("a name cannot contain digits; check the name")
    script = unicodedata.name(ch, "UNKNOWN").split(" ")[0].capitalize()
    return InvalidInput(f"contains {script} characters that cannot be transliterated automatically; "
                        "type the standardised name (ICAO 9303: A-Z and <)")


def transliterate(name: str) -> str:
    """The ICAO 9303 standardised form of ``name`` (``""`` for an empty name).

    Raises :class:`InvalidInput` (``field_errors == {"input": ...}``; the caller maps
    it to its field) for non-Latin scripts, digits, or a result over 80 characters.
    """
    text = unicodedata.normalize("NFC", name)
    raw = "".join(_letters(ch) for ch in text)
    result = re.sub(r"<+", "<", raw).strip("<")
    if not result and text.strip():
        raise InvalidInput("contains no letters; check the name")
    if len(result) > MAX_LENGTH:
        raise InvalidInput(f"the standardised name would be {len(result)} characters, more than "
                           f"{MAX_LENGTH}; type a shortened standardised name")
    return result


def check_standardised(s: str) -> str:
    """Validate a typed standardised name; returns it stripped and upper-cased.

    Raises :class:`InvalidInput` (field ``input``) unless it matches ``^[A-Z<]*$``
    with at most 80 characters.
    """
    if not isinstance(s, str):
        raise InvalidInput("must be text")
    value = s.strip().upper()
    if not STANDARDISED.fullmatch(value):
        raise InvalidInput("may only contain the letters A-Z and < (ICAO 9303), e.g. MUELLER<LUEDENSCHEIDT")
    if len(value) > MAX_LENGTH:
        raise InvalidInput(f"is longer than {MAX_LENGTH} characters")
    return value
