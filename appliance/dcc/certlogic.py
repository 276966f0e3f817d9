"""CertLogic: validate and evaluate the expressions of the EU DCC business rules.

Implements the CertLogic specification 1.3.3 (ehn-dcc-development/eu-dcc-business-rules,
``certlogic/specification/README.md``) with its strict semantics, not general JsonLogic:
only ``var``, ``if``, ``===``, ``and``, ``<``, ``>``, ``<=``, ``>=``, ``in``, ``+``, ``!``,
``after``, ``before``, ``not-after``, ``not-before``, ``plusTime``, ``reduce``,
``extractFromUVCI`` and ``dccDateOfBirth``.

:func:`evaluate` validates the whole expression first (:func:`validate`), so an invalid
expression is refused whatever the data; then it evaluates, raising :class:`CertLogicError`
on a type mismatch (e.g. ``<`` on a non-integer, ``in`` on a non-array, ``plusTime`` on
something that is not a date(-time) string). Date-times are timezone-aware UTC
:class:`~datetime.datetime` values with millisecond precision.

Where the specification leaves a result open, this module says what it does:
``===`` compares arrays and objects by value (JavaScript compares them by identity), and
the ``reduce`` lambda sees only ``current`` and ``accumulator`` (no ``data``, as in the
reference evaluators). Error messages name operations and kinds of values, never the
values of the data, which may be personal.

Pure: no I/O, no clock, no mutable globals.
"""

from __future__ import annotations

import calendar
import json
import operator
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from appliance.errors import InvalidInput

SPEC_VERSION = "1.3.3"
TIME_UNITS = ("year", "month", "day", "hour")

_INTEGER_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
_DATE_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "before": operator.lt, "after": operator.gt, "not-after": operator.le, "not-before": operator.ge}

#: operator -> (least, most) number of operands; ``None``: no upper bound.
_ARITY: dict[str, tuple[int, int | None]] = {
    "if": (3, 3), "===": (2, 2), "in": (2, 2), "+": (2, 2), "and": (2, None), "!": (1, 1),
    "plusTime": (3, 3), "reduce": (3, 3), "extractFromUVCI": (2, 2), "dccDateOfBirth": (1, 1),
    **{op: (2, 3) for op in (*_INTEGER_COMPARISONS, *_DATE_COMPARISONS)},
}

_PATH = re.compile(r"[^.]+(?:\.[^.]+)*")
_INDEX = re.compile(r"[0-9]+")
_DATE_TIME = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?:\.(?P<fraction>\d+))?"
    r"(?P<offset>Z|[+-]\d{1,2}(?::?\d{2})?)?)?)?)?")
_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})?")
_DATE_OF_BIRTH = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")


class CertLogicError(InvalidInput):
    """A CertLogic expression is invalid, or its evaluation hit a type mismatch."""

    def __init__(self, message: str):
        super().__init__({"logic": message}, message)


class Issue(NamedTuple):
    """One problem of an expression: the offending (sub-)expression and what is wrong."""

    expr: Any
    message: str

    def describe(self) -> str:
        """The message and (the start of) the sub-expression, for error messages."""
        return f"{self.message} (in {_snippet(self.expr)})"


# --- validation ----------------------------------------------------------------------------

def validate(expression: Any) -> list[str]:
    """The problems of a CertLogic expression, as messages; an empty list means valid."""
    return [issue.message for issue in validation_issues(expression)]


def validation_issues(expr: Any) -> list[Issue]:
    """The problems of a CertLogic expression, each with the sub-expression it is about."""
    if isinstance(expr, (bool, str)):
        return []
    if isinstance(expr, (int, float)):
        return [] if _is_int(expr) else [Issue(expr, f"{expr} is a non-integer number")]
    if isinstance(expr, list):
        return [issue for item in expr for issue in validation_issues(item)]
    if isinstance(expr, dict):
        return _operation_issues(expr)
    return [Issue(expr, "invalid CertLogic expression")]


def _operation_issues(expr: dict) -> list[Issue]:
    if len(expr) != 1:
        return [Issue(expr, f"expression object must have exactly one key, but it has {len(expr)}")]
    ((op, values),) = expr.items()
    if op == "var":
        return _var_issues(expr, values)
    if not isinstance(values, list):
        return [Issue(expr, 'operation not of the form { "<operator>": [ <values...> ] }')]
    if op not in _ARITY:
        return [Issue(expr, f'unrecognised operator: "{op}"')]
    least, most = _ARITY[op]
    issues = [] if least <= len(values) <= (most or len(values)) else [
        Issue(expr, f'an operation with operator "{op}" must have {_count(least, most)}, '
                    f"but it has {len(values)}")]
    issues += [Issue(expr, message) for message in _literal_problems(op, values)]
    operands = values[:1] if op in ("plusTime", "extractFromUVCI") else values
    return issues + [issue for operand in operands for issue in validation_issues(operand)]


def _count(least: int, most: int | None) -> str:
    if most is None:
        return f"at least {least} operands"
    return f"{least} operand{'s' * (least > 1)}" if least == most else f"{least} or {most} operands"


def _literal_problems(op: str, values: list) -> list[str]:
    """The operands that must be literals: plusTime's amount and unit, extractFromUVCI's index."""
    problems = []
    if op in ("plusTime", "extractFromUVCI") and len(values) > 1 and not _is_int(values[1]):
        name = "amount" if op == "plusTime" else "index"
        problems.append(f'"{name}" argument (#2) of "{op}" must be an integer literal')
    if op == "plusTime" and len(values) > 2 and values[2] not in TIME_UNITS:
        problems.append(f'"unit" argument (#3) of "plusTime" must be one of {", ".join(TIME_UNITS)}')
    return problems


def _var_issues(expr: dict, path: Any) -> list[Issue]:
    if not isinstance(path, str):
        return [Issue(expr, 'not of the form { "var": "<path>" }')]
    if path and not _PATH.fullmatch(path):
        return [Issue(expr, f"data access path doesn't have a valid format: {path}")]
    return []


# --- evaluation ----------------------------------------------------------------------------

def evaluate(expression: Any, data: Any) -> Any:
    """Evaluate a CertLogic expression on a data context (JSON values).

    :raises CertLogicError: the expression is invalid, or its evaluation is (type mismatch).
    """
    issues = validation_issues(expression)
    if issues:
        raise CertLogicError(f"invalid CertLogic expression: {issues[0].describe()}")
    return _eval(expression, data)


def _eval(expr: Any, data: Any) -> Any:
    if isinstance(expr, list):
        return [_eval(item, data) for item in expr]
    if not isinstance(expr, dict):
        return expr
    ((op, values),) = expr.items()
    if op == "var":
        return _var(values, data)
    return _OPERATIONS[op](op, values, data)


def _var(path: str, data: Any) -> Any:
    if path == "":
        return data
    for fragment in path.split("."):
        if isinstance(data, dict):
            data = data.get(fragment)
        elif isinstance(data, list) and _INDEX.fullmatch(fragment) and int(fragment) < len(data):
            data = data[int(fragment)]
        else:
            return None
    return data


def _if(op: str, values: list, data: Any) -> Any:
    guard = _truth(_eval(values[0], data), "the guard of if")
    return _eval(values[1] if guard else values[2], data)


def _and(op: str, values: list, data: Any) -> Any:
    for operand in values[:-1]:
        value = _eval(operand, data)
        if not _truth(value, "an operand of and"):
            return value
    return _eval(values[-1], data)


def _not(op: str, values: list, data: Any) -> bool:
    return not _truth(_eval(values[0], data), "the operand of !")


def _equals(op: str, values: list, data: Any) -> bool:
    return _strictly_equal(_eval(values[0], data), _eval(values[1], data))


def _in(op: str, values: list, data: Any) -> bool:
    item, container = _eval(values[0], data), _eval(values[1], data)
    if not isinstance(container, list):
        raise CertLogicError(f'the right-hand side of "in" must be an array, not {_kind(container)}')
    return any(_strictly_equal(item, member) for member in container)


def _plus(op: str, values: list, data: Any) -> Any:
    left, right = _eval(values[0], data), _eval(values[1], data)
    if not (_is_int(left) and _is_int(right)):
        raise CertLogicError(f'the operands of "+" must be integers, not {_kind(left)} and {_kind(right)}')
    return left + right


def _compare(op: str, values: list, data: Any) -> bool:
    operands = [_eval(value, data) for value in values]
    dates = op in _DATE_COMPARISONS
    compare = _DATE_COMPARISONS[op] if dates else _INTEGER_COMPARISONS[op]
    if not all(_is_datetime(v) if dates else _is_int(v) for v in operands):
        kinds = ", ".join(_kind(v) for v in operands)
        raise CertLogicError(f'all operands of "{op}" must be {"date-times" if dates else "integers"}, '
                             f"not {kinds}")
    return all(compare(a, b) for a, b in zip(operands, operands[1:]))


def _plus_time(op: str, values: list, data: Any) -> datetime:
    text = _eval(values[0], data)
    if not isinstance(text, str):
        raise CertLogicError(f'the date argument (#1) of "plusTime" must be a string, not {_kind(text)}')
    return plus_time(parse_datetime(text), int(values[1]), values[2])


def _reduce(op: str, values: list, data: Any) -> Any:
    items, accumulator = _eval(values[0], data), _eval(values[2], data)
    if items is None:
        return accumulator
    if not isinstance(items, list):
        raise CertLogicError(f'the operand (#1) of "reduce" must be an array or null, not {_kind(items)}')
    for current in items:
        accumulator = _eval(values[1], {"current": current, "accumulator": accumulator})
    return accumulator


def _extract_from_uvci(op: str, values: list, data: Any) -> str | None:
    uvci = _eval(values[0], data)
    if not (uvci is None or isinstance(uvci, str)):
        raise CertLogicError(f'the UCI argument (#1) of "extractFromUVCI" must be a string or null, '
                             f"not {_kind(uvci)}")
    return extract_from_uvci(uvci, int(values[1]))


def _dcc_date_of_birth(op: str, values: list, data: Any) -> datetime:
    text = _eval(values[0], data)
    if not isinstance(text, str):
        raise CertLogicError(f'the operand of "dccDateOfBirth" must be a string, not {_kind(text)}')
    return dcc_date_of_birth(text)


_OPERATIONS: dict[str, Callable[[str, list, Any], Any]] = {
    "if": _if, "and": _and, "!": _not, "===": _equals, "in": _in, "+": _plus,
    "plusTime": _plus_time, "reduce": _reduce, "extractFromUVCI": _extract_from_uvci,
    "dccDateOfBirth": _dcc_date_of_birth,
    **{op: _compare for op in (*_INTEGER_COMPARISONS, *_DATE_COMPARISONS)},
}


# --- values --------------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    """An integer as JavaScript's ``Number.isInteger`` sees it (so ``2.0`` is one, ``True`` is not)."""
    return type(value) is int or (type(value) is float and value.is_integer())


def _is_datetime(value: Any) -> bool:
    return isinstance(value, datetime)


def _truth(value: Any, what: str) -> bool:
    """CertLogic truthiness: True if truthy, False if falsy; an error if it is neither."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    if _is_int(value):
        return value != 0
    raise CertLogicError(f"{what} is {_kind(value)}, which is neither truthy nor falsy")


def _strictly_equal(left: Any, right: Any) -> bool:
    """``===``: equal without type coercion (``1`` is not ``"1"``, ``1`` is not ``true``)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    return type(left) is type(right) and left == right


def _kind(value: Any) -> str:
    """What kind of JSON value this is, for messages (never the value: it may be personal data)."""
    if value is None:
        return "null"
    for kind, name in ((bool, "a boolean"), (str, "a string"), (list, "an array"),
                       (dict, "an object"), (datetime, "a date-time")):
        if isinstance(value, kind):
            return name
    return "an integer" if _is_int(value) else "a non-integer number"


def _snippet(expr: Any, limit: int = 120) -> str:
    text = json.dumps(expr, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- date-times and UCIs -------------------------------------------------------------------

def parse_datetime(text: str) -> datetime:
    """A date(-time) string in one of the formats of ``plusTime`` -> aware UTC datetime (ms).

    ``YYYY`` and ``YYYY-MM`` are read as :func:`dcc_date_of_birth` does; a missing time is
    midnight, a missing offset is ``Z``; decimals beyond milliseconds are dropped.
    """
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise CertLogicError("a string is not in an allowed date or date-time format")
    try:
        year, month = int(match["year"]), int(match["month"] or 12)
        day = int(match["day"] or calendar.monthrange(year, month)[1])
        millis = int((match["fraction"] or "0")[:3].ljust(3, "0"))
        moment = datetime(year, month, day, int(match["hour"] or 0), int(match["minute"] or 0),
                          int(match["second"] or 0), millis * 1000, tzinfo=_offset(match["offset"]))
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise CertLogicError(f"a date(-time) string is not a valid date or time: {exc}") from None


def _offset(text: str | None) -> timezone:
    if text is None or text == "Z":
        return timezone.utc
    sign, hours, minutes = _OFFSET.fullmatch(text).groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return timezone(-delta if sign == "-" else delta)


def plus_time(moment: datetime, amount: int, unit: str) -> datetime:
    """Add ``amount`` years, months, days or hours as JavaScript's ``Date.setUTC…`` methods do.

    A day of the month past the month's end rolls over: 2020-02-29 plus 1 year is 2021-03-01.
    """
    if unit not in TIME_UNITS:
        raise CertLogicError(f'"{unit}" is not a time unit of plusTime')
    try:
        if unit == "hour":
            return moment + timedelta(hours=amount)
        if unit == "day":
            return moment + timedelta(days=amount)
        months = moment.year * 12 + moment.month - 1 + amount * (12 if unit == "year" else 1)
        year, month0 = divmod(months, 12)
        return moment.replace(year=year, month=month0 + 1, day=1) + timedelta(days=moment.day - 1)
    except (ValueError, OverflowError):
        raise CertLogicError("plusTime goes beyond the years 1 to 9999") from None


def dcc_date_of_birth(text: str) -> datetime:
    """A DCC date of birth ``YYYY[-MM[-DD]]`` -> the last date-time consistent with it."""
    if not _DATE_OF_BIRTH.fullmatch(text):
        raise CertLogicError("a date of birth is not of the form YYYY, YYYY-MM or YYYY-MM-DD")
    return parse_datetime(text)


def extract_from_uvci(uvci: str | None, index: int) -> str | None:
    """Fragment ``index`` of a UCI split on ``/``, ``#`` and ``:`` (``URN:UVCI:`` ignored)."""
    if uvci is None or index < 0:
        return None
    fragments = re.split(r"[/#:]", uvci.removeprefix("URN:UVCI:"))
    return fragments[index] if index < len(fragments) else None
