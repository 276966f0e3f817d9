"""The packaged EU value sets (valuesets.py)."""

from __future__ import annotations

import pytest

from appliance.dcc import valuesets
from appliance.errors import InvalidInput


@pytest.fixture(scope="module")
def vs():
    return valuesets.load()


def test_load_is_cached(vs):
    assert valuesets.load() is vs


def test_codes_and_validity(vs):
    assert vs.codes("disease-agent-targeted") == {"840539006"}
    assert vs.codes("test-type") == {"LP6464-4", "LP217198-3"}
    assert vs.codes("test-result") == {"260415000", "260373001"}
    assert "EU/1/20/1528" in vs.codes("vaccine-medicinal-product")
    assert "1232" in vs.codes("test-manf")
    assert vs.is_valid("country-2-codes", "DE") and not vs.is_valid("country-2-codes", "XX")
    assert not vs.is_valid("country-2-codes", 49)
    assert vs.is_valid("vaccine-prophylaxis", "J07BX03") and not vs.is_active("vaccine-prophylaxis", "J07BX03")
    with pytest.raises(KeyError):
        vs.codes("no-such-set")


@pytest.mark.parametrize("name, code, en, de", [
    ("disease-agent-targeted", "840539006", "COVID-19", "COVID-19"),
    ("test-type", "LP217198-3", "Rapid immunoassay", "Antigen-Schnelltest"),
    ("test-result", "260415000", "Not detected", "Nicht erkannt (negativ)"),
    ("vaccine-prophylaxis", "1119349007", "SARS-CoV-2 mRNA vaccine", "SARS-CoV-2-mRNA-Impfstoff"),
    ("vaccine-medicinal-product", "EU/1/20/1528", "Comirnaty", "Comirnaty"),
    ("country-2-codes", "AT", "Austria", "Österreich"),
    ("country-2-codes", "BE", "Belgium", "Belgien"),
])
def test_display_in_english_and_german(vs, name, code, en, de):
    assert vs.display(name, code, "en") == en
    assert vs.display(name, code, "de") == de


def test_every_code_staff_pick_has_a_german_label(vs):
    for name in ("disease-agent-targeted", "vaccine-prophylaxis", "test-type", "test-result"):
        for code in vs.codes(name):
            assert vs.display(name, code, "de") != vs.display(name, code, "en") or name == "disease-agent-targeted"


def test_choices_are_active_and_sorted_by_label(vs):
    choices = vs.choices("vaccine-medicinal-product", "de")
    labels = [label.casefold() for _, label in choices]
    assert labels == sorted(labels)
    codes = {code for code, _ in choices}
    assert "EU/1/21/1618" in codes and "NVX-CoV2373" not in codes  # deprecated product left out
    assert ("DE", "Deutschland") in vs.choices("country-2-codes", "de")


@pytest.mark.parametrize("mp, vp, ma", [
    ("EU/1/20/1528", "1119349007", "ORG-100030215"),   # Comirnaty: mRNA, BioNTech
    ("EU/1/20/1507", "1119349007", "ORG-100031184"),   # Spikevax: mRNA, Moderna
    ("EU/1/21/1529", "29061000087103", "ORG-100001699"),  # Vaxzevria: viral vector, AstraZeneca
    ("EU/1/20/1525", "29061000087103", "ORG-100001417"),  # Jcovden: viral vector, Janssen
    ("EU/1/21/1618", "1162643001", "ORG-100032020"),   # Nuvaxovid: recombinant spike protein
    ("EU/1/22/1709", "28531000087107", "ORG-100036914"),  # Bimervax: only the generic code listed
])
def test_vaccine_encoding(vs, mp, vp, ma):
    assert vs.vaccine_encoding(mp) == (vp, ma)


def test_every_encoded_product_is_consistent_with_the_value_sets(vs):
    for mp in vs.codes("vaccine-medicinal-product"):
        vp, ma = vs.vaccine_encoding(mp)
        assert vs.is_active("vaccine-prophylaxis", vp), mp
        assert vs.is_valid("vaccine-mah-manf", ma), mp


def test_unknown_product_names_the_field(vs):
    with pytest.raises(InvalidInput) as exc:
        vs.vaccine_encoding("Pfizer")
    assert "product" in exc.value.field_errors
