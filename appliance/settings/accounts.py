"""Staff accounts: names, roles, languages and scrypt password hashes (never the passwords).

:class:`SettingsAccounts` is a mixin of :class:`appliance.settings.store.Settings` (it uses the
store's TinyDB and its lock; the ``users`` table). What a name, role, password or language
may be is :mod:`appliance.settings.fields`'; bad input raises
:class:`~appliance.errors.InvalidInput` naming the field, and nothing is saved. Changing a
password, role or whether an account is active ends its sessions (``session_version``).
"""

from __future__ import annotations

import functools
import logging

from tinydb import Query
from werkzeug.security import check_password_hash, generate_password_hash

from appliance.errors import InvalidInput, Msg
from appliance.settings.fields import LANGUAGES, MIN_PASSWORD, NAME, ROLES

log = logging.getLogger(__name__)

_HASH_METHOD = "scrypt"


class SettingsAccounts:
    """The staff accounts of the settings store (mixed into :class:`~appliance.settings.store.Settings`)."""

    def add_user(self, name: str, *, password: str, role: str, language: str = "de") -> None:
        """Create a staff account; :class:`InvalidInput` on a bad name, role, password or duplicate."""
        errors = {}
        if not isinstance(name, str) or not NAME.match(name):
            errors["name"] = Msg("account.name")
        if role not in ROLES:
            errors["role"] = Msg("account.role")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            errors["password"] = Msg("account.password_short", n=MIN_PASSWORD)
        if language not in LANGUAGES:
            errors["language"] = Msg("account.language")
        if errors:
            raise InvalidInput(errors)
        record = {"name": name, "role": role, "password_hash": generate_password_hash(password, method=_HASH_METHOD),
                  "language": language, "active": True, "session_version": 0}
        with self._lock:
            users = self._db.table("users")
            if users.contains(Query().name == name):
                raise InvalidInput({"name": Msg("account.exists")})
            users.insert(record)
        log.info("account added (role %s)", role)

    def users(self) -> list[dict]:
        with self._lock:
            return sorted((_public(u) for u in self._db.table("users").all()), key=lambda u: u["name"])

    def user(self, name: str) -> dict | None:
        with self._lock:
            found = self._db.table("users").get(Query().name == name)
        return _public(found) if found else None

    def check_password(self, name: str, password: str) -> dict | None:
        """The account if the password fits and it is active, else ``None``. Writes nothing.

        An unknown or disabled account is checked against a dummy hash of the same cost, so every
        answer takes as long as a wrong password for a real account. Throttling of repeated wrong
        passwords is the web process's (:mod:`appliance.web.throttle`), in memory: signing in must
        work on a full disk.
        """
        with self._lock:
            found = self._db.table("users").get(Query().name == name) if isinstance(name, str) else None
        password = password if isinstance(password, str) else ""
        if not found or not found.get("active", True):
            check_password_hash(dummy_hash(), password)
            return None
        if check_password_hash(found["password_hash"], password):
            return _public(found)
        return None

    def set_password(self, name: str, password: str) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise InvalidInput({"password": Msg("account.password_short", n=MIN_PASSWORD)})
        self._update_user(name, {"password_hash": generate_password_hash(password, method=_HASH_METHOD)},
                          end_sessions=True)

    def set_language(self, name: str, language: str) -> None:
        if language not in LANGUAGES:
            raise InvalidInput({"language": Msg("account.language")})
        self._update_user(name, {"language": language})

    def set_active(self, name: str, active: bool) -> None:
        self._update_user(name, {"active": bool(active)}, end_sessions=True)

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES:
            raise InvalidInput({"role": Msg("account.role")})
        self._update_user(name, {"role": role}, end_sessions=True)

    def _update_user(self, name: str, fields: dict, *, end_sessions: bool = False) -> None:
        """Change an account; ``end_sessions`` bumps its ``session_version``, which ends every
        session signed in before (:mod:`appliance.web.sessions`)."""
        with self._lock:
            users = self._db.table("users")
            found = users.get(Query().name == name)
            if not found:
                raise InvalidInput({"name": Msg("account.unknown")})
            if end_sessions:
                fields = {**fields, "session_version": int(found.get("session_version", 0)) + 1}
            users.update(fields, doc_ids=[found.doc_id])


@functools.cache
def dummy_hash() -> str:
    """A hash of the real cost for no account (made once: :meth:`Settings.open` makes it early)."""
    return generate_password_hash("not-a-password", method=_HASH_METHOD)


def _public(user: dict) -> dict:
    """An account without its password hash."""
    return {k: v for k, v in dict(user).items() if k != "password_hash"}
