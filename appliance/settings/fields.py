"""What each setting accepts: the field tables of the admin pages and the one coercion.

:data:`CENTRE_FIELDS` (the centre profile: type, check and the message naming what is allowed),
:data:`PRINTER_FIELDS` and :data:`GPIO_FIELDS` (device overrides: types), the account rules
(:data:`ROLES`, :data:`LANGUAGES`, :data:`MIN_PASSWORD`, :data:`NAME`), and :func:`coerce`, which
turns a typed value into the field's type or raises :class:`~appliance.errors.InvalidInput`
naming the field. Typed text is checked like names are
(:func:`appliance.dcc.names.has_unsafe_characters`). Pure: no file, no clock.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from appliance.dcc.names import has_unsafe_characters
from appliance.errors import InvalidInput, Msg

ROLES = ("staff", "admin")
LANGUAGES = ("de", "en")
MIN_PASSWORD = 8
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")  #: an account name


def valid_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this system knows (``Europe/Berlin``)."""
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return bool(name)


#: centre fields: name -> (type, check, message)
CENTRE_FIELDS: dict[str, tuple[type, Any, Msg]] = {
    "name": (str, lambda v: len(v) <= 80, Msg("why.at_most_chars", n=80)),
    "issuer": (str, lambda v: 0 < len(v) <= 80, Msg("why.chars_range", low=1, high=80)),
    "uvci_issuer": (str, lambda v: re.fullmatch(r"[A-Z0-9]{1,20}", v) is not None, Msg("why.capitals_digits", n=20)),
    "country": (str, lambda v: re.fullmatch(r"[A-Z]{2}", v) is not None, Msg("why.two_capitals")),
    "default_product": (str, lambda v: len(v) <= 40, Msg("why.product_code")),
    "default_test_type": (str, lambda v: len(v) <= 40, Msg("why.test_type_code")),
    "default_test_device": (str, lambda v: len(v) <= 40, Msg("why.test_device_code")),
    "test_centre": (str, lambda v: len(v) <= 80, Msg("why.at_most_chars", n=80)),
    "timezone": (str, lambda v: valid_zone(v), Msg("why.timezone")),
    "validity_days_v": (int, lambda v: 1 <= v <= 730, Msg("why.days_range", low=1, high=730)),
    "validity_hours_t": (int, lambda v: 1 <= v <= 168, Msg("why.hours_range", low=1, high=168)),
    "validity_days_r": (int, lambda v: 1 <= v <= 365, Msg("why.days_range", low=1, high=365)),
    "retention_days": (int, lambda v: 1 <= v <= 90, Msg("why.days_range", low=1, high=90)),
}
PRINTER_FIELDS = {"kind": str, "profile": str, "paper_width_mm": int, "host": str, "port": int, "path": str}
GPIO_FIELDS = {"enabled": bool, "green": int, "amber": int, "red": int, "button": int, "buzzer": int}


def coerce(value: Any, typ: type, field: str, check=None, why: str = "") -> Any:
    """``value`` as ``typ`` (bool, int or stripped str), checked by ``check`` when not empty.

    :raises InvalidInput: naming ``field``: not a whole number, control characters, or
        ``check`` failed (``why`` says what the field allows).
    """
    try:
        if typ is bool:
            out = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
        elif typ is int:
            out = int(str(value).strip())
        else:
            out = str(value).strip()
    except ValueError:
        raise InvalidInput({field: Msg("settings.whole_number_why", why=why) if why else Msg("settings.whole_number")}) from None
    if isinstance(out, str) and has_unsafe_characters(out):
        raise InvalidInput({field: Msg("input.control_chars")})
    if check is not None and out != "" and not check(out):
        raise InvalidInput({field: Msg("settings.must_be", why=why)})
    return out
