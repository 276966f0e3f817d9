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
validates such a typed name, and :func:`fits` tells whether a standardised name can
come from a Latin-script name at all (the verifier's and the issuer's ``names`` check).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Mapping

from appliance.errors import InvalidInput
from appliance.messages import Msg, pipeline_ids

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


@functools.lru_cache(maxsize=4096)
def _letters(ch: str) -> str:
    """One input character -> its A-Z letters, '<' for a separator, '' to drop (cached: a pure
    function of the character, asked for every letter of every name the issuer builds and checks)."""
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
        return InvalidInput(Msg("name.digits"))
    script = unicodedata.name(ch, "UNKNOWN").split(" ")[0].capitalize()
    known = Msg(f"script.{script.lower()}") if f"script.{script.lower()}" in pipeline_ids() else None
    return InvalidInput(Msg("name.script", script=known or Msg("script.other", name=script)))


def transliterate(name: str) -> str:
    """The ICAO 9303 standardised form of ``name`` (``""`` for an empty name).

    Raises :class:`InvalidInput` (``field_errors == {"input": ...}``; the caller maps
    it to its field) for non-Latin scripts, digits, or a result over 80 characters.
    """
    text = unicodedata.normalize("NFC", name)
    raw = "".join(_letters(ch) for ch in text)
    result = re.sub(r"<+", "<", raw).strip("<")
    if not result and text.strip():
        raise InvalidInput(Msg("name.no_letters"))
    if len(result) > MAX_LENGTH:
        raise InvalidInput(Msg("name.std_too_long", n=len(result), max=MAX_LENGTH))
    return result


#: Unicode categories no typed text may hold: controls (an ESC reaches the receipt printer as a
#: command), format characters (bidi overrides and isolates, zero-width), surrogates, private use, unassigned.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def has_unsafe_characters(text: str) -> bool:
    """Whether ``text`` holds a control, format (bidi), surrogate, private-use or unassigned character:
    the one check for every text staff type (names, the centre's settings)."""
    return any(unicodedata.category(ch) in UNSAFE_CATEGORIES for ch in text)


def check_standardised(s: str) -> str:
    """Validate a typed standardised name; returns it stripped and upper-cased.

    Raises :class:`InvalidInput` (field ``input``) unless it matches ``^[A-Z<]*$``
    with at most 80 characters.
    """
    if not isinstance(s, str):
        raise InvalidInput(Msg("input.not_text"))
    value = s.strip().upper()
    if not STANDARDISED.fullmatch(value):
        raise InvalidInput(Msg("name.std_chars"))
    if len(value) > MAX_LENGTH:
        raise InvalidInput(Msg("input.too_long", n=MAX_LENGTH))
    return value


# ------------------------------------------------------------ does a standardised name fit its name?

#: Letters with more than one accepted standardised form: ICAO 9303 Part 3 (the ``XX`` forms, Ñ as
#: N), the Nordic and South-Slavic passport forms (Å as A, Ø as O, Đ as DJ, Ð as DH), the Dutch Ĳ as
#: Y. Besides these, every letter with a diacritic may also be written as its bare letter.
VARIANTS: dict[str, tuple[str, ...]] = {
    "Ä": ("AXX",), "Ö": ("OXX",), "Ü": ("UXX",), "Å": ("AXX",), "Ñ": ("NXX",), "Ø": ("O",), "Æ": ("A",),
    "Đ": ("DJ",), "Ð": ("DH",), "Ĳ": ("Y",), "ẞ": ("S",),
}


class _NotCheckable(Exception):
    """The name holds something no transliteration rule covers (another script, digits)."""


@functools.lru_cache(maxsize=4096)
def _forms(ch: str) -> tuple[str, ...]:
    """Every standardised form of one character of a name (``("",)`` when it is dropped)."""
    try:
        own = _letters(ch)
    except InvalidInput:
        raise _NotCheckable() from None
    if own == "<":
        return ("",)
    up = ch.upper() if ch not in LOWER_SPECIAL else LOWER_SPECIAL[ch]
    bare = "".join(p for p in unicodedata.normalize("NFKD", up) if "A" <= p <= "Z")
    return tuple(dict.fromkeys(f for f in (own, bare, *VARIANTS.get(up[:1], ())) if f)) or ("",)


def _words(name: str) -> list[list[tuple[str, ...]]]:
    """The name's words (split at spaces, hyphens and ``<``), each a list of its letters' forms."""
    words: list[list[tuple[str, ...]]] = [[]]
    for ch in unicodedata.normalize("NFC", name):
        if ch.isspace() or ch in SEPARATORS or ch == "<":
            words.append([])
            continue
        forms = _forms(ch)
        if forms != ("",):
            words[-1].append(forms)
    return [w for w in words if w]


def fits(name: str | None, standardised: str | None, other: str | None = None) -> bool | None:
    """Whether ``standardised`` can be the standardised form of ``name``; ``None`` = not checkable.

    Deliberately lenient, so that no certificate a real issuer wrote is called wrong; it
    catches a standardised name that belongs to another name (a correction that kept the old
    one, a typo that changed letters). ``standardised`` fits when, with its ``<`` removed, it
    is the name's words in their order, each written in one of its accepted forms, where

    * a letter may take any of its forms: this module's (Ü→UE), the bare letter (Ü→U), the
      ICAO ``XX`` form (Ü→UXX) and the few of :data:`VARIANTS` (Å→A, Đ→DJ, Ĳ→Y);
    * any word may be left out (a second given name, a second family name, "von");
    * any word may be shortened to its first letters (truncation, initials);
    * separators and punctuation count for nothing (MUELLERLUEDENSCHEIDT, O<BRIEN, 'T<ACHTERNAAM);
    * ``other``, the person's other name, may follow or precede the name's words: some issuers
      put the whole name into the standardised family name (SG: ``fn`` TAN, ``fnt`` TAN<CHEN<CHEN).

    Not checkable (``None``): an empty name or standardised name, and a name with letters of
    another script or digits, where only staff know the right form.
    """
    if not isinstance(name, str) or not isinstance(standardised, str):
        return None   # a hostile payload's list or number: not a name (the schema check fails it)
    return _fits(name, standardised, other if isinstance(other, str) else None)


@functools.lru_cache(maxsize=2048)
def _fits(name: str, standardised: str, other: str | None) -> bool | None:
    """:func:`fits` for strings (cached: the issuer checks a name when it builds the payload and
    again in its self-check)."""
    if not name or not standardised or not isinstance(name, str) or not isinstance(standardised, str):
        return None
    try:
        words = _words(name)
    except _NotCheckable:
        return None
    target = standardised.replace("<", "").upper()
    if not words or not target:
        return None
    try:
        if transliterate(name).replace("<", "") == target:
            return True   # this module's own form (what the issuer writes unless staff typed one)
    except InvalidInput:
        pass
    try:
        more = _words(other) if isinstance(other, str) and other else []
    except _NotCheckable:
        more = []
    orders = [words] + ([words + more, more + words] if more else [])
    return any(_spells(order, target) for order in orders)


def _spells(words: list[list[tuple[str, ...]]], target: str) -> bool:
    """Whether ``target`` is ``words`` in order, each in one of its letters' forms, left out or shortened."""
    todo, seen = [(0, 0, 0)], set()   # (word, letters of it used, position in target)
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        w, c, pos = state
        if w == len(words):
            if pos == len(target):
                return True
            continue
        letters = words[w]
        todo.append((w + 1, 0, pos))  # leave the word out (c == 0), or end it here (whole or shortened)
        if c < len(letters):
            todo += [(w, c + 1, pos + len(f)) for f in letters[c] if target.startswith(f, pos)]
    return False


#: The standardised name keys of a DCC's ``nam`` and the name each comes from.
NAME_PAIRS = (("fnt", "fn"), ("gnt", "gn"))


def misfits(nam: Mapping | None) -> list[str]:
    """The keys of ``nam`` (``fnt``, ``gnt``) whose standardised name cannot come from its name
    (see :func:`fits`); names that cannot be checked count as fitting."""
    if not isinstance(nam, Mapping):
        return []
    other = {"fn": "gn", "gn": "fn"}
    return [std for std, plain in NAME_PAIRS if fits(nam.get(plain), nam.get(std), nam.get(other[plain])) is False]
