"""The ``HubClient`` port: how the sync agent talks to the central hub.

:class:`HttpHubClient` speaks HTTPS with the hub's CA pinned (``[sync] ca_file``:
only that CA is trusted, not the system store); plain HTTP is accepted only for
loopback URLs (development, tests). :class:`InProcessHubClient` calls a hub app in
the same process (demo, training, tests). Both raise :class:`HubUnreachable` for
anything worth retrying and :class:`HubError` when the hub refuses.
"""

from __future__ import annotations

import logging
import ssl
from typing import Callable
from urllib.parse import quote, urlsplit

import httpx

from appliance.errors import ConfigError, HubError, HubUnreachable

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/cose"
HUB_TIME = "X-Hub-Time"   #: the hub's Unix time on every status answer (appliance.sync.status_request.HUB_TIME)
#: signs a status request: ``credential(None)`` at the device's time, ``credential(t)`` at Unix time t
Credential = Callable[[int | None], str]


def _reason(response) -> str:
    try:
        return str(response.json().get("error") or response.text)
    except ValueError:
        return response.text[:200]


def _answer(status: int, body: dict | None, reason: str, what: str) -> int:
    if status >= 500:
        raise HubUnreachable(f"hub failed ({status}) on {what}: {reason}; will retry")
    if status >= 400:
        raise HubError(f"hub refused {what} ({status}): {reason}")
    value = (body or {}).get("acknowledged_seq")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise HubUnreachable(f"hub answered {what} without a valid acknowledged_seq; will retry")
    return value


def _status(get: Callable[[dict], tuple[int, str | None]], credential: Credential | None) -> int:
    """The status request, signed with ``credential(None)`` (the device's clock). The hub answers a
    request it cannot accept as if it did not know the device (0); when the hub's clock
    (``X-Hub-Time``) is far from the device's, the request is signed once more at the hub's time,
    so a device with a wrong clock still resumes where the hub stopped."""
    if credential is None:
        return get({})[0]
    first = credential(None)
    ack, hub_time = get({"Authorization": first})
    if ack or hub_time is None or not hub_time.isdigit():
        return ack
    ack, _ = get({"Authorization": credential(int(hub_time))})
    if ack:
        log.warning("the hub accepted the status request only at its own time: this device's clock differs "
                    "from the hub's (hub time %s); check the device's time", hub_time)
    return ack


def _batch_path(device_id: str) -> str:
    return f"/api/v1/devices/{quote(device_id, safe='')}/batches"


class HttpHubClient:
    """The real client over httpx, with explicit short timeouts."""

    def __init__(self, hub_url: str, *, ca_file: str = "", timeout_s: float = 10.0,
                 report: Callable[[], dict[str, str]] | None = None):
        self._report = report    #: extra headers of every push (the device's versions, appliance.sync.versions)
        self.last_hub_time: str | None = None   #: ``X-Hub-Time`` of the last answer
        parts = urlsplit(hub_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"[sync] hub_url={hub_url!r} must be an https:// URL of the hub")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"[sync] hub_url={hub_url!r}: plain http is only allowed to localhost; use https")
        verify: ssl.SSLContext | bool = False
        if parts.scheme == "https":
            if not ca_file:
                raise ConfigError("[sync] ca_file is needed for an https hub_url (it pins the hub's CA)")
            try:
                verify = ssl.create_default_context(cafile=ca_file)  # only this CA, not the system store
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"[sync] ca_file={ca_file}: cannot load the CA ({exc})") from None
        self._client = httpx.Client(base_url=hub_url.rstrip("/"), verify=verify,
                                    timeout=httpx.Timeout(timeout_s, connect=5.0))

    @classmethod
    def from_config(cls, config, *, report: Callable[[], dict[str, str]] | None = None) -> "HttpHubClient":
        if not config.sync.hub_url:
            raise ConfigError(f"{config.source}: [sync] hub_url is not set; the sync agent needs the hub's URL")
        return cls(config.sync.hub_url, ca_file=config.sync.ca_file, report=report)

    def _request(self, method: str, path: str, what: str, **kwargs) -> int:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
                raise HubUnreachable("the hub's TLS certificate is not signed by the pinned CA "
                                     "([sync] ca_file); check the hub URL and the CA file") from None
            raise HubUnreachable(f"cannot connect to the hub ({text or type(exc).__name__}); will retry") from None
        except httpx.TransportError as exc:
            raise HubUnreachable(f"connection to the hub failed ({type(exc).__name__}); will retry") from None
        self.last_hub_time = response.headers.get(HUB_TIME)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        return _answer(response.status_code, body if isinstance(body, dict) else None,
                       _reason(response) if response.status_code >= 400 else "", what)

    def acknowledged(self, device_id: str, credential: Credential | None = None) -> int:
        """The high-water mark; ``credential(at)`` signs the status request (see :func:`_status`)."""
        path = f"/api/v1/devices/{quote(device_id, safe='')}"
        return _status(lambda headers: (self._request("GET", path, "the status request", headers=headers),
                                        self.last_hub_time), credential)

    def push(self, device_id: str, batch_bytes: bytes) -> int:
        return self._request("POST", _batch_path(device_id), "the batch", content=batch_bytes,
                             headers={"Content-Type": CONTENT_TYPE, **(self._report() if self._report else {})})

    def close(self) -> None:
        self._client.close()


class InProcessHubClient:
    """Calls a hub Flask app in this process (``appliance.hub.create_hub_app``)."""

    def __init__(self, app, *, report: Callable[[], dict[str, str]] | None = None):
        self._client = app.test_client()
        self._report = report

    def acknowledged(self, device_id: str, credential: Credential | None = None) -> int:
        def get(headers: dict) -> tuple[int, str | None]:
            r = self._client.get(f"/api/v1/devices/{quote(device_id, safe='')}", headers=headers)
            return _answer(r.status_code, r.get_json(silent=True), (r.get_json(silent=True) or {}).get("error", ""),
                           "the status request"), r.headers.get(HUB_TIME)
        return _status(get, credential)

    def push(self, device_id: str, batch_bytes: bytes) -> int:
        r = self._client.post(_batch_path(device_id), data=batch_bytes, content_type=CONTENT_TYPE,
                              headers=self._report() if self._report else None)
        return _answer(r.status_code, r.get_json(silent=True), (r.get_json(silent=True) or {}).get("error", ""),
                       "the batch")

    def close(self) -> None:
        pass
