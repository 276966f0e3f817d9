"""Fixtures for the integrity-under-attack tests (issue 11): an issuer on a software signer with
its journal key, and raw SQLite access to the journal file, as an attacker with the SD card has."""

from __future__ import annotations

import sqlite3

import pytest


@pytest.fixture
def request_for(config, now, example):
    """``request_for("v")`` -> a parsed IssueRequest from the packaged example."""
    from appliance.dcc import form

    return lambda t, data=None: form.parse_input(data or example(t), type=t, device=config.device, now=now)


@pytest.fixture
def make_issuer(config, journal, clock, software_signer):
    """``make_issuer(**kw)``: a fresh Issuer (a new process start) on the test's journal."""
    from appliance.issue import Issuer

    def make(**kw):
        kw.setdefault("signer", software_signer)
        kw.setdefault("clock", clock)
        return Issuer(config=kw.pop("config", config), journal=kw.pop("journal", journal), **kw)

    return make


@pytest.fixture
def tamper(journal_path):
    """``tamper(sql, *args)``: change the journal file behind the appliance's back (own connection)."""

    def run(sql: str, *args) -> None:
        con = sqlite3.connect(journal_path)
        try:
            con.execute(sql, args)
            con.commit()
        finally:
            con.close()

    return run
