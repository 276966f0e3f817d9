"""Every visible text of the tablet comes from a catalogue: a crawl in a pseudo-locale.

The pseudo-locale ``xx`` exists only in this test: its catalogues are generated here from the
``en`` ones (the tablet's ``messages`` domain with the pending texts, and the ``pipeline`` domain
of the field messages), each text wrapped in ``⟦…⟧``, and held in memory
(:func:`appliance.messages.install`); ``APPLIANCE_LANGUAGES`` lets the app pick it. A signed-in
client visits every page and provokes every pipeline message it can through the forms, and each
page's visible text is checked.

The rule for a visible text node (text outside ``script``/``style``/``template``/``[hidden]``, plus
the ``title``, ``placeholder``, ``alt`` and ``aria-label`` attributes): remove every ``⟦…⟧``
segment; what remains may hold no letters at all (numbers, dates, punctuation, ``✓``), and any
words left must be data: inside an element with a ``data-value`` attribute or a ``code``/``time``
element, or words of the values this test typed, of the device's configuration (centre, issuer,
accounts), of UVCIs, or of the value sets' display names (reference data, not UI text). So
English left in a template, an exception text or a check name fails the test.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from urllib.parse import quote, unquote

import pytest

from appliance import messages
from appliance.dcc import doses, names, valuesets
from appliance.web import i18n
from tests.support.web import ADMIN, FORMS, STAFF, review_token

LANG = "xx"
OPEN, CLOSE = "⟦", "⟧"
SKIP = {"script", "style", "template", "noscript"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
ATTRS = ("title", "placeholder", "alt", "aria-label")
DATA_TAGS = {"code", "time", "kbd", "samp"}
#: technical abbreviations that read the same in every language (time zone, units, the standards staff see)
TECHNICAL = ("UTC", "MB", "NTP", "RTC", "kid", "HC1", "UVCI", "URN", "QR", "DE", "EN", "PCR", "COSE")


def _wrap(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


@pytest.fixture
def pseudo(app):
    ui = messages.texts(i18n.DIRECTORY, i18n.DOMAIN_NAME, "en")
    pipeline = messages.texts(messages.PIPELINE_DIR, messages.PIPELINE, "en")
    messages.install(i18n.DIRECTORY, i18n.DOMAIN_NAME, LANG, {k: _wrap(v) for k, v in ui.items()})
    messages.install(messages.PIPELINE_DIR, messages.PIPELINE, LANG, {k: _wrap(v) for k, v in pipeline.items()})
    app.config["APPLIANCE_LANGUAGES"] = (*i18n.LANGUAGES, LANG)
    yield
    messages.uninstall(i18n.DIRECTORY, i18n.DOMAIN_NAME, LANG)
    messages.uninstall(messages.PIPELINE_DIR, messages.PIPELINE, LANG)


class _Texts(HTMLParser):
    """The visible text nodes of a page: (text, exempt as data)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool]] = []   # (tag, hidden, data)
        self.out: list[tuple[str, bool]] = []

    def _state(self) -> tuple[bool, bool]:
        return (any(h for _, h, _ in self.stack), any(d for _, _, d in self.stack))

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        hidden, data = self._state()
        hidden = hidden or tag in SKIP or "hidden" in a or (tag == "input" and a.get("type") == "hidden")
        data = data or "data-value" in a or tag in DATA_TAGS or (tag != "html" and "lang" in a)
        if not hidden:
            self.out += [(a[k], data) for k in ATTRS if a.get(k)]
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                self.out.append((a["value"], data))
        if tag not in VOID:
            self.stack.append((tag, hidden, data))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, text):
        hidden, data = self._state()
        if text.strip() and not hidden:
            self.out.append((text, data))


def _unwrapped(text: str) -> str:
    """``text`` without its ``⟦…⟧`` segments (nested ones inside)."""
    out, depth = [], 0
    for ch in text:
        if ch == OPEN:
            depth += 1
        elif ch == CLOSE and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _words(text: str) -> set[str]:
    """The words of ``text``; a token with a digit in it is a code (UVCI, HC1, kid, EU/1/20/1528), not words."""
    tokens = [t for t in text.split() if not any(ch.isdigit() for ch in t)]
    return {w.casefold() for t in tokens for w in re.findall(r"[^\W\d_]+", t)}


class Crawl:
    def __init__(self, client, known: set[str]):
        self.client, self.known = client, known
        self.problems: dict[str, list[str]] = {}
        self.pages = 0

    def check(self, label: str, resp) -> str:
        page = resp.get_data(as_text=True)
        assert resp.status_code < 500, (label, resp.status_code)
        if "text/html" not in resp.content_type or 300 <= resp.status_code < 400:  # a redirect's body is never shown
            return page
        self.pages += 1
        parser = _Texts()
        parser.feed(page)
        for text, data in parser.out:
            left = _unwrapped(text)
            stray = _words(left) - self.known
            if stray and not data:
                self.problems.setdefault(" ".join(left.split())[:120], []).append(label)
        return page

    def get(self, label, url):
        return self.check(label, self.client.get(url))

    def post(self, label, url, data, **kw):
        for value in data.values():              # what was typed shows again (kept values, the pasted code)
            self.known |= _words(str(value))
        resp = self.client.post(url, data, **kw)
        self.check(label, resp)
        if resp.status_code in (302, 303) and resp.location:
            self.check(label + " (after redirect)", self.client.get(resp.location))
        return resp


def _known_words(devices) -> set[str]:
    cfg = devices.config
    known: set[str] = set()
    for form in FORMS.values():
        for value in form.values():
            known |= _words(str(value))
        for key in ("family_name", "given_name"):
            known |= _words(names.transliterate(form[key]))
    for value in (ADMIN[0], STAFF[0], cfg.device.issuer, cfg.device.country, cfg.device.uvci_issuer,
                  *cfg.device.centre_map(), *cfg.device.centre_map().values(), *TECHNICAL):
        known |= _words(str(value))
    for option in (o for mp in ("EU/1/20/1528", "EU/1/20/1525") for o in doses.options(mp)):  # see NOTE below
        known |= _words(option.meaning_en) | _words(option.meaning_de)
    known |= _words(base64.b64encode(devices.signer.kid).decode())   # the status page's kid
    vs = valuesets.load()
    for name in vs.names:
        for code in vs.codes(name):
            for lang in ("en", "de", LANG):
                known |= _words(vs.display(name, code, lang))
    return known


#: a name in each script the transliteration refuses (appliance.dcc.names); runes are none of the known ones
SCRIPTS = ["Ελένη", "محمد", "Արամ", "বাংলা", "王", "ኢትዮ", "გიორგი", "한국", "דוד", "ひらがな", "カタカナ", "ไทย", "ᚱᚢᚾ", "ʃ"]
#: form changes that provoke pipeline messages through the issue forms: (type, changes)
BAD_FORMS = [
    ("v", {"family_name": ""}), ("v", {"family_name": "Müll3r"}), ("v", {"family_name": "Иванов"}),
    ("v", {"family_name": "A\u200bB"}), ("v", {"family_name": "x" * 81}), ("v", {"family_name": "ß" * 41}),
    ("v", {"family_name": "---"}), ("v", {"family_name": "µ"}),
    ("v", {"family_name_standardised": "mueller!"}), ("v", {"given_name_standardised": "A" * 81}),
    ("v", {"date_of_birth": ""}), ("v", {"date_of_birth": "1980-13-45"}), ("v", {"date_of_birth": "1899-12-31"}),
    ("v", {"date_of_birth": "2027-01-01"}), ("v", {"date_of_birth": "2026-11-28"}),
    ("v", {"product": ""}), ("v", {"product": "Comirnaty"}), ("v", {"product": "VLA2001"}),
    ("v", {"dose": ""}), ("v", {"dose": "0/2"}), ("v", {"dose": "3/2"}), ("v", {"dose": "100/100"}),
    ("v", {"date": ""}), ("v", {"date": "2026-02-30"}), ("v", {"date": "2026-12-25"}), ("v", {"date": "2019-01-01"}),
    ("v", {"country": "XX"}), ("v", {"issuer": " "}),
    ("t", {"test_type": "antibody"}), ("t", {"test_type": ""}), ("t", {"test_device": "99999"}),
    ("t", {"test_device": "1065"}), ("t", {"test_device": ""}), ("t", {"test_type": "LP6464-4"}),
    ("t", {"sample_time": ""}), ("t", {"sample_time": "yesterday"}), ("t", {"sample_time": "2026-11-29T09:30"}),
    ("t", {"sample_time": "2019-06-01T10:00"}), ("t", {"sample_time": "2026-11-20T09:30"}),
    ("t", {"result": "260373001"}), ("t", {"result": "maybe"}), ("t", {"result": ""}), ("t", {"centre": "NOPE"}),
    ("t", {"date_of_birth": "2026-11-28"}),
    ("r", {"first_positive": ""}), ("r", {"first_positive": "2027-01-01"}), ("r", {"first_positive": "2019-05-05"}),
    ("r", {"valid_from": "2026-11-11"}), ("r", {"valid_until": "2027-12-31"}), ("r", {"valid_until": "2026-11-20"}),
    ("r", {"valid_from": "2026-11-26", "valid_until": "2026-11-25"}), ("r", {"date_of_birth": "2026-11-20"}),
    ("r", {"valid_until": "2026-11-25"}), ("t", {"test_type": "LP6464-4", "test_device": "1232"}),
    *(("v", {"family_name": name}) for name in SCRIPTS),
]
ADMIN_POSTS = [
    ("/admin/users", {"name": "-bad name", "password": "short", "role": "root", "language": "fr"}),
    ("/admin/users", {"name": "staff", "password": "long enough 1", "role": "staff", "language": "de"}),
    ("/admin/centre", {"name": "x" * 81, "uvci_issuer": "demo-1", "country": "deu", "timezone": "Mars/Olympus",
                       "validity_days_v": "zwölf", "validity_hours_t": "999", "retention_days": "0"}),
    ("/admin/printer", {"kind": "fax"}),
    ("/admin/printer", {"kind": "network", "host": "-bad-", "port": "70000"}),
    ("/admin/printer", {"kind": "network", "host": "", "port": "9100"}),
    ("/admin/printer", {"kind": "serial", "path": "lp0"}),
    ("/admin/printer", {"kind": "file", "path": "receipts"}),
    ("/admin/printer", {"kind": "usb"}),
    ("/admin/printer", {"kind": "network", "host": "printer.local", "port": "eighty"}),
    ("/admin/printer", {"kind": "file", "path": "/etc/hostname", "paper_width_mm": "60"}),
    ("/admin/centre", {"issuer": "x" * 81, "default_product": "x" * 41, "default_test_type": "x" * 41,
                       "default_test_device": "x" * 41}),
    ("/admin/users/nobody", {"action": "password", "password": "long enough 1"}),
]



def _shown_ids(monkeypatch) -> set[str]:
    shown: set[str] = set()
    real = messages.render_id

    def recording(msgid, params, lang):
        if lang == LANG:
            shown.add(msgid)
        return real(msgid, params, lang)

    monkeypatch.setattr(messages, "render_id", recording)
    return shown


def test_every_page_and_every_error_shows_only_catalogue_text(pseudo, browser, devices, monkeypatch, capsys):
    shown = _shown_ids(monkeypatch)
    crawl = Crawl(browser, _known_words(devices))
    crawl.get("login", f"/login?lang={LANG}")
    crawl.post("login failed", "/login", {"username": "staff", "password": "wrong"})
    browser.login(*ADMIN)
    crawl.get("home", f"/?lang={LANG}")
    crawl.get("choose", "/issue/")
    uvcis = {}
    for type_, form in FORMS.items():
        crawl.get(f"form {type_}", f"/issue/{type_}")
        review = crawl.post(f"review {type_}", f"/issue/{type_}/review", form)
        token = review_token(review.get_data(as_text=True) if review.status_code == 200 else
                             browser.get(review.location).get_data(as_text=True))
        done = crawl.post(f"issue {type_}", f"/issue/{type_}/confirm", {**form, "token": token, "action": "issue"})
        assert done.status_code == 303 and "/result/" in done.location, (type_, done.status_code, done.location)
        uvcis[type_] = unquote(done.location.rsplit("/result/", 1)[-1])
    for type_, change in BAD_FORMS:
        crawl.post(f"bad {type_} {change}", f"/issue/{type_}/review", {**FORMS[type_], **change})
    uvci = uvcis["v"]
    crawl.get("records", "/records")
    crawl.get("records search", "/records?q=mueller&days=30")
    crawl.get("record", f"/records/{quote(uvci)}")
    crawl.get("result", f"/result/{quote(uvci)}")
    crawl.get("correct", f"/records/{quote(uvci)}/correct")
    crawl.post("print", f"/print/{quote(uvci)}", {"back": "records"})
    crawl.post("revoke without confirm", f"/records/{quote(uvci)}/revoke", {"reason": "wrong person"})
    crawl.post("revoke without reason", f"/records/{quote(uvci)}/revoke", {"reason": "", "confirm": "1"})
    crawl.post("revoke", f"/records/{quote(uvci)}/revoke", {"reason": "wrong person", "confirm": "1"})
    crawl.post("revoke again", f"/records/{quote(uvci)}/revoke", {"reason": "wrong person", "confirm": "1"})
    crawl.post("revoke unknown", f"/records/{quote('URN:UVCI:01:DE:NOPE/1#X')}/revoke",
               {"reason": "x", "confirm": "1"})
    crawl.get("revoked record", f"/records/{quote(uvci)}")
    for issued in uvcis.values():
        crawl.known |= _words(issued) | _words(devices.journal.certificate(issued).personal["hc1"])
    crawl.get("revoked result", f"/result/{quote(uvci)}")
    hc1 = devices.journal.certificate(uvcis["t"]).personal["hc1"]
    crawl.get("verify", "/verify")
    for label, text in [("good", hc1), ("revoked", devices.journal.certificate(uvci).personal["hc1"]),
                        ("garbage", "hello"), ("bad base45", "HC1:%%%"), ("bad zlib", "HC1:6BFOXN*TS0BI$ZDFRH"),
                        ("truncated", hc1[:-20]), ("empty", "")]:
        crawl.post(f"verify {label}", "/verify", {"hc1": text})
    crawl.get("status", "/status")
    crawl.get("admin", "/admin/")
    crawl.get("reference", "/admin/reference")
    crawl.get("batch", "/admin/batch/")
    for url, data in ADMIN_POSTS:
        crawl.post(f"admin {url} {sorted(data)}", url, data)
    crawl.get("404", "/no-such-page")
    crawl.post("CSRF", "/admin/centre", {"name": "x"}, )
    browser.client.post("/logout", data={"csrf_token": browser.csrf})
    browser.login(*STAFF)
    crawl.get("403", f"/admin/?lang={LANG}")
    crawl.post("csrf", "/admin/centre", {"name": "x", "csrf_token": "forged"})

    provokable = set(messages.pipeline_ids()) - set(NOT_PROVOKED)
    with capsys.disabled():
        print(f"\npseudo-locale crawl: {crawl.pages} pages, {len(shown)} of {len(messages.pipeline_ids())} "
              f"pipeline messages shown")
    assert crawl.problems == {}, "text not from a catalogue (text -> pages):\n" + "\n".join(
        f"  {t!r}: {p[:3]}" for t, p in sorted(crawl.problems.items()))
    assert sorted(provokable - shown) == [], " ".join(sorted(provokable - shown))
    assert sorted(set(NOT_PROVOKED) & shown - {"name.script"}) == []


#: pipeline messages the tablet cannot produce, and why; the test keeps the list honest: none of
#: these may be shown (a message that becomes reachable must be provoked above instead)
_ENGINE = "the web form builds the input JSON and the DCC itself; only the CLI or a bug can produce it"
NOT_PROVOKED = {
    "list.two": "joins two messages of one field (validate_dcc); appears nested, not as an id of its own",
    "input.invalid": "the fallback for a text without id: never reached when every raise site has an id",
    "health.other": "the fallback for a health problem without id",
    **dict.fromkeys(["input.not_object", "input.section_missing", "input.section_not_object", "input.unknown_fields",
                     "input.wrong_section", "input.not_text", "code.not_text", "type.invalid", "type.invalid_short",
                     "schema.date", "schema.fnt_or_gnt", "schema.format", "schema.groups", "schema.max_items",
                     "schema.maximum", "schema.min_items", "schema.minimum", "schema.one_group", "schema.pattern",
                     "schema.required", "schema.rule", "schema.type", "schema.valueset", "input.too_short",
                     "name.std_misfit_fnt", "name.std_misfit_gnt", "product.unknown"], _ENGINE),
    **dict.fromkeys(["uvci.char", "uvci.country", "uvci.issuer", "uvci.opaque", "uvci.sequence", "uvci.too_long",
                     "centre.none"], "comes from the configuration file (appliance serve refuses to start)"),
    **dict.fromkeys(["time.impossible", "time.no_zone"], "the form's sample time gets the centre's time zone"),
    "name.digits": "the form refuses digits in a name first (name.letters_only)",
    "test.naat_no_device": "the PCR form sends no test device (the field is for rapid tests only)",
    "dob.after_sample": "a birth date after the sample time is in the future, refused first (dob.future)",
    "sample.too_old": "raised when signing; the review refuses a sample that old first",
    "revoke.reason": "the records page asks for the reason first (msg_give_reason)",
    "revoke.unknown": "the records page answers 404 for an unknown UVCI first",
    "revoke.note_too_long": "the records page cuts the note to 200 characters",
    **dict.fromkeys(["correct.already_revoked", "correct.other_type"],
                    "the correct page refuses a revoked record and keeps the type before the issuer sees it"),
    "settings.not_centre": "the admin page sends only the centre's own fields",
    "settings.unknown": "the admin page sends only known printer fields",
    "printer.folder_not_writable": "the tests may run as root, who may write anywhere",
    "dob.year_digits": "dcc/dates.py's check; the form's partial dates refuse such a year first",
    "name.script": "shown with each script above",
    **dict.fromkeys(["chain.hash", "chain.prev_hash", "chain.seq_gap", "clock.before_newest", "clock.before_release",
                     "clock.earlier_issue", "clock.stepped", "clock.unconfirmed", "dsc.expired",
                     "dsc.extensions_unreadable", "dsc.is_ca", "dsc.no_digital_signature", "dsc.none",
                     "dsc.not_yet_valid", "dsc.type_not_allowed", "integrity.acked_beyond",
                     "integrity.checkpoint_forged", "integrity.checkpoint_mismatch", "integrity.checkpoints_deleted",
                     "integrity.counter_ahead", "integrity.cut_off", "integrity.head_forged",
                     "integrity.heads_deleted", "integrity.older_copy", "integrity.rewritten",
                     "integrity.what_to_do", "journal.chain_broken", "reference.stale_revocations",
                     "reference.stale_trustlist", "reference.stale_valuesets", "section.none", "section.r",
                     "section.t", "section.v", "signer.dsc_not_certificate", "signer.no_key", "span.days",
                     "span.hours"],
                    "blocked device states (clock, DSC, journal, signer, stale reference data) the crawl does not make: "
                    "tests/web/test_blocked_messages.py makes them and checks the issue and status pages"),
    **dict.fromkeys([f"health.{k}" for k in ("clock", "disk", "dsc_expired", "dsc_expires", "hub_behind",
                                             "hub_offline", "key", "paper_low", "paper_out", "printer_offline",
                                             "queue_stuck")],
                    "device states this crawl does not fake; the status page and the badge render them with msg()"),
}


def test_german_pages_show_no_developer_text(staff, devices):
    """The issue's examples: a zlib error on the verify page, "[Errno 111]" on the status page, an
    English field key before a message, "ISO 8601" in the sample-time hint."""
    page = staff.post("/verify", {"hc1": "HC1:6BFOXN*TS0BI$ZDFRH"}).get_data(as_text=True)
    visible = re.sub(r"<[^>]*>", " ", page)      # the text, not the markup's data-check="zlib"
    assert "zlib" not in visible and "Error -3" not in visible and "Komprimierung" in visible
    devices.journal.set_sync_status(last_error="[Errno 111] Connection refused")
    page = staff.get("/status").get_data(as_text=True)
    assert "Errno" not in page and "Connection refused" not in page
    page = staff.post("/issue/t/review", {**FORMS["t"], "sample_time": ""}).get_data(as_text=True)
    assert "ISO 8601" not in page and "Probenahme" in page
