"""Field messages in the user's language: every message the pipeline produces for bad input has a
German text (appliance.web.field_messages), and the tablet shows it beside the field, keeping the
entered values; English users see the English message."""

from __future__ import annotations

import copy
import html
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.dcc import form, names, payload, uvci, valuesets
from appliance import settings as app_settings
from appliance.config import DeviceSection, IssueSection
from appliance.errors import InvalidInput
from appliance.dcc.samples import example_input
from appliance.web.field_messages import _COMPILED, TEMPLATES, translate
from tests.support.clock import NOW

DEVICE = DeviceSection()
#: English words that must not survive in a German message
ENGLISH = ("must", "required", "should", "is", "check", "cannot", "the", "enter", "give", "use", "allowed",
           "characters", "needs", "contains", "before", "after", "future", "past", "only", "not")
SECTION = form.SECTIONS
DELETE = object()

#: messages of appliance.issue (revocation), reached through the records page
ISSUE_MESSAGES = ["give a short reason (1 to 200 characters, no personal data)",
                  "no certificate with this UVCI was issued on this device", "this certificate is already revoked"]


def _assert_german(message: str) -> None:
    german = translate(message, "de")
    assert german != message, f"no German text for {message!r}"
    lower = german.lower()
    # the codes and keys in a message stay as they are ("date-time", "family_name"), so look at words only
    words = re.sub(r"'[^']*'|„[^“]*“|\b[\w-]*[_-][\w-]*\b|\([^)]*rfc[^)]*\)", "", lower)
    assert not [w for w in ENGLISH if re.search(rf"\b{w}\b", words)], f"{message!r} -> {german!r}"
    assert translate(message, "en") == message


def _messages(exc: InvalidInput) -> list[str]:
    return [str(m) for m in exc.field_errors.values()]


def _changed(type_: str, key: str, value) -> dict:
    data = example_input(type_, now=NOW)
    target = data if key in form.PERSON_KEYS or key == "_root" else data[SECTION[type_]]
    if value is DELETE:
        target.pop(key, None)
    else:
        target[key] = value
    return data


def _parse_messages(data, type_: str) -> list[str]:
    try:
        form.parse_input(data, type=type_, device=DEVICE, now=NOW)
    except InvalidInput as exc:
        return _messages(exc)
    return []


def _refused_messages(data, type_: str) -> list[str]:
    """The messages for input that must be refused (a case that parses would add nothing unnoticed)."""
    with pytest.raises(InvalidInput) as info:
        form.parse_input(data, type=type_, device=DEVICE, now=NOW)
    return _messages(info.value)


PERSON_CASES = [
    ("family_name", DELETE), ("family_name", ""), ("family_name", 123), ("family_name", "Müll3r"),
    ("family_name", "---"), ("family_name", "Иванов"), ("family_name", "a" * 81), ("family_name", "A\u200bB"),
    ("family_name", "王"), ("family_name", "ß" * 41), ("family_name", "µ"), ("family_name", "A½"),
    ("given_name", "Ελένη"), ("given_name", 5), ("given_name", "Jür9en"),
    ("date_of_birth", DELETE), ("date_of_birth", "17.05.1980"), ("date_of_birth", "1980-13-01"),
    ("date_of_birth", "1899-12-31"), ("date_of_birth", "2027-01-01"), ("date_of_birth", 1980),
    ("family_name_standardised", "mueller!"), ("family_name_standardised", "A" * 81),
    ("family_name_standardised", 5), ("given_name_standardised", "JÜRGEN"),
]
EVENT_CASES = {
    "v": [("product", DELETE), ("product", "Comirnaty"), ("product", 5), ("product", []), ("product", "VLA2001"),
          ("dose_number", 0), ("dose_number", "x"), ("dose_number", 100), ("dose_number", True),
          ("dose_number", DELETE), ("total_doses", DELETE), ("total_doses", 1.5), ("dose_number", 2),
          ("date", DELETE), ("date", "2026-02-30"), ("date", "tomorrow"), ("date", "2026-12-25"),
          ("date", "2019-01-01"), ("date", 20261120), ("country", "XX"), ("country", "D"), ("country", {"a": 1}),
          ("issuer", " "), ("issuer", "x" * 81), ("issuer", 5), ("extra", 1)],
    "t": [("test_type", "antibody"), ("test_type", DELETE), ("test_type", 3), ("test_type", []),
          ("test_name", "x" * 81), ("test_name", 5), ("test_device", "99999"), ("test_device", "1065"),
          ("test_device", DELETE), ("sample_time", DELETE), ("sample_time", "2026-11-28"),
          ("sample_time", "2026-11-28T09:30"), ("sample_time", "2026-11-29T09:30:00+01:00"),
          ("sample_time", "2019-06-01T10:00:00Z"), ("sample_time", "0001-01-01T00:30+01:00"), ("sample_time", 7),
          ("result", "positive"), ("result", "maybe"), ("result", DELETE), ("centre", "x" * 81),
          ("country", "ZZ"), ("issuer", 0.5)],
    "r": [("first_positive", DELETE), ("first_positive", "2026-13-01"), ("first_positive", "2027-01-01"),
          ("first_positive", "2019-05-05"), ("valid_from", "2026-11-01"), ("valid_from", DELETE),
          ("valid_until", "2027-12-31"), ("valid_until", "2026-11-20"), ("valid_until", "x"),
          ("country", "12"), ("issuer", " ")],
}
#: several changes at once, for the rules that compare fields
COMBINED = [
    ("v", {"date_of_birth": "2026-11-25"}, {}),                                  # born after the vaccination
    ("t", {"date_of_birth": "2026-11-28"}, {"sample_time": "2026-11-27T09:30:00Z"}),
    ("t", {}, {"test_type": "pcr"}),                                             # PCR names no device
    ("t", {}, {"test_type": "rapid", "test_device": ""}),                        # RAT needs one
    ("r", {"date_of_birth": "2026-11-20"}, {}),                                  # born after the first positive
    ("r", {}, {"valid_from": "2026-11-26", "valid_until": "2026-11-25"}),        # until before from
]


def _hand_written_messages() -> list[str]:
    out: list[str] = []
    for type_ in ("v", "t", "r"):
        for key, value in PERSON_CASES + EVENT_CASES[type_]:
            out += _refused_messages(_changed(type_, key, value), type_)
    for type_, person, event in COMBINED:
        data = example_input(type_, now=NOW)
        data.update(person)
        data[SECTION[type_]].update(event)
        out += _refused_messages(data, type_)
    # the input's structure
    v = example_input("v", now=NOW)
    out += _refused_messages([], "v")
    out += _refused_messages({**v, "test": {}}, "v")
    out += _refused_messages({**v, "nickname": "x"}, "v")
    out += _refused_messages({k: x for k, x in v.items() if k != "vaccination"}, "v")
    out += _refused_messages({**v, "vaccination": [1]}, "v")
    out += _refused_messages(v, "x")
    return out


def _valid_dcc(type_: str) -> dict:
    req = form.parse_input(example_input(type_, now=NOW), type=type_, device=DEVICE, now=NOW)
    return payload.build_dcc(req, uvci="URN:UVCI:01:DE:DEMO1/ABC#X", schema_version="1.3.0")


def _dcc_mutations():
    def drop(key):
        return lambda d: d.pop(key)

    def entry(type_, key, value):
        def change(d):
            if value is DELETE:
                d[type_][0].pop(key)
            else:
                d[type_][0][key] = value
        return change

    yield "v", drop("ver")
    yield "v", lambda d: d.update(t=[{}])
    yield "v", lambda d: d.update(nam={"fn": "X"})
    yield "v", lambda d: d["nam"].update(fnt="mueller")
    yield "v", lambda d: d.update(dob="abc")
    yield "v", lambda d: d.update(v=[])
    yield "v", lambda d: d.update(v=d["v"] * 2)
    yield "v", entry("v", "dn", 0)
    yield "v", entry("v", "dn", "1")
    yield "v", entry("v", "sd", 4)                      # 3/4 (the example is 3/3)
    yield "v", entry("v", "dt", "2026-13-01")
    yield "v", entry("v", "dt", "2019-01-01")
    yield "v", entry("v", "mp", "X")
    yield "v", entry("v", "vp", "X")
    yield "v", entry("v", "co", "XX")
    yield "v", entry("v", "is", "x" * 81)
    yield "t", entry("t", "sc", "yesterday")
    yield "t", entry("t", "sc", "2026-11-29T10:00:00Z")
    yield "t", entry("t", "ma", "99999")
    yield "t", entry("t", "tr", payload.DETECTED)
    yield "t", entry("t", "tt", payload.NAAT)
    yield "t", entry("t", "ma", DELETE)
    yield "r", entry("r", "fr", "2019-01-01")
    yield "r", entry("r", "df", "2026-10-30")
    yield "r", entry("r", "du", "2028-01-01")
    yield "r", entry("r", "du", "2026-11-01")


def _dcc_messages() -> list[str]:
    out: list[str] = []
    for type_, mutate in _dcc_mutations():
        dcc = _valid_dcc(type_)
        mutate(dcc)
        with pytest.raises(InvalidInput) as info:
            payload.validate_dcc(dcc, now=NOW)
        out += _messages(info.value)
    for garbage in ({}, [], {"ver": 1, "nam": [], "dob": None}):
        with pytest.raises(InvalidInput) as info:
            payload.validate_dcc(garbage, now=NOW)
        out += _messages(info.value)
    return out


def _other_messages() -> list[str]:
    """Messages of the helper modules that the form does not reach on its own."""
    out: list[str] = list(ISSUE_MESSAGES)
    calls = [
        lambda: names.transliterate("ß" * 41), lambda: names.transliterate("µ"), lambda: names.transliterate("A1"),
        lambda: names.transliterate("Ωmega"), lambda: names.transliterate("ʃ"),
        lambda: names.check_standardised(5), lambda: names.check_standardised("a b"),
        lambda: names.check_standardised("A" * 81),
        lambda: uvci.make_uvci(country="D", issuer="a-b", opaque="x y"),
        lambda: uvci.make_uvci(country="DE", issuer="A" * 50, opaque="B"), lambda: uvci.checksum("é"),
        lambda: uvci.opaque_for("device", -1), lambda: valuesets.load().vaccine_encoding("X"),
    ]
    req_t = form.parse_input(example_input("t", now=NOW), type="t", device=DEVICE, now=NOW)
    req_r = form.parse_input(example_input("r", now=NOW), type="r", device=DEVICE, now=NOW)
    later = NOW.replace(year=2028)
    calls += [lambda: payload.expiry(req_t, iat=later, issue=IssueSection()),
              lambda: payload.expiry(req_r, iat=later, issue=IssueSection()),
              lambda: payload.build_dcc(form.IssueRequest(type="x", person=req_t.person, event=req_t.event),
                                        uvci="U", schema_version="1.3.0")]
    for call in calls:
        with pytest.raises(InvalidInput) as info:
            call()
        out += _messages(info.value)
    return out


#: every centre field twice wrong where it can be: a value that is no whole number, and one that fails the check
CENTRE_WRONG_TYPE = {key: "zwölf" for key, (typ, _, _) in app_settings.CENTRE_FIELDS.items() if typ is int}
CENTRE_FAILING = {
    "name": "x" * 81, "issuer": "x" * 81, "uvci_issuer": "demo-1", "country": "deu", "default_product": "x" * 41,
    "default_test_type": "x" * 41, "default_test_device": "x" * 41, "test_centre": "x" * 81,
    "timezone": "Mars/Olympus_Mons", "validity_days_v": 0, "validity_hours_t": 169, "validity_days_r": 366,
    "retention_days": 91,
}


def _settings_messages(state_dir) -> list[str]:
    """Every message of appliance.settings (the admin pages), produced by the Settings API itself."""
    store = app_settings.Settings.open(state_dir)
    store.add_user("anna", password="correct horse", role="staff")
    calls = [
        lambda: store.add_user("-bad name", password="short", role="root", language="fr"),
        lambda: store.add_user("x" * 41, password="correct horse", role="staff"),
        lambda: store.add_user(5, password=None, role=None, language=None),
        lambda: store.add_user("anna", password="correct horse", role="admin"),   # exists already
        lambda: store.set_password("anna", "1234567"), lambda: store.set_password("nobody", "correct horse"),
        lambda: store.set_language("anna", "fr"), lambda: store.set_language("nobody", "en"),
        lambda: store.set_role("anna", "root"), lambda: store.set_role("nobody", "admin"),
        lambda: store.set_active("nobody", False),
        lambda: store.update_centre(**CENTRE_WRONG_TYPE), lambda: store.update_centre(**CENTRE_FAILING),
        lambda: store.update_centre(colour="blue", name="ok"),
        lambda: store.update_devices(printer={"kind": "fax", "port": "eighty", "paper_width_mm": 5.5,
                                              "colour": "red"},
                                     gpio={"green": "x", "button": [], "laser": 1}),
        lambda: store.update_devices(printer={"kind": "network"}, gpio={"red": "17", "enabled": "yes"}),  # fine
    ]
    out: list[str] = []
    fields: set[str] = set()
    for call in calls[:-1]:
        with pytest.raises(InvalidInput) as info:
            call()
        out += _messages(info.value)
        fields.update(info.value.field_errors)
    calls[-1]()
    store.close()
    # each centre field, each account field and the bad device keys gave a message
    assert set(app_settings.CENTRE_FIELDS) | {"name", "role", "password", "language", "colour"} <= fields
    assert {"printer.kind", "printer.port", "printer.paper_width_mm", "printer.colour", "gpio.green",
            "gpio.button", "gpio.laser"} <= fields
    return out


#: English messages the generators above cannot reach (schema rules the form already prevents),
#: so that every template of the table is checked at least once
UNREACHED = [
    "keep the note to 200 characters", "pick one of this device's test centres: TC-1, TC-2",
    "this device has no test centres configured ([device] centres); leave it empty",
    "has v and t; a certificate holds exactly one of v, t or r",
    "exactly one of v, t or r is required, together with ver, nam and dob",
    "is shorter than 1 characters", "must have at most 1 item(s)", "must have at least 1 item(s)",
    "must be at most 9", "fails the schema rule 'const'", "is not a valid date-time (RFC 3339)",
    "is not a valid date (YYYY-MM-DD)", ("is not a possible date and time, ISO 8601 with time zone, "
                                          "e.g. 2026-11-28T09:30:00+01:00"), "at least one of fnt or gnt is required",
    "sequence number must be an integer from 0 to 78364164095",
]


@pytest.fixture(scope="module")
def settings_messages(tmp_path_factory) -> list[str]:
    return sorted(set(_settings_messages(tmp_path_factory.mktemp("state"))))


@pytest.fixture(scope="module")
def produced(settings_messages) -> list[str]:
    return sorted(set(_hand_written_messages() + _dcc_messages() + _other_messages() + settings_messages))


def test_every_produced_message_has_a_german_text(produced):
    assert len(produced) > 60
    for message in produced:
        _assert_german(message)


def test_every_template_is_used_and_checked(produced):
    """No dead rows in the table: each template translates a real (or listed) message."""
    for message in UNREACHED:
        _assert_german(message)
    pieces = set(produced + UNREACHED)
    for message in list(pieces):
        pieces.update(message.split("; "))
    unused = [TEMPLATES[i][0] for i, (pattern, _) in enumerate(_COMPILED)
              if not any(pattern.fullmatch(m) for m in pieces)]
    assert unused == []


def test_every_settings_message_has_a_german_text(settings_messages):
    """The admin pages (accounts, centre profile, printer and GPIO) show appliance.settings' messages."""
    assert len(settings_messages) >= 20
    for message in settings_messages:
        _assert_german(message)
    german = {translate(m, "de") for m in settings_messages}
    assert {"muss mindestens 8 Zeichen lang sein", "muss Personal oder Administrator sein",
            "dieses Konto gibt es nicht", "ist keine Einstellung des Zentrums", "ist keine bekannte Einstellung",
            "muss eine ganze Zahl sein", "muss eine ganze Zahl sein (1 bis 168 Stunden)",
            "muss 1 bis 730 Tage betragen", "darf höchstens 80 Zeichen lang sein",
            "muss aus zwei Großbuchstaben bestehen, z. B. DE", "muss eine Zeitzone sein, z. B. Europe/Berlin",
            "muss file, network, usb, serial oder device sein"} <= german


def test_values_inside_messages_are_kept_and_dates_read_german():
    assert translate("3/2 is not a valid dose numbering for this product; use one of 1/2, 2/2", "de") == \
        "3/2 ist für diesen Impfstoff keine gültige Dosisangabe; möglich sind 1/2, 2/2"
    assert translate("must be at least 11 days after the first positive test (2026-11-09 or later)", "de") == \
        "muss mindestens 11 Tage nach dem ersten positiven Test liegen (ab 09.11.2026)"
    assert translate("is longer than 80 characters", "de") == "ist länger als 80 Zeichen"
    # several messages of one field (validate_dcc joins them with "; ")
    assert translate("is not a code of the value set country-2-codes; is before 1900; check the year", "de") == \
        "ist kein Code der Werteliste country-2-codes; darf nicht vor 1900 liegen; bitte das Jahr prüfen"
    # an unknown message stays readable rather than disappearing
    assert translate("something new", "de") == "something new"
    assert translate("is required", "en") == "is required"


# ---------------------------------------------------------------- JSON-like garbage per field

_keys = st.text(alphabet="abcxyz_", min_size=1, max_size=6)
GARBAGE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=90)
    | st.sampled_from(["", " ", "2026-11-28", "2026-11-28T09:30", "1/2", "EU/1/20/1528", "pcr", "rapid",
                       "positive", "DE", "1232", "1065", "0001-01-01T00:30+01:00", "9999-12-31"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=6,
)
FIELDS = [(t, k) for t in ("v", "t", "r") for k in form.PERSON_KEYS + form.EVENT_KEYS[t] + ("_section",)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=GARBAGE, more=st.lists(st.tuples(st.sampled_from(FIELDS), GARBAGE),
                                                                   max_size=2))
def test_garbage_in_any_field_gives_german_messages(field, value, more):
    type_ = field[0]
    data = example_input(type_, now=NOW)
    for (t, key), v in [(field, value)] + [(f, v) for f, v in more if f[0] == type_]:
        if key == "_section":
            data[SECTION[t]] = copy.deepcopy(v)
        elif key in form.PERSON_KEYS:
            data[key] = v
        elif isinstance(data.get(SECTION[t]), dict):
            data[SECTION[t]][key] = v
    for message in _parse_messages(data, type_):
        _assert_german(message)


# ---------------------------------------------------------------- on the tablet

BAD_V = {"family_name": "Müller", "given_name": "Jürgen", "date_of_birth": "1980-05-17",
         "product": "EU/1/20/1528", "dose": "3/2", "date": "2026-02-30", "country": "DE", "issuer": "Impfzentrum Test"}


def _error(page: str, field: str) -> str:
    m = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert m, f"no message beside {field}"
    return html.unescape(m.group(1))


def _kept(page: str, field: str) -> str:
    m = re.search(rf'<input id="{field}" name="{field}"[^>]*value="([^"]*)"', page)
    assert m, field
    return html.unescape(m.group(1))


def test_german_form_shows_german_messages_beside_the_fields_and_keeps_the_values(staff, devices):
    resp = staff.post("/issue/v/review", BAD_V)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _error(page, "date") == "Impfdatum: muss ein gültiges Datum sein (JJJJ-MM-TT), z. B. 2026-11-27"
    assert _error(page, "dose").startswith("Dosis: 3/2 ist für diesen Impfstoff keine gültige Dosisangabe")
    for field in ("family_name", "given_name", "date_of_birth", "date", "issuer"):
        assert _kept(page, field) == BAD_V[field]
    assert re.search(r'<option value="3/2" selected>', page)
    assert "must" not in page and "is not a valid" not in page
    assert devices.journal.search(None, limit=10) == []


def test_english_form_shows_the_english_messages(staff):
    staff.get("/issue/v?lang=en")
    resp = staff.post("/issue/v/review", {**BAD_V, "date_of_birth": "2027-01-01"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _error(page, "date") == "Date of vaccination: must be a real date written YYYY-MM-DD, e.g. 2026-11-27"
    assert _error(page, "date_of_birth") == "Date of birth: is in the future; check the year"
    assert _error(page, "dose").startswith("Dose: 3/2 is not a valid dose numbering for this product")
    assert _kept(page, "date_of_birth") == "2027-01-01" and _kept(page, "family_name") == "Müller"
