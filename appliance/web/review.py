"""What the review screen knows beyond the form.

**Checks.** The person's earlier certificates on this
device (one duplicate warning, however many there are) and the soft warnings of
:mod:`appliance.dcc.plausibility`, which staff must acknowledge before issuing.

The acknowledgement is one tick box whose value lists the warning codes it was shown for;
the Issue POST recomputes the warnings and is refused unless every one of them is in it
(:func:`acknowledged`), so a warning that appears later (the sample got older meanwhile)
needs its own tick.

**Drafts.** Reviews in progress, so that the review page has a URL of its own (Post/Redirect/Get for Back).

The form carries a random draft id that becomes the review's idempotency token. The review
POST keeps the reviewed values here under (user, draft id); when staff leave the review through
its form, app.js replaces its history entry with ``/issue/<type>/drafts/<draft id>/review``, so Back after issuing asks
no "Confirm Form Resubmission" but GETs that URL, which leads to the certificate once it is
issued (the journal knows the token) and re-shows the review before. In memory only, bounded
(:data:`MAX_DRAFTS`, oldest dropped) and forgotten once issued: a restart or an old draft
sends staff back to a fresh form.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app

from appliance.dcc import model, plausibility
from appliance.util import timefmt
from appliance.web import readback
from appliance.web.common import _, devices, effective_config, now
from appliance.web.forms import decode_record

log = logging.getLogger(__name__)

MAX_DRAFTS = 500

#: the form field each warning is about -> its label key (for the text)
_LABELS = {"date": "date_vaccination", "dose": "dose", "sample_time": "sample_time", "date_of_birth": "date_of_birth"}


@dataclass
class Checks:
    """The review's findings: ``duplicate`` (``{"n", "uvci", "when"}`` or None) and the
    ``warnings`` (``{"code", "field", "text"}``) with the tick box's value ``ack``."""

    duplicate: dict | None = None
    warnings: list[dict] = field(default_factory=list)

    @property
    def ack(self) -> str:
        return ",".join(sorted({w["code"] for w in self.warnings}))


def _earlier(dcc: dict) -> list[tuple[object, dict]]:
    """(record, DCC) of the person's retained, unrevoked certificates, newest first."""
    cfg = effective_config()
    since = now() - timedelta(days=cfg.journal.retention_days)
    who = model.person_values(dcc)
    person = {"family_name_std": who["family_name_standardised"], "given_name_std": who["given_name_standardised"],
              "date_of_birth": who["date_of_birth"]}
    out = []
    for record in devices().journal.same_person(person, since=since, limit=50):
        if record.revoked or not record.personal:
            continue
        old = decode_record(record)
        if old:
            out.append((record, old))
    return out


def _text(w: plausibility.SoftWarning) -> str:
    params = {k: timefmt.fmt_day(v) if isinstance(v, date) else v for k, v in w.params.items()}
    return _(f"warn_{w.code}", **params)


def check(req, dcc: dict, tz: str) -> Checks:
    """The duplicate and the soft warnings for the reviewed request ``req`` (its preview ``dcc``)."""
    earlier = _earlier(dcc)
    same = [record for record, old in earlier if readback.same_event(old, dcc)]
    duplicate = None
    if same:
        duplicate = {"n": len(same), "uvci": same[0].uvci, "when": timefmt.fmt_local(same[0].issued_at, tz)}
    found = plausibility.warnings(req, now=now(), tz=timefmt.zone(tz), earlier=[old for _r, old in earlier])
    warnings = [{"code": w.code, "field": w.field, "label": _(_LABELS.get(w.field, w.field)), "text": _text(w)}
                for w in found]
    return Checks(duplicate=duplicate, warnings=warnings)


def acknowledged(checks: Checks, ticked: str) -> bool:
    """Whether the tick box's value ``ticked`` covers every warning of ``checks``."""
    given = {c for c in ticked.split(",") if c}
    return all(w["code"] in given for w in checks.warnings)


# ---------------------------------------------------------------- drafts

class Drafts:
    """(user, draft id) -> (type, form values), least recently stored dropped first."""

    def __init__(self, limit: int = MAX_DRAFTS) -> None:
        self._items: OrderedDict[tuple[str, str], tuple[str, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def put(self, user: str, draft: str, type_: str, values: dict) -> None:
        with self._lock:
            self._items[(user, draft)] = (type_, dict(values))
            self._items.move_to_end((user, draft))
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def get(self, user: str, draft: str) -> tuple[str, dict] | None:
        with self._lock:
            found = self._items.get((user, draft))
        return (found[0], dict(found[1])) if found else None

    def forget(self, user: str, draft: str) -> None:
        with self._lock:
            self._items.pop((user, draft), None)


def drafts() -> Drafts:
    """This app's drafts (made on first use)."""
    return current_app.extensions.setdefault("appliance_issue_drafts", Drafts())
