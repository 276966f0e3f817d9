"""How current the reference data is: per content type its version and age, and the limits.

The health snapshot (:mod:`appliance.health`) shows :func:`report`'s details on the status
page and ``/healthz`` and turns :func:`ages` into warnings: value sets older than
``[reference] valuesets_max_age_days`` (30), trust list or revocations older than
``trustlist_max_age_days`` / ``revocations_max_age_days`` (7). Without installed value sets
the packaged ones count, dated by their newest ``valueSetDate``, but only on a device that
is set up to receive reference data (``[reference] trust_anchor``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from appliance.dcc import valuesets
from appliance.errors import ApplianceError, Msg
from appliance.reference import store

log = logging.getLogger(__name__)

WATCHED = ("valuesets", "trustlist", "revocations")


def limits(config) -> dict[str, int]:
    ref = config.reference
    return {"valuesets": ref.valuesets_max_age_days, "trustlist": ref.trustlist_max_age_days,
            "revocations": ref.revocations_max_age_days}


def _packaged_age(now: datetime) -> float:
    newest = max(d for d in valuesets.load().dates.values() if d)
    moment = datetime.fromisoformat(newest).replace(tzinfo=timezone.utc)
    return round((now - moment).total_seconds() / 86400, 1)


def report(config, *, now: datetime) -> dict:
    """``store.status`` plus ``limits`` and, for unset-up devices, ``packaged`` value sets."""
    try:
        info = store.status(config.state_dir, now=now)
    except ApplianceError as exc:
        log.error("reference data status: %s", exc)
        info = {"installed": False, "content": {}, "error": str(exc), "intact": False}
    info["limits"] = limits(config)
    if "valuesets" not in info["content"]:
        info["content"]["valuesets"] = {"version": 0, "created": "packaged", "age_days": _packaged_age(now),
                                        "items": len(valuesets.load().names), "source": "packaged"}
    return info


def ages(config, info: dict) -> tuple[tuple[str, float, int], ...]:
    """``(content type, age in days, limit)`` for the watched types that apply to this device."""
    watched = info["installed"] or bool(config.reference.trust_anchor)
    if not watched:
        return ()
    out = []
    for kind in WATCHED:
        entry = info["content"].get(kind)
        if entry is not None and entry.get("age_days") is not None:
            out.append((kind, float(entry["age_days"]), info["limits"][kind]))
    return tuple(out)


def warnings(reference_ages) -> list[str]:
    """One message (a :class:`Msg`) per content type older than its limit (pure)."""
    return [_stale(kind, age=f"{age:.0f}", limit=limit) for kind, age, limit in reference_ages if age > limit]


def _stale(kind: str, **params) -> Msg:
    if kind == "valuesets":
        return Msg("reference.stale_valuesets", **params)
    if kind == "trustlist":
        return Msg("reference.stale_trustlist", **params)
    return Msg("reference.stale_revocations", **params)
