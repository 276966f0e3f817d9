"""Settings and staff accounts, kept in TinyDB at ``<state>/settings.json``.

Small documents that a technician can read: the centre profile, staff accounts
(scrypt password hashes, never the passwords), and printer/GPIO overrides. Only
the web process writes them. Every write goes through :class:`AtomicJSONStorage`
(temp file in the same folder, ``fsync``, ``rename``, ``fsync`` of the folder),
and every operation holds one lock, because TinyDB itself is neither
thread-safe nor crash-safe.

Precedence: the admin's centre settings override ``[device]``, ``[issue]`` and
``[journal]`` values of the configuration where they are set, and the printer settings
``[printer]`` (:meth:`Settings.effective_config`); fields left empty fall back to the config.

Settings apply at once: the services hold a :class:`LiveConfig` and read the current
settings at the moment they use them (the issuer, the print service and its purge of old
jobs, the printer, the health verdict behind the lights), never a copy made at start-up;
commands in other processes read them with :func:`effective_for` (``appliance journal purge``).
Only the GPIO pins of the status panel are opened once, at start-up.

Typed text is checked like names are (:func:`appliance.dcc.names.has_unsafe_characters`): no
control, bidi or zero-width characters, since the centre's name and issuer reach every
receipt's ESC/POS stream and every certificate.

store (the TinyDB file, :class:`Settings`: centre profile, device overrides, the effective
configuration) · accounts (staff accounts and passwords, mixed into :class:`Settings`) ·
fields (what each field accepts, and the one coercion every typed value goes through) ·
live (:class:`LiveConfig` for the services, :func:`effective_for` for other processes).
"""

from appliance.settings.fields import (CENTRE_FIELDS, GPIO_FIELDS, LANGUAGES, MIN_PASSWORD, PRINTER_FIELDS,
                                       ROLES)
from appliance.settings.live import LiveConfig, effective_for
from appliance.settings.store import AtomicJSONStorage, Settings

__all__ = ["CENTRE_FIELDS", "GPIO_FIELDS", "LANGUAGES", "MIN_PASSWORD", "PRINTER_FIELDS", "ROLES",
           "AtomicJSONStorage", "LiveConfig", "Settings", "effective_for"]
