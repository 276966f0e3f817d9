"""Standardised names that cannot come from the names (issue 10, finding 1): ``names.fits``, the
verifier's ``names`` check on a hand-built payload, and the issuer's refusal before signing."""

from __future__ import annotations

import json

import pytest

from appliance.dcc import names, verify
from appliance.errors import InvalidInput
from tests.support.paths import VECTORS

#: the finding: a correction of the family name that kept the old standardised name
CONTRADICTION = {"fn": "Schmidt", "fnt": "MUELLER<LUEDENSCHEIDT", "gn": "Jürgen", "gnt": "JUERGEN"}


@pytest.mark.parametrize("name, std", [
    ("Müller-Lüdenscheidt", "MUELLER<LUEDENSCHEIDT"),   # this appliance's own form
    ("Müller-Lüdenscheidt", "MUELLERLUEDENSCHEIDT"),    # the hyphen dropped
    ("Müller", "MULLER"), ("Müller", "MUXXLLER"),        # bare letter, ICAO XX form
    ("Gößinger", "GOSSINGER"), ("Ångström", "ANGSTROEM"), ("Đorđević", "DJORDJEVIC"),
    ("Jürgen Günther", "JUERGEN"),                      # a second given name left out
    ("Jürgen Günther", "GUENTHER"), ("Anna Maria", "A<M"),  # the first left out; initials
    ("O'Brien", "O<BRIEN"), ("'t Achternaam", "T<ACHTERNAAM"),  # punctuation counts for nothing
    ("schmidt", "SCHMIDT"),
])
def test_accepted_standardised_forms_fit(name, std):
    assert names.fits(name, std) is True


@pytest.mark.parametrize("name, std", [
    ("Schmidt", "MUELLER<LUEDENSCHEIDT"),    # the finding
    ("Müller", "MILLER"), ("Schmidt", "SCHMITT"),  # letters changed
    ("Anna", "MARIA"), ("Anna Maria", "MARIA<ANNA"),  # another name, another order
    ("Müller", "MUELLERS"),                  # a letter added
])
def test_standardised_names_of_other_names_do_not_fit(name, std):
    assert names.fits(name, std) is False


@pytest.mark.parametrize("name, std", [("Иванов", "IVANOV"), ("Παπαδόπουλος", "XYZ"), ("王小明", "WANG"),
                                       ("", "SCHMIDT"), ("Schmidt", ""), (None, "X")])
def test_names_of_other_scripts_or_missing_cannot_be_checked(name, std):
    assert names.fits(name, std) is None


def test_the_other_name_may_join_the_standardised_family_name():
    """SG writes the whole name into fnt (dgc-testdata SG/1.json); that fits, a stranger's does not."""
    assert names.misfits({"fn": "TAN", "fnt": "TAN<CHEN<CHEN", "gn": "CHEN CHEN", "gnt": "CHEN<CHEN"}) == []
    assert names.misfits({"fn": "TAN", "fnt": "TAN<LEE", "gn": "CHEN CHEN", "gnt": "CHEN<CHEN"}) == ["fnt"]
    assert names.misfits(CONTRADICTION) == ["fnt"]
    assert names.misfits({**CONTRADICTION, "fnt": "SCHMIDT", "gnt": "ERIKA"}) == ["gnt"]


def _vector_names():
    for path in sorted(VECTORS.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        for doc in (data.get("JSON"), data) if isinstance(data, dict) else ():
            if isinstance(doc, dict) and isinstance(doc.get("nam"), dict):
                yield path.relative_to(VECTORS).as_posix(), doc["nam"]


def test_no_name_of_the_test_vectors_is_called_a_misfit():
    """The rule is lenient enough for what 20 countries' issuers wrote (dgc-testdata, schema examples)."""
    found = list(_vector_names())
    assert len(found) > 400
    wrong = [(path, nam) for path, nam in found if names.misfits(nam)]
    assert wrong == []


def test_the_verifier_flags_a_standardised_name_that_cannot_come_from_the_name(make_hc1, software_signer, now, dcc):
    dcc["nam"] = dict(CONTRADICTION)
    hc1, _ = make_hc1(dcc)
    result = verify.verify(hc1, dscs=[software_signer.certificate], at=now)
    out = result.to_json()
    assert not result.valid and not out["valid"]
    assert out["checks"]["names"] is False
    assert all(ok is True for check, ok in out["checks"].items() if check != "names"), out["checks"]
    (error,) = out["errors"]
    assert error.startswith("names: ") and "(fnt)" in error and "(fn)" in error
    assert "Schmidt" not in error and "MUELLER" not in error      # no personal data in the message


def test_the_verifier_checks_the_given_name_too(make_hc1, software_signer, now, dcc):
    dcc["nam"] = {**CONTRADICTION, "fnt": "SCHMIDT", "gnt": "ERIKA"}
    result = verify.verify(make_hc1(dcc)[0], dscs=[software_signer.certificate], at=now)
    assert not result.valid and result.checks["names"] is False and "(gnt)" in result.errors[0]


def test_a_typed_standardised_name_of_another_script_is_valid(make_hc1, software_signer, now, dcc):
    dcc["nam"] = {"fn": "Иванов", "fnt": "IVANOV", "gn": "Иван", "gnt": "IVAN"}
    result = verify.verify(make_hc1(dcc)[0], dscs=[software_signer.certificate], at=now)
    assert result.valid and result.checks["names"] is True, result.errors


def test_issuing_refuses_a_standardised_name_that_cannot_come_from_the_name(make_issuer, journal, request_for,
                                                                             example):
    data = example("v")
    data.update(family_name="Schmidt", family_name_standardised="MUELLER<LUEDENSCHEIDT")
    req = request_for("v", data)
    with pytest.raises(InvalidInput) as exc:
        make_issuer().issue(req, operator="anna", idempotency_key="form-1")
    assert set(exc.value.field_errors) == {"family_name_standardised"}
    message = exc.value.field_errors["family_name_standardised"]
    assert "family name" in message and "empty" in message        # what is wrong, and what to do
    assert "Schmidt" not in message and "MUELLER" not in message
    assert journal.last_seq() == 0 and journal.search() == []    # nothing written


def test_issuing_keeps_a_typed_standardised_name_that_fits(make_issuer, request_for, example):
    data = example("v")
    data.update(family_name="Müller", family_name_standardised="MULLER")
    issued = make_issuer().issue(request_for("v", data), operator="anna")
    assert issued.dcc["nam"]["fnt"] == "MULLER"
