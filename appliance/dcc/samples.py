"""The packaged example inputs (``appliance/dcc/examples/*.json``), with their dates kept current.

A test certificate is only issued while its sample is fresh, and a recovery's
validity must not have ended, so the demo, the benchmarks and tests that run on
the real clock move those dates relative to ``now``. The vaccination example's
date lies in the past and stays as it is.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from importlib import resources

from appliance.dcc.model import SECTIONS


def example_path(dcc_type: str):
    """The packaged example file for ``v``, ``t`` or ``r`` (a Traversable), named after its section."""
    return resources.files("appliance.dcc").joinpath("examples", f"{SECTIONS[dcc_type]}.json")


def example_input(dcc_type: str, *, now: datetime | None = None) -> dict:
    """The example input for a type; with ``now``, the time-sensitive dates are moved to fit it.

    Test: sampled one hour before ``now``. Recovery: first positive 30 days before
    ``now``, valid from 28 days after that, until 180 days after it.
    """
    data = json.loads(example_path(dcc_type).read_text(encoding="utf-8"))
    if now is None:
        return data
    now = now.astimezone(timezone.utc)
    event = data[SECTIONS[dcc_type]]
    if dcc_type == "t":
        event["sample_time"] = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif dcc_type == "r":
        first = (now - timedelta(days=30)).date()
        event.update(first_positive=first.isoformat(), valid_from=(first + timedelta(days=28)).isoformat(),
                     valid_until=(first + timedelta(days=180)).isoformat())
    return data
