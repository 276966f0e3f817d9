"""The dose assistant (doses.py): EU/DE numbering rules since February 2022."""

from __future__ import annotations

import pytest

from appliance.dcc import doses, valuesets

COMIRNATY, JCOVDEN = "EU/1/20/1528", "EU/1/20/1525"


def pairs(mp):
    return [(o.dn, o.sd) for o in doses.options(mp)]


def test_two_dose_vaccine_numberings():
    got = pairs(COMIRNATY)
    for expected in [(1, 2), (2, 2), (1, 1), (2, 1), (3, 3), (4, 4), (3, 1)]:
        assert expected in got
    assert got[:2] == [(1, 2), (2, 2)]  # the usual basic series comes first
    assert (3, 2) not in got and (2, 3) not in got


def test_single_dose_vaccine_numberings():
    got = pairs(JCOVDEN)
    assert got[0] == (1, 1)
    assert (2, 1) in got          # booster after Janssen (EU rule since 1 Feb 2022)
    assert (3, 3) in got          # Jcovden given as booster after a 2-dose series
    assert (1, 2) not in got and (2, 2) not in got


def test_meanings_are_given_in_both_languages_and_unique():
    for mp in valuesets.load().codes("vaccine-medicinal-product"):
        options = doses.options(mp)
        assert len({(o.dn, o.sd) for o in options}) == len(options)
        for o in options:
            assert o.meaning_en and o.meaning_de and o.meaning_en != o.meaning_de
            assert 1 <= o.dn and 1 <= o.sd


def test_booster_meanings():
    by_pair = {(o.dn, o.sd): o for o in doses.options(COMIRNATY)}
    assert "booster" in by_pair[(3, 3)].meaning_en.lower()
    assert "Auffrischimpfung" in by_pair[(2, 1)].meaning_de
    assert "recovery" in by_pair[(1, 1)].meaning_en.lower()


@pytest.mark.parametrize("mp, dn, sd, found", [(COMIRNATY, 2, 2, True), (COMIRNATY, 2, 3, False),
                                               (JCOVDEN, 1, 2, False), (JCOVDEN, 2, 1, True)])
def test_find(mp, dn, sd, found):
    assert (doses.find(mp, dn, sd) is not None) is found
