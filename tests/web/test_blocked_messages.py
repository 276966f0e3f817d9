"""When issuing is blocked, the issue pages and the status page say why in the reader's language.

Each blocked state is made for real on a device that starts on a temp state dir: the fixed clock
unsynchronised without an RTC, set before the release date, before the newest entry, outside the
DSC's validity; a DSC for vaccinations only; the SQLite journal edited behind the appliance's
back (a broken hash chain) or cut off behind its signed head (as tests/integrity do it). The
German pages must show the German catalogue text of every problem (no English, no developer
text), and in the pseudo-locale of tests/web/test_pseudo_locale.py every listed problem must be
one catalogue text, wrapped in its markers.
"""

from __future__ import annotations

import html
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from appliance import RELEASE_DATE, messages
from appliance.devices.signer import SoftwareSigner
from appliance.runtime import build_services
from appliance.web import create_app
from tests.support.clock import NOW
from tests.support.reference import ReferenceKit
from tests.support.web import ADMIN, STAFF, Browser
from tests.web.test_pseudo_locale import CLOSE, LANG, OPEN, pseudo  # noqa: F401 - pseudo: the fixture

_BLOCK = re.compile(r'<div class="flash error"[^>]*>.*?<ul>(.*?)</ul>', re.DOTALL)
_ITEM = re.compile(r"<li>(.*?)</li>", re.DOTALL)


@dataclass
class Scenario:
    """``issued`` certificates first (on the device's first start), then ``sql`` on the journal
    file while the device is off, then ``clock`` changes; the device starts again."""

    ids: set[str]                           #: message ids that must be among the problems
    issued: int = 0
    sql: tuple = ()
    clock: dict = field(default_factory=dict)
    types: str = "vtr"                      #: the DSC's certificate types
    page_type: str = "v"                    #: the form page to look at
    status: bool = True                     #: the problem shows on the status page (any type blocked)


_DSC_SIGNER: dict[str, SoftwareSigner] = {}


def _signer(types: str) -> SoftwareSigner:
    if types not in _DSC_SIGNER:
        _DSC_SIGNER[types] = SoftwareSigner.generate(country="DE", now=NOW, types=types)
    return _DSC_SIGNER[types]


SCENARIOS = {
    "clock unconfirmed": Scenario({"clock.unconfirmed"}, clock={"synchronized": False, "rtc": False}),
    "before release": Scenario({"clock.before_release"},
                               clock={"set": datetime.fromisoformat(RELEASE_DATE).replace(tzinfo=timezone.utc)
                                      - timedelta(days=3)}),
    "before newest entry": Scenario({"clock.before_newest"}, issued=1, clock={"set": NOW - timedelta(hours=2)}),
    "clock stepped forward": Scenario({"clock.stepped"}, issued=1, clock={"step": timedelta(days=30)}),
    "dsc expired": Scenario({"dsc.expired"}, clock={"set": NOW + timedelta(days=800)}),
    "dsc not yet valid": Scenario({"dsc.not_yet_valid"}, clock={"set": NOW - timedelta(days=5)}),
    "dsc wrong type": Scenario({"dsc.type_not_allowed"}, types="v", page_type="t", status=False),
    "broken chain": Scenario({"journal.chain_broken"}, issued=2,
                             sql=("UPDATE entries SET time = '2026-11-28T09:00:00Z' WHERE seq = 2",)),
    "cut off": Scenario({"integrity.cut_off"}, issued=3, sql=("DELETE FROM entries WHERE seq = 3",)),
}


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request) -> Scenario:
    return SCENARIOS[request.param]


@pytest.fixture
def devices(scenario, make_config, clock, request_for, journal_path):
    """The blocked device (overrides the web fixtures' ``devices``; ``app`` and ``pseudo`` use it)."""
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False}})
    signer = _signer(scenario.types)
    first = build_services(config, clock=clock, signer=signer, with_panel=False)
    first.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
    first.settings.add_user(STAFF[0], password=STAFF[1], role="staff")
    for _ in range(scenario.issued):
        first.issuer.issue(request_for("v"), operator=STAFF[0])
    first.close()
    con = sqlite3.connect(journal_path)
    try:
        for sql in scenario.sql:
            assert con.execute(sql).rowcount == 1, sql
        con.commit()
    finally:
        con.close()
    for key, value in scenario.clock.items():
        if key in ("set", "step"):
            getattr(clock, key)(value)
        else:
            setattr(clock, key, value)
    d = build_services(config, clock=clock, signer=signer, with_panel=False)
    yield d
    d.close()


def _items(page: str) -> list[str]:
    """The texts of the listed problems (issue pages: why it cannot issue; status page: problems)."""
    return [html.unescape(" ".join(li.split())) for block in _BLOCK.findall(page) for li in _ITEM.findall(block)]


def _pages(browser, scenario: Scenario, lang: str) -> dict[str, str]:
    urls = {"form": f"/issue/{scenario.page_type}"}
    if scenario.status:
        urls |= {"choose": "/", "status": "/status"}
    browser.get(f"/?lang={lang}")
    out = {}
    for name, url in urls.items():
        resp = browser.get(url)
        assert resp.status_code == 200, (name, resp.status_code)
        out[name] = resp.get_data(as_text=True)
    return out


def assert_german_pages(scenario: Scenario, devices, browser) -> None:
    """The German issue pages and status page list every problem in its German catalogue text."""
    problems = devices.issuer.readiness(scenario.page_type)
    assert problems, "the scenario did not block issuing"
    assert all(isinstance(p, messages.Msg) for p in problems), [p for p in problems if not isinstance(p, messages.Msg)]
    assert scenario.ids <= {p.id for p in problems}, [p.id for p in problems]
    for p in problems:
        assert messages.lookup(messages.PIPELINE_DIR, messages.PIPELINE, p.id, "de"), p.id
    german = [messages.render(p, "de") for p in problems]
    assert all(g != str(p) for g, p in zip(german, problems)), german
    browser.login(*ADMIN)
    pages = _pages(browser, scenario, "de")
    assert _items(pages["form"]) == german
    if scenario.status:
        assert _items(pages["choose"]) == [messages.render(p, "de") for p in devices.issuer.readiness(None)]
        shown = _items(pages["status"])
        assert set(german) <= set(shown), shown
        for text in shown:
            assert " the " not in f" {text} ", text


def assert_pseudo_pages(scenario: Scenario, browser) -> None:
    """In the pseudo-locale every listed problem is one catalogue text, wrapped in its markers."""
    browser.login(*ADMIN)
    for name, page in _pages(browser, scenario, LANG).items():
        items = _items(page)
        assert items, name
        for text in items:
            assert text.startswith(OPEN) and text.endswith(CLOSE), (name, text)


def test_german_pages_show_the_german_text_of_every_problem(scenario, devices, browser):
    assert_german_pages(scenario, devices, browser)


def test_every_problem_is_one_catalogue_text_in_the_pseudo_locale(scenario, pseudo, devices, browser):  # noqa: F811
    assert_pseudo_pages(scenario, browser)


def test_stale_reference_data_reads_german_on_the_status_page(make_config, clock, software_signer, tmp_path):
    """Not a block, a warning: the packaged value sets (2023) are past their limit once the device
    watches reference data (a trust anchor is configured); the status page says so in German."""
    files = ReferenceKit.make().write(tmp_path / "office")
    config = make_config({"printer": {"kind": "file"}, "gpio": {"enabled": False},
                          "reference": {"trust_anchor": str(files["anchor"])}})
    d = build_services(config, clock=clock, signer=software_signer, with_panel=False)
    try:
        d.settings.add_user(ADMIN[0], password=ADMIN[1], role="admin")
        stale = [p.message for p in d.health(probe_printer=False).problems
                 if getattr(p.message, "id", "").startswith("reference.")]
        assert [m.id for m in stale] == ["reference.stale_valuesets"], stale
        app = create_app(config, d)
        app.config["TESTING"] = True
        browser = Browser(app.test_client())
        browser.login(*ADMIN)
        browser.get("/?lang=de")
        page = browser.get("/status").get_data(as_text=True)
        assert messages.render(stale[0], "de") in _items(page)
        assert "Wertelisten" in messages.render(stale[0], "de")
    finally:
        d.close()
