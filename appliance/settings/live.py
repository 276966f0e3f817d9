"""The settings as the services and other processes see them, at the moment of use.

:class:`LiveConfig` is what the issuer, the print service, the printer and the health verdict
hold instead of a configuration copied at start-up; :func:`effective_for` is the one-off read
for commands in their own process (``appliance journal purge``, ``appliance printer``).
"""

from __future__ import annotations

from pathlib import Path

from tinydb import TinyDB

from appliance.config import Config
from appliance.settings.store import AtomicJSONStorage, Settings


class LiveConfig:
    """The configuration as it is now: ``config`` with the admin's current settings.

    Services hold one instead of a copy made at start-up and read it at the moment of use
    (``live.device.issuer``, ``live.journal.retention_days``, ``live.printer``): an attribute is
    the current :class:`~appliance.config.Config`'s, which costs a stat of settings.json while
    nothing changed. :meth:`current` is one consistent snapshot.
    """

    def __init__(self, settings: Settings, config: Config):
        self._settings, self._config = settings, config

    def current(self) -> Config:
        return self._settings.effective_config(self._config)

    @property
    def centre_name(self) -> str:
        """The name on receipts: the admin's centre name, else the issuer."""
        return self._settings.centre_name(self._config)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.current(), name)


def effective_for(config: Config) -> Config:
    """``config`` with the admin's settings in its state directory, read once (for commands in
    their own process, e.g. ``appliance journal purge``); ``config`` itself when there are none."""
    path = Path(config.state_dir) / "settings.json"
    if not path.exists():
        return config
    settings = Settings(TinyDB(path, storage=AtomicJSONStorage), path)
    try:
        return settings.effective_config(config)
    finally:
        settings.close()
