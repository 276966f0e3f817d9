"""Fixtures for the integrity-under-attack tests (issue 11): an issuer on a software signer with
its journal key, and raw SQLite access to the journal file, as an attacker with the SD card has."""

from __future__ import annotations

import sqlite3

import pytest






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
