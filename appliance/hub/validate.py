"""What the hub can store of a device-signed entry (issue 11, finding 12).

A signature proves who sent an entry, not that it fits the hub: CBOR can carry bytes,
date-times, ``undefined``, tags, huge integers, NUL characters and deep nesting, none of which
the hash chain's JSON or the database can hold. Each is refused with a 400 that names the
entry and the field, before the chain check and before anything is written.
"""

from __future__ import annotations

import math
import re

from appliance.errors import InvalidInput
from appliance.hub.store.derive import canonical_data, clock_interval_problem, parse_time

MAX_TEXT = 200                     #: characters in one entry field (UVCIs are at most 60)
MAX_DATA_CHARS = 16 * 1024         #: an entry's data as canonical JSON
MAX_DEPTH = 8
MAX_INT = 2**53                    #: JSON numbers beyond this lose precision elsewhere
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_KIND = re.compile(r"^[a-z][a-z_]{0,31}$")
TEXT_FIELDS = ("operator", "type", "uvci", "kid", "hash_uci", "hash_countrycodeuci", "hash_signature")


def _text_problem(value: object, *, optional: bool, limit: int = MAX_TEXT) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        return f"must be {'text or null' if optional else 'text'}, not {_kind(value)}"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if "\x00" in value:
        return "contains a NUL character"
    return None


def _kind(value: object) -> str:
    if isinstance(value, bytes):
        return "a byte string"
    if type(value).__name__ in ("UndefinedType", "CBORUndefined"):
        return "CBOR undefined"
    if type(value).__name__ in ("datetime", "date"):
        return "a CBOR date-time"
    return type(value).__name__


def _json_problem(value: object, path: str, depth: int) -> str | None:
    """Why ``value`` is not plain JSON data (``None`` when it is)."""
    if depth > MAX_DEPTH:
        return f"{path}: nested deeper than {MAX_DEPTH} levels"
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -MAX_INT <= value <= MAX_INT else f"{path}: integer out of range (|n| <= 2^53)"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path}: must be a finite number"
    if isinstance(value, str):
        return f"{path}: contains a NUL character" if "\x00" in value else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            problem = _json_problem(item, f"{path}[{i}]", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}: has a key that is not text ({_kind(key)})"
            problem = _json_problem(key, f"{path} key", depth + 1) or _json_problem(item, f"{path}.{key}", depth + 1)
            if problem:
                return problem
        return None
    return f"{path}: {_kind(value)} is not JSON data (text, number, true/false, null, list or map)"


def entry_problem(entry: dict) -> tuple[str, str] | None:
    """``(field, reason)`` of the first field the hub cannot store, or ``None``."""
    seq = entry["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq < 2**63:
        return "seq", "must be an integer from 1"
    problem = _text_problem(entry["time"], optional=False, limit=40)
    if problem is None:
        try:
            parse_time(entry["time"])
        except ValueError:
            problem = "is not an ISO 8601 time"
    if problem:
        return "time", problem
    if not isinstance(entry["kind"], str) or not _KIND.match(entry["kind"]):
        return "kind", "must be a lower-case word (issued, revoked, ...)"
    for name in TEXT_FIELDS:
        problem = _text_problem(entry[name], optional=True)
        if problem:
            return name, problem
    for name in ("prev_hash", "hash"):
        if not isinstance(entry[name], str) or not _HEX64.match(entry[name]):
            return name, "must be 64 lower-case hex digits"
    if not isinstance(entry["data"], dict):
        return "data", f"must be a map, not {_kind(entry['data'])}"
    problem = _json_problem(entry["data"], "data", 1)
    if problem:
        return "data", problem
    if len(canonical_data(entry["data"])) > MAX_DATA_CHARS:
        return "data", f"is larger than {MAX_DATA_CHARS} characters"
    if entry["kind"] == "revoked" and not entry["uvci"]:
        return "uvci", "a revocation must name the UVCI it revokes"
    if entry["kind"] == "clock_corrected" and clock_interval_problem(entry):
        return "data", clock_interval_problem(entry)
    return None


def check_entries(entries: list[dict]) -> None:
    """:raises InvalidInput: naming the entry's seq and field, and what to do."""
    for i, entry in enumerate(entries):
        problem = entry_problem(entry)
        if problem is not None:
            field, reason = problem
            where = f"entry seq {entry['seq']}" if isinstance(entry.get("seq"), int) else f"entry {i}"
            raise InvalidInput({f"{where}.{field}": reason},
                               f"{where}: field {field} {reason}; the hub cannot store it (nothing was stored): "
                               "the device's journal holds an entry it did not write itself, check the device")
