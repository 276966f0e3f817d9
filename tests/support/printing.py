"""Certificates for the printing tests: the schema examples' DCCs, and handing one to a print service."""

from __future__ import annotations

import json

from tests.support.paths import VECTORS

EXAMPLES = VECTORS / "schema-examples"
#: one schema example DCC per type (names Smith-Jones, Charles Edward; 2021 dates)
SAMPLES = {
    "v": EXAMPLES / "vaccination" / "standard_case_3-of-3-moderna-moderna-moderna.json",
    "t": EXAMPLES / "test" / "simple-rat.json",
    "r": EXAMPLES / "recovery" / "simple.json",
}


def schema_example_dcc(kind: str) -> dict:
    """A fresh copy of the schema example DCC of type ``kind``."""
    return json.loads(SAMPLES[kind].read_text(encoding="utf-8"))


def submit(service, cert: dict, **kw) -> int:
    """Queue ``cert`` (the ``certificate`` fixture's dict) on a PrintService as staff1; the job id."""
    return service.submit(uvci=cert["uvci"], hc1=cert["hc1"], dcc=cert["dcc"], issued_at=cert["issued_at"],
                          operator="staff1", **kw)
