"""The ``ReceiptPrinter`` port and its adapters (python-escpos underneath).

``send(data)`` returns only when the printer has taken every byte, and raises
:class:`PrinterUnavailable` (offline, unplugged, out of paper: worth retrying) or
:class:`PrinterError`. ``status()`` answers quickly (short timeouts; python-escpos would
wait 60 s by default) with a :class:`PrinterStatus`.

=========  ===========================================  ===========================
kind       adapter                                      status
=========  ===========================================  ===========================
file       :class:`FilePrinter` (demo): ``.bin`` + PNG   always online, paper ok
network    :class:`NetworkPrinter`: raw TCP (9100)       ``DLE EOT 1`` / ``DLE EOT 4``
usb        :class:`UsbPrinter`: pyusb/libusb            ``DLE EOT`` on the IN endpoint
serial     :class:`SerialPrinter`: pyserial             ``DLE EOT`` over the line
device     :class:`DevicePrinter`: e.g. /dev/usb/lp0     unknown (write-only)
=========  ===========================================  ===========================

"Took every byte": after the data, the network, USB and serial adapters ask the printer
for its status (``DLE EOT 1``). A printer answers real-time queries in order, so an answer
means everything sent before it has arrived. For the network printer a missing answer is
an error (the TCP send buffer proves nothing); USB and serial writes are acknowledged by
the driver, so there the answer is only logged when missing.

Nothing opens on import; every call opens and closes its own connection.
"""

from __future__ import annotations

import abc
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from escpos import printer as escpos_printer
from escpos.exceptions import DeviceNotFoundError

from appliance.util.atomic import write_atomic
from appliance.devices.ports import PrinterStatus, ReceiptPrinter
from appliance.errors import ConfigError, PrinterUnavailable

log = logging.getLogger(__name__)

DLE_EOT_ONLINE = b"\x10\x04\x01"
DLE_EOT_PAPER = b"\x10\x04\x04"
STATUS_TIMEOUT_S = 2.0   #: upper bound for status probes (the status page must answer fast)


def parse_online(byte: int | None) -> bool | None:
    """``DLE EOT 1`` reply: bit 3 set = offline (bits 1 and 4 are always set)."""
    if byte is None:
        return None
    return not byte & 0x08


def parse_paper(byte: int | None) -> str:
    """``DLE EOT 4`` reply: bits 5/6 = paper end, bits 2/3 = near end (e.g. 0x12 ok, 0x1E near, 0x72 out).

    An empty reply is *unknown*, never "ok" (python-escpos's ``paper_status`` reads it as ok).
    """
    if byte is None:
        return "unknown"
    if byte & 0x60:
        return "out"
    if byte & 0x0C:
        return "near_end"
    return "ok"


class FilePrinter:
    """The demo printer: each receipt becomes ``<name>.bin`` (its ESC/POS bytes) and ``<name>.png``."""

    kind = "file"
    wants_preview = True

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _write(self, path: Path, data: bytes) -> None:
        write_atomic(path, data, mode=0o600)

    def send(self, data: bytes, *, name: str = "receipt", preview: bytes | None = None) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if preview is not None:
                self._write(self.folder / f"{name}.png", preview)
            self._write(self.folder / f"{name}.bin", data)
        except OSError as exc:
            raise PrinterUnavailable(f"file printer: cannot write to {self.folder} ({exc.strerror}); "
                                     "check [printer] path and its permissions") from None

    def prune(self, *, before: float) -> int:
        """Delete receipt files older than ``before`` (a POSIX time): they carry names and birth dates."""
        removed = 0
        for path in self.folder.glob("job-*.*") if self.folder.is_dir() else []:
            try:
                if path.stat().st_mtime < before:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed

    def preview_path(self, name: str) -> Path | None:
        path = self.folder / f"{name}.png"
        return path if path.is_file() else None

    def status(self) -> PrinterStatus:
        probe = self.folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent                  # the folder is made on the first receipt
        if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
            return PrinterStatus(True, "ok", f"file printer writing to {self.folder}")
        return PrinterStatus(False, "unknown", f"file printer: {self.folder} is not writable")


class _EscposPrinter(abc.ABC):
    """Shared send/status logic over a python-escpos printer object made by ``_open``."""

    kind = "escpos"
    must_confirm = False      #: a missing status answer after the data is an error
    has_status = True
    wants_preview = False

    def __init__(self, profile: str, timeout_s: float):
        self.profile = profile
        self.timeout_s = timeout_s

    def describe(self) -> str:  # pragma: no cover - overridden
        return self.kind

    @abc.abstractmethod
    def _open(self, timeout_s: float):
        """The python-escpos printer object for this connection (not yet opened)."""

    def _connect(self, timeout_s: float):
        try:
            printer = self._open(timeout_s)
            printer.open()
            return printer
        except DeviceNotFoundError as exc:
            raise PrinterUnavailable(f"{self.describe()}: not reachable ({_first_line(exc)}); "
                                     f"{self._hint()}") from None
        except (OSError, ValueError) as exc:
            raise PrinterUnavailable(f"{self.describe()}: cannot open ({_first_line(exc)}); {self._hint()}") from None
        except Exception as exc:  # usb.core.NoBackendError and friends come from optional libraries
            raise PrinterUnavailable(f"{self.describe()}: cannot open ({type(exc).__name__}: "
                                     f"{_first_line(exc)}); {self._hint()}") from None

    def _hint(self) -> str:
        return "check that the printer is on and connected, then try again"

    def _query(self, printer, request: bytes) -> int | None:
        if not self.has_status:
            return None
        try:
            reply = printer.query_status(request)
        except Exception as exc:  # timeouts, resets, USB errors: the printer did not answer
            log.debug("%s: no answer to status query (%s)", self.describe(), type(exc).__name__)
            return None
        return reply[-1] if reply else None

    def send(self, data: bytes, *, name: str = "receipt", preview: bytes | None = None) -> None:
        printer = self._connect(self.timeout_s)
        try:
            paper = parse_paper(self._query(printer, DLE_EOT_PAPER))
            if paper == "out":
                raise PrinterUnavailable(f"{self.describe()}: out of paper; load a new roll")
            try:
                # python-escpos has no public call for prebuilt ESC/POS bytes: _raw is the transport's
                # write, stable across 3.1.x, which pyproject.toml pins for that reason
                printer._raw(data)
            except Exception as exc:
                raise PrinterUnavailable(f"{self.describe()}: the connection broke while printing "
                                         f"({type(exc).__name__}); the receipt will be sent again") from None
            answer = self._query(printer, DLE_EOT_ONLINE)
            if answer is None and self.must_confirm:
                raise PrinterUnavailable(f"{self.describe()}: the printer did not confirm the receipt; "
                                         "it will be sent again")
            if answer is None:
                log.info("%s: no status answer after printing", self.describe())
        finally:
            _close(printer)

    def status(self) -> PrinterStatus:
        try:
            printer = self._connect(min(self.timeout_s, STATUS_TIMEOUT_S))
        except PrinterUnavailable as exc:
            return PrinterStatus(False, "unknown", str(exc))
        try:
            online = parse_online(self._query(printer, DLE_EOT_ONLINE))
            paper = parse_paper(self._query(printer, DLE_EOT_PAPER) if online is not None else None)
        finally:
            _close(printer)
        if online is None:
            detail = f"{self.describe()}: connected, but it does not answer status queries"
        elif not online:
            detail = f"{self.describe()}: offline (cover open, paper out or error)"
        else:
            detail = f"{self.describe()}: online" + {"near_end": ", paper running low", "out": ", out of paper"}.get(paper, "")
        return PrinterStatus(online, paper, detail)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(line.strip() for line in text if line.strip())[:200] or type(exc).__name__


def _close(printer) -> None:
    try:
        printer.close()
    except Exception:  # closing a broken connection must not hide the real error
        log.debug("closing the printer connection failed", exc_info=True)


class NetworkPrinter(_EscposPrinter):
    """An Ethernet/Wi-Fi printer on raw TCP (port 9100)."""

    kind = "network"
    must_confirm = True

    def __init__(self, host: str, port: int = 9100, *, profile: str, timeout_s: float = 5.0):
        super().__init__(profile, timeout_s)
        if not host:
            raise ConfigError("[printer] kind = \"network\" needs [printer] host (the printer's IP address)")
        self.host, self.port = host, port

    def describe(self) -> str:
        return f"network printer {self.host}:{self.port}"

    def _hint(self) -> str:
        return "check the printer's power, cable and IP address ([printer] host, port)"

    def _open(self, timeout_s: float):
        return escpos_printer.Network(self.host, port=self.port, timeout=timeout_s, profile=self.profile)


def parse_usb_id(value: str, key: str) -> int:
    """``"04b8"`` or ``"0x04b8"`` -> 0x04b8; :class:`ConfigError` naming the key otherwise."""
    try:
        number = int(value, 16)
    except (TypeError, ValueError):
        raise ConfigError(f"[printer] {key}={value!r} is not a hexadecimal USB id like \"04b8\" "
                          "(see lsusb)") from None
    if not 0 < number <= 0xFFFF:
        raise ConfigError(f"[printer] {key}={value!r} is outside 0001..ffff")
    return number


class UsbPrinter(_EscposPrinter):
    """A USB printer through pyusb/libusb (needs read/write access: see the udev rule)."""

    kind = "usb"

    def __init__(self, vendor_id: str, product_id: str, *, profile: str, timeout_s: float = 5.0):
        super().__init__(profile, timeout_s)
        self.vendor_id = parse_usb_id(vendor_id, "vendor_id")
        self.product_id = parse_usb_id(product_id, "product_id")

    def describe(self) -> str:
        return f"USB printer {self.vendor_id:04x}:{self.product_id:04x}"

    def _hint(self) -> str:
        return ("check the cable, that libusb-1.0-0 is installed, and [printer] vendor_id/product_id "
                "against `lsusb`")

    def _open(self, timeout_s: float):
        return escpos_printer.Usb(self.vendor_id, self.product_id, timeout=int(timeout_s * 1000), profile=self.profile)


class SerialPrinter(_EscposPrinter):
    """A printer on a serial line (RS-232 or USB-serial), 8N1 with DSR/DTR flow control."""

    kind = "serial"

    def __init__(self, path: str, baudrate: int = 19200, *, profile: str, timeout_s: float = 5.0):
        super().__init__(profile, timeout_s)
        if not path:
            raise ConfigError("[printer] kind = \"serial\" needs [printer] path, e.g. /dev/ttyUSB0")
        self.path, self.baudrate = path, baudrate

    def describe(self) -> str:
        return f"serial printer {self.path}"

    def _open(self, timeout_s: float):
        return escpos_printer.Serial(self.path, baudrate=self.baudrate, timeout=timeout_s, profile=self.profile)


class DevicePrinter(_EscposPrinter):
    """A write-only device file such as ``/dev/usb/lp0`` (the kernel's usblp driver): no status."""

    kind = "device"
    has_status = False

    def __init__(self, path: str, *, profile: str, timeout_s: float = 5.0):
        super().__init__(profile, timeout_s)
        if not path:
            raise ConfigError("[printer] kind = \"device\" needs [printer] path, e.g. /dev/usb/lp0")
        self.path = path

    def describe(self) -> str:
        return f"printer device {self.path}"

    def _open(self, timeout_s: float):
        return escpos_printer.File(self.path, profile=self.profile)

    def status(self) -> PrinterStatus:
        if not os.path.exists(self.path):
            return PrinterStatus(False, "unknown", f"{self.describe()} does not exist; is the printer plugged in?")
        if not os.access(self.path, os.W_OK):
            return PrinterStatus(False, "unknown", f"{self.describe()} is not writable; check the udev rule")
        return PrinterStatus(None, "unknown", f"{self.describe()}: present (this connection reports no status)")


class UnusablePrinter:
    """Stands in when ``[printer]`` is wrong: every send fails with the reason, status shows it."""

    kind = "unusable"
    wants_preview = False

    def __init__(self, reason: str):
        self.reason = reason

    def send(self, data: bytes, *, name: str = "receipt", preview: bytes | None = None) -> None:
        raise PrinterUnavailable(self.reason)

    def status(self) -> PrinterStatus:
        return PrinterStatus(False, "unknown", self.reason)


def build_printer(config) -> ReceiptPrinter:
    """The adapter that ``[printer] kind`` names (nothing is opened yet)."""
    section = config.printer
    common = {"profile": section.profile, "timeout_s": section.timeout_s}
    if section.kind == "file":
        return FilePrinter(Path(section.path) if section.path else Path(config.state_dir) / "receipts")
    if section.kind == "network":
        return NetworkPrinter(section.host, section.port, **common)
    if section.kind == "usb":
        return UsbPrinter(section.vendor_id, section.product_id, **common)
    if section.kind == "serial":
        return SerialPrinter(section.path, section.baudrate, **common)
    if section.kind == "device":
        return DevicePrinter(section.path, **common)
    raise ConfigError(f"[printer] kind={section.kind!r} is not one of file, network, usb, serial, device")
