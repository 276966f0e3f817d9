"""Whether a ``[printer]`` section can work for its kind, before anything is saved or opened.

The admin page checks the printer settings with :func:`printer_problems` (the settings
store refuses what it reports, naming the field); :func:`appliance.devices.printer.build_printer`
builds the adapter. No python-escpos here: the settings store imports this on every start.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from appliance.messages import Msg

PRINTER_KINDS = ("file", "network", "usb", "serial", "device")
PAPER_WIDTHS = (58, 80)
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.:-]{0,252}[A-Za-z0-9])?")


def printer_problems(section, state_dir: Path) -> dict[str, str]:
    """What makes a ``[printer]`` section (a :class:`~appliance.config.PrinterSection`) unusable for
    its kind: ``{"printer.<key>": message}``, empty when it can work."""
    if section.kind not in PRINTER_KINDS:
        return {"printer.kind": Msg("printer.kind", kinds=", ".join(PRINTER_KINDS))}
    errors = {}
    if section.paper_width_mm not in PAPER_WIDTHS:
        errors["printer.paper_width_mm"] = Msg("printer.paper_width")
    if not 1 <= section.port <= 65535:
        errors["printer.port"] = Msg("printer.port")
    if section.kind == "network" and not section.host:
        errors["printer.host"] = Msg("printer.host_required")
    elif section.kind == "network" and not _HOST.fullmatch(section.host):
        errors["printer.host"] = Msg("printer.host_invalid")
    elif section.kind == "file":
        problem = _folder_problem(Path(section.path) if section.path else Path(state_dir) / "receipts")
        if problem:
            errors["printer.path"] = problem
    elif section.kind in ("serial", "device") and not section.path.startswith("/"):
        errors["printer.path"] = Msg("printer.device_path")
    elif section.kind == "usb" and not (section.vendor_id and section.product_id):
        errors["printer.kind"] = Msg("printer.usb_ids")
    return errors


def _folder_problem(folder: Path) -> str | None:
    """Why a file printer cannot write receipts into ``folder`` (made on the first receipt), or None."""
    if not folder.is_absolute():
        return Msg("printer.folder_absolute")
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return Msg("printer.folder_is_file")
    if not os.access(probe, os.W_OK | os.X_OK):
        return Msg("printer.folder_not_writable")
    return None
