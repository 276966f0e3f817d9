"""Issue 11, finding 11 (rest): anonymous ``/status.json`` tells only ok-level facts (as ``/healthz``):
no sync backlog count; signed-in staff see the details."""

from __future__ import annotations


def test_anonymous_status_json_shows_no_backlog_count(new_browser, staff, devices, now):
    for n in range(3):
        devices.journal.append("note", now=now, operator="test", data={"n": n})
    devices.journal.set_sync_status(last_error="connection refused", last_error_at=now.isoformat(), backlog=3)
    anonymous = new_browser().client.get("/status.json").get_json()
    assert set(anonymous) == {"ok", "time", "hub_offline"}, anonymous
    assert anonymous["ok"] is True and anonymous["hub_offline"] is True
    assert "3" not in str({k: v for k, v in anonymous.items() if k != "time"})
    signed_in = staff.client.get("/status.json").get_json()
    assert signed_in["backlog"] == 3 and "3" in signed_in["hub_text"] and signed_in["state"]
