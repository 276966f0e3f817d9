"""Property: no input to the form endpoints causes a server error, and a rejected form journals nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.web import FORMS

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
    st.sampled_from(["", " ", "0", "-1", "2026-02-30", "2026-11-28T25:61", "1/0", "99/99", "0/0", "a/b", "/",
                     "EU/1/20/1528", "LP217198-3", "260373001", "DE", "XX", "9999-12-31", "0001-01-01",
                     "<script>alert(1)</script>", "' OR 1=1 --", "\x00", "😀", "ß" * 100, "Ω"]),
)


def _form(type_: str):
    base = FORMS[type_]
    keys = list(base) + ["family_name_standardised", "given_name_standardised"]
    return st.fixed_dictionaries({}, optional={k: _text for k in keys}).map(
        lambda changed: {**{k: v for k, v in base.items() if changed.get(k, v) is not None}, **changed})


def _entries(devices) -> int:
    return devices.journal.last_seq()


@FUZZ
@given(type_=st.sampled_from("vtr"), data=st.data())
def test_review_never_fails_with_a_server_error(staff, devices, type_, data):
    form = data.draw(_form(type_))
    before = _entries(devices)
    resp = staff.post(f"/issue/{type_}/review", form)
    assert resp.status_code in (200, 422), resp.status_code
    assert _entries(devices) == before                    # review never journals


@FUZZ
@given(type_=st.sampled_from("vtr"), data=st.data(),
       token=st.one_of(st.just("T" * 24), st.text(max_size=70)))
def test_issue_never_fails_with_a_server_error(staff, devices, type_, data, token):
    form = data.draw(_form(type_))
    before = _entries(devices)
    resp = staff.post(f"/issue/{type_}/confirm", {**form, "token": token, "action": "issue"})
    assert resp.status_code in (303, 400, 409, 422, 503), resp.status_code   # 409: the token of other data
    if resp.status_code != 303:
        assert _entries(devices) == before                # nothing journaled for a rejected form


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["username", "password", "q", "days", "hc1", "reason", "name",
                                               "role", "issuer", "country", "validity_days_v", "kind", "port"]),
                              _text, max_size=6))
def test_other_forms_never_fail_with_a_server_error(admin, fields):
    for path in ("/verify", "/admin/centre", "/admin/printer", "/admin/users"):
        assert admin.post(path, fields).status_code < 500, path
    assert admin.get("/records", query_string={k: v for k, v in fields.items() if "\x00" not in v}).status_code < 500


#: dates at the edges of what ``date`` can hold, and just inside them
_EDGE_DAYS = st.one_of(st.sampled_from(["9999-12-31", "9999-12-20", "9999-06-30", "0001-01-01", "0001-01-11",
                                        "1900-01-01", "2099-12-31", "2026-11-28"]),
                       st.dates().map(lambda d: d.isoformat()))


def test_a_recovery_first_positive_at_the_end_of_time_is_a_field_error(staff, devices):
    """Finding 12: first_positive 9999-12-31 raised OverflowError (a 500) on review."""
    form = {**FORMS["r"], "first_positive": "9999-12-31"}
    resp = staff.post("/issue/r/review", form)
    assert resp.status_code == 422, resp.status_code
    assert "Traceback" not in resp.get_data(as_text=True)


@FUZZ
@given(data=st.data())
def test_extreme_dates_in_every_date_field_are_field_errors(staff, devices, data):
    type_ = data.draw(st.sampled_from("vtr"))
    names = {"v": ["date", "date_of_birth"], "t": ["date_of_birth"],
             "r": ["first_positive", "valid_from", "valid_until", "date_of_birth"]}[type_]
    form = {**FORMS[type_], **{name: data.draw(_EDGE_DAYS, label=name) for name in names}}
    before = _entries(devices)
    assert staff.post(f"/issue/{type_}/review", form).status_code in (200, 422)
    resp = staff.post(f"/issue/{type_}/confirm", {**form, "token": "T" * 24, "action": "issue"})
    assert resp.status_code in (303, 400, 409, 422, 503), resp.status_code   # 409: the token of other data
    if resp.status_code != 303:
        assert _entries(devices) == before
