"""The ports: one interface per side effect. Adapters implement them, services depend on them.

=================  =====================================================  ==============================
port               real adapter                                           fake (tests, demo, training)
=================  =====================================================  ==============================
``Signer``         :class:`~appliance.devices.pkcs11_signer.Pkcs11Signer`  :class:`~appliance.devices.signer.SoftwareSigner`
``Clock``          :class:`~appliance.devices.clock.SystemClock`           :class:`~appliance.devices.clock.FixedClock`
``ReceiptPrinter`` network, USB, serial, device (:mod:`.printer`)          :class:`~appliance.devices.printer.FilePrinter`
``Panel``          :class:`~appliance.devices.panel.StatusPanel` (gpiozero) the same on gpiozero's ``MockFactory``
``HubClient``      :class:`~appliance.devices.hub_client.HttpHubClient`    :class:`~appliance.devices.hub_client.InProcessHubClient`
=================  =====================================================  ==============================

Adapters translate their library's exceptions into :mod:`appliance.errors`, do nothing on
import, and open their hardware when built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Callable, Protocol, runtime_checkable

from cryptography import x509


@runtime_checkable
class Signer(Protocol):
    """Signs COSE Sig_structures (ES256) with a key it never reveals."""

    @property
    def kid(self) -> bytes:
        """The first 8 bytes of SHA-256 over the DSC (empty before a DSC is imported)."""
        ...

    @property
    def certificate(self) -> x509.Certificate | None:
        """The device certificate (DSC), or None before one is imported."""
        ...

    def sign(self, to_be_signed: bytes) -> bytes:
        """ES256 over ``to_be_signed``; returns raw ``r || s`` (64 bytes)."""
        ...


@runtime_checkable
class Clock(Protocol):
    """Tells the time (aware UTC) and what the policy in :mod:`appliance.clock_trust` needs."""

    def now(self) -> datetime: ...

    def is_synchronized(self) -> bool: ...

    def has_rtc(self) -> bool: ...

    def boot_id(self) -> str: ...

    def since_boot(self) -> float:
        """Seconds since this boot (CLOCK_BOOTTIME: counts suspend, never steps with the wall clock)."""
        ...


@dataclass(frozen=True)
class PrinterStatus:
    """``online``: True/False, None = cannot tell; ``paper``: ok | near_end | out | unknown."""

    online: bool | None
    paper: str
    detail: str

    def to_json(self) -> dict:
        return asdict(self)


@runtime_checkable
class ReceiptPrinter(Protocol):
    """Where receipts go."""

    kind: str

    def send(self, data: bytes, *, name: str = "receipt", preview: bytes | None = None) -> None:
        """Print ``data`` (ESC/POS); ``name`` and ``preview`` (PNG) are used by the file printer only."""

    def status(self) -> PrinterStatus:
        """Online and paper state, answered within a couple of seconds."""


@runtime_checkable
class Panel(Protocol):
    """The status panel: one light state at a time, a button with a short and a long press."""

    def show(self, state: str) -> None:
        """``"ready"``, ``"attention"`` or ``"fault"`` (see :mod:`appliance.health`)."""

    def on_reprint(self, action: Callable[[], None]) -> None:
        """What a short press does."""

    def on_sync_now(self, action: Callable[[], None]) -> None:
        """What a long press does."""

    def close(self) -> None: ...


@runtime_checkable
class HubClient(Protocol):
    """The device's side of the hub's batch API."""

    def acknowledged(self, device_id: str, credential: Callable[[int | None], str] | None = None) -> int:
        """The hub's high-water mark for this device (entries 1..N are stored). ``credential(at)`` signs
        the status request (:mod:`appliance.sync.status_request`) at the device's time (``None``) or at
        Unix time ``at`` (the hub's, when the clocks differ); without it the hub answers 0."""
        ...

    def push(self, device_id: str, batch_bytes: bytes) -> int:
        """Send one signed batch of ``device_id``; returns the hub's new high-water mark."""
        ...
