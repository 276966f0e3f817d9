"""Field messages in the user's language, through the catalogue: every message the pipeline produces
for bad input is a message id with parameters (appliance.messages.Msg) with a German and an English
text in appliance/translations/*/LC_MESSAGES/pipeline.po; the tablet shows it beside the field in the
user's language, keeping the entered values. (These tests replaced the regular expressions of the
former appliance.web.field_messages, which reverse-parsed English.)"""

from __future__ import annotations

import copy
import html
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance import messages
from appliance.dcc import form, names, payload, uvci, valuesets
from appliance import settings as app_settings
from appliance.config import DeviceSection, IssueSection
from appliance.errors import InvalidInput
from appliance.messages import Msg, render
from appliance.dcc.samples import example_input
from tests.support.clock import NOW

DEVICE = DeviceSection()
#: English words that must not survive in a German message
ENGLISH = ("must", "required", "should", "is", "check", "cannot", "the", "enter", "give", "use", "allowed",
           "characters", "needs", "contains", "before", "after", "future", "past", "only", "not")
SECTION = form.SECTIONS
DELETE = object()
PLACEHOLDER = re.compile(r"%\((\w+)\)s")

#: messages of appliance.issue (revocation), reached through the records page
ISSUE_MESSAGES = [Msg("revoke.reason"), Msg("revoke.unknown"), Msg("revoke.already"), Msg("revoke.note_too_long")]


def _ids(message: Msg) -> set[str]:
    """The message's id and the ids of the messages inside its parameters."""
    out = {message.id}
    for value in message.params.values():
        if isinstance(value, Msg):
            out |= _ids(value)
    return out


def _assert_german(message: str) -> None:
    assert isinstance(message, Msg), f"{message!r} has no message id"
    german = render(message, "de")
    assert german != str(message) or message.id == "list.two", f"no German text for {message!r}"
    lower = german.lower()
    # the codes and keys in a message stay as they are ("date-time", "family_name"), so look at words only
    words = re.sub(r"'[^']*'|„[^“]*“|\b[\w-]*[_-][\w-]*\b|\([^)]*rfc[^)]*\)", "", lower)
    assert not [w for w in ENGLISH if re.search(rf"\b{w}\b", words)], f"{message!r} -> {german!r}"
    assert render(message, "en") == str(message)


def _messages(exc: InvalidInput) -> list[str]:
    return list(exc.field_errors.values())


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
    ("date_of_birth", DELETE), ("date_of_birth", "31.13.1980"), ("date_of_birth", "1980-13-01"),
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
    yield "v", lambda d: d["nam"].update(fnt="SCHMIDT", gnt="PETRA")     # standardised names of another person
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


def _settings_messages(state_dir) -> list[Msg]:
    """Every message of appliance.settings (the admin pages), produced by the Settings API itself."""
    store = app_settings.Settings.open(state_dir)
    blocker = state_dir / "a-file"
    blocker.write_text("in the way of a receipts folder")
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
        lambda: store.update_devices(printer={"kind": "fax"}),
        lambda: store.update_devices(printer={"kind": "network", "host": "-bad host-", "port": 70000}),
        lambda: store.update_devices(printer={"kind": "network"}),
        lambda: store.update_devices(printer={"kind": "serial", "path": "lp0"}),
        lambda: store.update_devices(printer={"kind": "file", "path": "receipts"}),
        lambda: store.update_devices(printer={"kind": "usb"}),
        lambda: store.update_devices(printer={"kind": "file", "path": str(blocker)}),
        lambda: store.update_devices(printer={"kind": "network", "host": "192.168.1.50"},
                                     gpio={"red": "17", "enabled": "yes"}),  # fine
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


#: messages the generators above cannot reach (schema rules the form already prevents, the centre
#: list of another device), so that every id of the catalogue is checked at least once
UNREACHED = [
    Msg("centre.pick", ids="TC-1, TC-2"), Msg("centre.none"), Msg("schema.groups", groups=["v", "t"]),
    Msg("schema.one_group"), Msg("input.too_short", n=1), Msg("schema.max_items", n=1),
    Msg("schema.min_items", n=1), Msg("schema.maximum", n=9), Msg("schema.rule", rule="'const'"),
    Msg("schema.format", format="date-time"), Msg("schema.date"),
    Msg("time.impossible", hint=Msg("hint.sample_time")), Msg("schema.fnt_or_gnt"), Msg("uvci.sequence", max=78364164095),
    Msg("input.invalid"), Msg("script.other", name="Runic"), Msg("schema.type", type="string"),
    Msg("schema.minimum", n=1), Msg("schema.pattern", pattern="^[A-Z<]*$"),
    Msg("printer.folder_not_writable"),  # the tests may run as root, who may write anywhere
    Msg("health.other"),  # the status page's fallback for a health problem without id (templates: msg(p, ...))
    *(Msg(i) for i in messages.pipeline_ids() if i.startswith("script.") and i != "script.other"),
]


@pytest.fixture(scope="module")
def settings_messages(tmp_path_factory) -> list[str]:
    return list({(m.id, repr(m)): m for m in _settings_messages(tmp_path_factory.mktemp("state"))}.values())


@pytest.fixture(scope="module")
def produced(settings_messages) -> list[str]:
    every = _hand_written_messages() + _dcc_messages() + _other_messages() + settings_messages
    return list({repr(m): m for m in every}.values())


def test_every_produced_message_is_an_id_with_a_german_text(produced):
    assert len(produced) > 60
    for message in produced:
        _assert_german(message)


def test_every_catalogue_id_is_used_and_both_languages_have_it(produced):
    """No dead entries: each pipeline id is produced by the code (or listed as unreachable), and
    de and en have the same ids with the same placeholders."""
    for message in UNREACHED:
        _assert_german(message)
    used = set().union(*(_ids(m) for m in list(produced) + UNREACHED))
    ids = set(messages.pipeline_ids())
    # ids written in the code (engineers add raise sites all the time): each one is in the catalogue,
    # and each catalogue id is produced above or at least written somewhere in the code
    written = set()
    for path in Path(messages.__file__).parent.rglob("*.py"):
        written |= set(re.findall(r'Msg\(\s*"([\w.]+)"', path.read_text(encoding="utf-8")))
    assert sorted(written - ids) == []
    assert sorted(ids - used - written) == []
    assert sorted(used - ids) == []
    de = messages.texts(messages.PIPELINE_DIR, messages.PIPELINE, "de")
    en = messages.texts(messages.PIPELINE_DIR, messages.PIPELINE, "en")
    assert set(de) == set(en) == ids
    for msgid in ids:
        assert set(PLACEHOLDER.findall(de[msgid])) == set(PLACEHOLDER.findall(en[msgid])), msgid


def test_every_settings_message_has_a_german_text(settings_messages):
    """The admin pages (accounts, centre profile, printer and GPIO) show appliance.settings' messages."""
    assert len(settings_messages) >= 15
    for message in settings_messages:
        _assert_german(message)
    german = {render(m, "de") for m in settings_messages}
    assert {"muss mindestens 8 Zeichen lang sein", "muss Personal oder Administrator sein",
            "dieses Konto gibt es nicht", "ist keine Einstellung des Zentrums", "ist keine bekannte Einstellung",
            "muss eine ganze Zahl sein", "muss eine ganze Zahl sein (1 bis 168 Stunden)",
            "ist ungültig; erlaubt: 1 bis 730 Tage", "ist ungültig; erlaubt: höchstens 80 Zeichen",
            "ist ungültig; erlaubt: zwei Großbuchstaben, z. B. DE",
            "ist ungültig; erlaubt: eine Zeitzone wie Europe/Berlin"} <= german


def test_values_inside_messages_are_kept_and_dates_read_german():
    dose = Msg("dose.invalid", dose="3/2", allowed="1/2, 2/2")
    assert str(dose) == "3/2 is not a valid dose numbering for this product; use one of 1/2, 2/2"
    assert render(dose, "de") == "3/2 ist für diesen Impfstoff keine gültige Dosisangabe; möglich sind 1/2, 2/2"
    early = Msg("recovery.from_too_early", days=11, date=date(2026, 11, 9))
    assert str(early) == "must be at least 11 days after the first positive test (2026-11-09 or later)"
    assert render(early, "de") == "muss mindestens 11 Tage nach dem ersten positiven Test liegen (ab 09.11.2026)"
    assert render(Msg("input.too_long", n=80), "de") == "ist länger als 80 Zeichen"
    # several messages of one field (validate_dcc joins them): each in the reader's language
    both = messages.join(Msg("schema.valueset", name="country-2-codes"), Msg("dob.before", year=1900))
    assert str(both) == "is not a code of the value set country-2-codes; is before 1900; check the year"
    assert render(both, "de") == "ist kein Code der Werteliste country-2-codes; liegt vor 1900; bitte das Jahr prüfen"
    # a text without an id never reaches a German screen as English
    assert render("something new", "de") == render(Msg("input.invalid"), "de")
    assert render("something new", "en") == "something new"


def test_a_message_pickles_and_reads_as_its_english_text():
    import pickle

    m = Msg("code.required", hint=Msg("hint.product"))
    back = pickle.loads(pickle.dumps(m))
    assert back == m and back.id == "code.required" and render(back, "de") == render(m, "de")
    assert InvalidInput({"x": m}).rendered("de") == {"x": render(m, "de")}
    assert str(InvalidInput({"x": m})) == f"x: {m}"


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
    assert _error(page, "date") == "Impfdatum: muss ein gültiges Datum sein, z. B. 27.11.2026"
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


# ---------------------------------------------------------------- the tablet's catalogue

def test_the_tablet_catalogues_have_the_same_keys_and_placeholders_in_both_languages():
    from appliance.web import i18n

    de = messages.texts(i18n.DIRECTORY, i18n.DOMAIN_NAME, "de")
    en = messages.texts(i18n.DIRECTORY, i18n.DOMAIN_NAME, "en")
    assert len(de) > 200 and set(de) == set(en)
    for key in de:
        assert set(PLACEHOLDER.findall(de[key])) == set(PLACEHOLDER.findall(en[key])), key


def test_flask_babel_serves_the_catalogue_in_the_request_language(app):
    import flask_babel
    from flask import g

    from appliance.web import i18n

    with app.test_request_context("/"):
        g.lang = "en"
        assert flask_babel.gettext("sign_in") == "Sign in" == i18n.translate("sign_in", "en")
        assert str(flask_babel.get_locale()) == "en"
        g.lang = "de"
        assert flask_babel.gettext("login_locked", seconds=30).startswith("Zu viele Fehlversuche")
    assert i18n.translate("no_such_key", "de") == "no_such_key"
