"""The verifier's payload stages: the JSON schema (``schema``), the value sets (``valuesets``) and
whether the standardised names can come from the names (``names``).

The first two are separate checks, so that a real certificate with a code outside the EU value sets (a
national vaccine code) is not called schema-invalid. Date fields holding a full date-time,
as some issuers write them, are checked by their date part. Re-exported by
:mod:`appliance.dcc.verify`, whose conformance test drives them.
"""

from __future__ import annotations

from typing import Any

from appliance.dcc import names
from appliance.dcc.model import TYPES


#: ``format: date`` fields where real issuers put a full date-time (SG, BG, PL); the date part is checked.
DATE_FIELDS = {"v": ("dt",), "r": ("fr", "df", "du")}


def _dates_tolerated(dcc: dict) -> dict:
    """A copy of the DCC whose date fields holding an RFC 3339 date-time keep only the date part."""
    out = dict(dcc)
    for group, fields in DATE_FIELDS.items():
        entries = dcc.get(group)
        if not isinstance(entries, list):
            continue
        out[group] = [{k: (v[:10] if k in fields and isinstance(v, str) and len(v) > 10 and v[10:11] in "Tt"
                           else v) for k, v in e.items()} if isinstance(e, dict) else e for e in entries]
    return out


def schema_problems(dcc: Any, prevalidated: bytes | None = None) -> list[str]:
    """The JSON schema 1.3.x (with format checks) and exactly one of v/t/r; empty = valid.

    ``prevalidated``: the :func:`appliance.dcc.schema.canonical_json` of an instance that passed
    this same schema in this process (the issuer's own payload); when the instance checked here
    has exactly those bytes, the schema's verdict is known and its pass is not run again."""
    from appliance.dcc import schema  # lazy: jsonschema costs ~70 ms, and the cli imports this for every command

    if not isinstance(dcc, dict):
        return ["schema: the payload is not a JSON object"]
    problems = []
    groups = [t for t in TYPES if t in dcc]
    if len(groups) != 1:
        problems.append(f"schema: a DCC holds exactly one of v, t or r; this one has {len(groups)}")
    instance = _dates_tolerated(dcc)
    if prevalidated is None or schema.canonical_json(schema.as_json(instance)) != prevalidated:
        problems += [f"schema: {p}" for p in schema.validate(instance)]
    return list(dict.fromkeys(problems))


def valueset_problems(dcc: Any, vs=None) -> list[str]:
    """Codes outside the value sets ``vs`` (default the packaged EU ones; the JSON schema itself
    does not check them): the separate ``valuesets`` check; empty = all known."""
    from appliance.dcc import schema  # lazy: jsonschema costs ~70 ms, and the cli imports this for every command

    return [f"valuesets: {p}" for p in schema.check_valuesets(dcc, vs=vs)] if isinstance(dcc, dict) else []


#: What a misfit standardised name is called in the verifier's errors (no personal data).
NAME_LABELS = {"fnt": "the standardised family name (fnt) cannot come from the family name (fn)",
               "gnt": "the standardised given name (gnt) cannot come from the given name (gn)"}


def name_problems(dcc: Any) -> list[str]:
    """Latin-script names whose standardised form cannot come from them (:func:`appliance.dcc.names.fits`:
    e.g. ``fn`` Schmidt with ``fnt`` MUELLER<LUEDENSCHEIDT): the ``names`` check; empty = they fit,
    or cannot be checked (other scripts)."""
    nam = dcc.get("nam") if isinstance(dcc, dict) else None
    return [f"names: {NAME_LABELS[key]}; the certificate contradicts itself, the issuer must correct it"
            for key in names.misfits(nam)]


def check_schema(dcc: Any, vs=None) -> list[str]:
    """Everything wrong with the payload: schema, exactly one group, value sets; empty = valid."""
    return schema_problems(dcc) + valueset_problems(dcc, vs)
