"""compute_state: which light a health snapshot gives."""

from __future__ import annotations

import pytest

from appliance.lights import compute_state, problems

HEALTHY = {"key_ok": True, "dsc_days_left": 400, "clock_trusted": True, "printer_online": True,
           "paper": "ok", "print_queue_stuck": False, "sync_backlog_age_s": 60}


@pytest.mark.parametrize("change,expected", [
    ({}, "ready"),
    ({"key_ok": False}, "fault"),
    ({"clock_trusted": False}, "fault"),
    ({"printer_online": False}, "fault"),
    ({"paper": "out"}, "fault"),
    ({"dsc_days_left": 0}, "fault"),
    ({"dsc_days_left": -3}, "fault"),
    ({"dsc_days_left": 29}, "attention"),
    ({"dsc_days_left": 30}, "ready"),
    ({"paper": "near_end"}, "attention"),
    ({"print_queue_stuck": True}, "attention"),
    ({"sync_backlog_age_s": 24 * 3600 + 1}, "attention"),
    ({"sync_backlog_age_s": 24 * 3600}, "ready"),
    ({"printer_online": None, "paper": "unknown", "dsc_days_left": None}, "ready"),
    ({"paper": "near_end", "key_ok": False}, "fault"),
])
def test_states(change, expected):
    assert compute_state({**HEALTHY, **change}) == expected


def test_missing_keys_are_not_problems():
    assert compute_state({}) == "ready"


def test_thresholds_are_parameters():
    assert compute_state({"sync_backlog_age_s": 7200}, sync_backlog_warn_s=3600) == "attention"
    assert compute_state({"dsc_days_left": 50}, dsc_warn_days=60) == "attention"


def test_problems_worst_first_with_messages():
    found = problems({"paper": "near_end", "clock_trusted": False})
    assert [state for state, _ in found] == ["fault", "attention"]
    assert "clock" in found[0][1] and "paper" in found[1][1]
