"""Staff find "Müller" however they type it: "muller", "mueller", "MÜLLER", "Muller" (and "Weiß" as
"weiss"), in a real SQLite journal and on the records page. Umlauts fold both ways (ü -> u and
ü -> ue), ß -> ss, case is folded; other accents drop (é -> e)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from appliance.journal.journal import Journal
from appliance.util.fold import folds
from tests.support.clock import NOW

PEOPLE = [("Müller-Lüdenscheidt", "Jürgen", "MUELLER<LUEDENSCHEIDT", "JUERGEN"),
          ("Weiß", "Anna", "WEISS", "ANNA"), ("Mueller", "Petra", "MUELLER", "PETRA"),
          ("Muller", "René", "MULLER", "RENE"), ("Schmidt", "Zoë", "SCHMIDT", "ZOE")]


@pytest.fixture
def journal(tmp_path):
    with Journal.open(tmp_path / "journal.sqlite") as j:
        for i, (fn, gn, fnt, gnt) in enumerate(PEOPLE, 1):
            j.append("issued", now=NOW + timedelta(seconds=i), operator="anna", type="v",
                     uvci=f"URN:UVCI:01:DE:DEMO1/S{i:06d}#X", kid=b"k" * 8, signature=os.urandom(64), country="DE",
                     data={"mp": "EU/1/20/1528", "dn": 1},
                     personal={"family_name": fn, "given_name": gn, "family_name_std": fnt, "given_name_std": gnt,
                               "date_of_birth": "1980-05-17", "hc1": "HC1:x"})
        yield j


def _found(journal, text: str) -> set[str]:
    return {r.personal["family_name"] for r in journal.search(text, since=NOW - timedelta(days=1))}


MUELLER_L, MUELLER, MULLER = "Müller-Lüdenscheidt", "Mueller", "Muller"


@pytest.mark.parametrize("typed, expected", [
    ("muller", {MUELLER_L, MULLER}), ("Muller", {MUELLER_L, MULLER}),            # umlaut dropped
    ("mueller", {MUELLER_L, MUELLER}), ("MUELLER", {MUELLER_L, MUELLER}),        # umlaut transcribed
    ("Müller", {MUELLER_L, MUELLER, MULLER}), ("MÜLLER", {MUELLER_L, MUELLER, MULLER}),
    ("müller", {MUELLER_L, MUELLER, MULLER}),
])
def test_every_spelling_of_mueller_finds_mueller(journal, typed, expected):
    assert _found(journal, typed) == expected


@pytest.mark.parametrize("typed, expected", [
    ("weiss", {"Weiß"}), ("WEISS", {"Weiß"}), ("weiß", {"Weiß"}), ("luedenscheidt", {"Müller-Lüdenscheidt"}),
    ("ludenscheidt", {"Müller-Lüdenscheidt"}), ("jurgen", {"Müller-Lüdenscheidt"}), ("rene", {"Muller"}),
    ("René", {"Muller"}), ("zoe", {"Schmidt"}), ("schmidt", {"Schmidt"}), ("DEMO1/S000002", {"Weiß"}),
    ("meier", set()), ("%", set()), ("_", set()),
])
def test_folded_search_finds_names_and_uvcis_and_nothing_else(journal, typed, expected):
    assert _found(journal, typed) == expected


def test_the_folds():
    assert folds("Müller") == ("muller", "mueller")
    assert folds("Weiß") == ("weiss", "weiss")
    assert folds("ÆØÅ é") == ("aeoa e", "aeoa e")   # NFKD drops what decomposes; Æ and Ø fold by table


def test_records_page_finds_mueller_when_staff_type_muller(staff, devices):
    from tests.web.test_issue_flow import FORMS, _issue  # lazy: the issue-flow helpers, only for this test

    _issue(staff, "v", FORMS["v"])
    for typed in ("muller", "mueller"):
        page = staff.get(f"/records?q={typed}").get_data(as_text=True)
        assert "Müller" in page, typed
    assert "Müller" not in staff.get("/records?q=meier").get_data(as_text=True)
