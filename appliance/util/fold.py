"""Folding text for search: "muller", "mueller" and "MÜLLER" all find "Müller".

German names are typed three ways: with the umlaut, with the umlaut dropped (ü -> u) and
transcribed (ü -> ue). :func:`folds` gives a text's two folded forms; a search matches when
the query's first fold is inside the field's first fold, or its second inside the second.
Both forms are case-folded, ß becomes ss, and any other accent is dropped (é -> e).
"""

from __future__ import annotations

import unicodedata

#: letters NFKD does not decompose
_LETTERS = str.maketrans({"ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
                          "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "œ": "oe", "Œ": "oe", "ı": "i"})
#: the German transcription, applied before the accents are dropped (second fold only)
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def folds(text: str) -> tuple[str, str]:
    """``(umlaut dropped, umlaut transcribed)``: ``"Müller"`` -> ``("muller", "mueller")``."""
    nfc = unicodedata.normalize("NFC", text)
    return _plain(nfc), _plain(nfc.translate(_UMLAUTS))


def fold(text: object, which: int) -> str | None:
    """One fold of ``text`` (0: umlaut dropped, 1: transcribed); None stays None (SQL NULL)."""
    return None if text is None else folds(str(text))[which]
