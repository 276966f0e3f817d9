"""The hub tests are contract tests of the store: every test that uses the hub fixtures runs on
SQLite (the embedded default) and on PostgreSQL (a private cluster, tests/support/pg.py)."""

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def hub_engine(request) -> str:
    return request.param
