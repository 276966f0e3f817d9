"""Ask the hub for a newer reference-data bundle and install it (called by the sync agent).

``GET <hub>/api/v1/reference/latest?have=valuesets:3,trustlist:2,revocations:0,rules:1``
answers 204 when the hub has nothing newer, or 200 with the newest ``.dccbundle``
(``application/cbor``). The bundle goes through the same checks and atomic install as a USB
import (:func:`appliance.reference.store.install`), so a hub cannot push anything the
trust anchor did not sign, nor an older version.

The connection follows the sync rules: HTTPS with only ``[sync] ca_file`` trusted, plain
HTTP only to loopback. ``transport`` lets tests call a hub app in-process
(``httpx.WSGITransport``).
"""

from __future__ import annotations

import logging
import ssl
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from appliance.errors import ApplianceError, ConfigError, HubError, HubUnreachable
from appliance.reference import store
from appliance.reference.anchor import load_anchor
from appliance.reference.bundle import CONTENT_TYPES, MAX_BUNDLE_BYTES

log = logging.getLogger(__name__)

PATH = "/api/v1/reference/latest"


def have_param(versions: dict[str, int]) -> str:
    return ",".join(f"{t}:{versions.get(t, 0)}" for t in CONTENT_TYPES)


def _verify(hub_url: str, ca_file: str) -> ssl.SSLContext | bool:
    parts = urlsplit(hub_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"[sync] hub_url={hub_url!r} must be an https:// URL of the hub")
    if parts.scheme == "http":
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"[sync] hub_url={hub_url!r}: plain http is only allowed to localhost; use https")
        return False
    if not ca_file:
        raise ConfigError("[sync] ca_file is needed for an https hub_url (it pins the hub's CA)")
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"[sync] ca_file={ca_file}: cannot load the CA ({exc})") from None


class HubReference:
    """Fetches bundles from the hub for one device; :meth:`update` installs a newer one."""

    def __init__(self, config, *, transport: httpx.BaseTransport | None = None, timeout_s: float = 10.0):
        self.config = config
        kwargs = {"transport": transport} if transport is not None else {
            "verify": _verify(config.sync.hub_url, config.sync.ca_file)}
        self._client = httpx.Client(base_url=config.sync.hub_url.rstrip("/") or "http://hub.invalid",
                                    timeout=httpx.Timeout(timeout_s, connect=5.0), **kwargs)

    @classmethod
    def from_config(cls, config) -> "HubReference | None":
        """The fetcher the sync agent uses; None when there is no hub, no trust anchor, or
        ``[reference] fetch = false``."""
        if not (config.sync.hub_url and config.reference.trust_anchor and config.reference.fetch):
            return None
        return cls(config)

    def latest(self, versions: dict[str, int]) -> bytes | None:
        """The hub's newer bundle, or None when it has nothing newer."""
        try:
            response = self._client.get(PATH, params={"have": have_param(versions)})
        except httpx.TransportError as exc:
            raise HubUnreachable(f"cannot ask the hub for reference data ({type(exc).__name__})") from None
        if response.status_code == 204:
            return None
        if response.status_code != 200:
            raise HubError(f"the hub refused the reference-data request ({response.status_code}): "
                           f"{response.text[:200]}")
        if len(response.content) > MAX_BUNDLE_BYTES:
            raise HubError(f"the hub's bundle is larger than {MAX_BUNDLE_BYTES} bytes; refused")
        return response.content

    def update(self, *, now: datetime) -> store.Installed | None:
        """Fetch and install a newer bundle; None when the device is current. Raises
        :class:`ApplianceError` (the agent logs it; syncing the journal is not affected)."""
        state = self.config.state_dir
        data = self.latest(store.versions(state))
        if data is None:
            return None
        result = store.install(state, data, anchor=load_anchor(self.config), now=now, source="hub")
        log.info("reference data from the hub installed as %s: %s", result.name, result.describe())
        return result

    def close(self) -> None:
        self._client.close()


def update_quietly(fetcher: HubReference | None, *, now: datetime) -> None:
    """:meth:`HubReference.update`, with every failure logged instead of raised."""
    if fetcher is None:
        return
    try:
        fetcher.update(now=now)
    except ApplianceError as exc:
        log.warning("reference data from the hub not installed: %s", exc)
