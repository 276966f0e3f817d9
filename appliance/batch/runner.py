"""The signing run: exactly once, resumable, grouped; letters after their group is durable.

Valid rows are put in print order first (postal code, then town and name; rows without an
address last) and cut into print files of at most 500. Then, group by group (200 rows):
:meth:`appliance.issue.Issuer.issue_group` signs the group and commits it in ONE journal
transaction, each entry carrying its row's identity as idempotency key; only after that
commit are the group's manifest lines written (and fsync'd), and a print file is handed to a
render worker only when every one of its rows is committed.

Running the same batch again (after a SIGKILL, or just again) finds the committed rows by
their keys: they are reproduced from the journal (HC1 and DCC from its personal table), never
signed again, and the remaining rows are signed. The print files are deterministic, so the
outputs of a second run are the same bytes; a print file that is already complete is kept.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from appliance.batch import render, reports
from appliance.batch.validate import RowError, RowItem, Validation
from appliance.errors import ApplianceError, UsageError
from appliance.printing.letters import Letter
from appliance.util.atomic import write_atomic

log = logging.getLogger(__name__)

GROUP_SIZE = 200


@dataclass
class RunResult:
    issued: int = 0
    reproduced: int = 0
    letters: int = 0
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    errors: list[RowError] = field(default_factory=list)
    sign_seconds: float = 0.0
    seconds: float = 0.0

    def counts(self) -> dict:
        return {"issued": self.issued, "reproduced": self.reproduced, "letters": self.letters,
                "files": len(self.files), "print_bytes": self.bytes, "sign_failed": len(self.errors)}


def print_order(items: list[RowItem], per_file: int = render.PER_FILE) -> list[list[RowItem]]:
    """The valid rows sorted as a letter shop wants them, cut into print files."""
    ordered = sorted(items, key=lambda item: item.sort_key)
    return [ordered[i:i + per_file] for i in range(0, len(ordered), per_file)]


def address_lines(address: dict) -> tuple[str, ...]:
    city = " ".join(x for x in (address.get("postal_code", ""), address.get("city", "")) if x)
    lines = (address.get("address_extra", ""), address.get("street", ""), city, address.get("address_country", ""))
    return tuple(x for x in lines if x)


def prepare_out(out: Path, bid: str) -> None:
    """Make ``out`` (0700) for batch ``bid``; refuse a folder that holds another batch's outputs."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    marker = out / ".batch-id"
    if marker.exists():
        owner = marker.read_text(encoding="utf-8").strip()
        if owner != bid:
            raise UsageError(f"--out {out} holds the outputs of batch {owner}; choose another folder "
                             f"or purge that batch first ('appliance batch purge {owner}')")
    elif (out / "manifest.csv").exists() or any(out.glob("letters-*.pdf")):
        raise UsageError(f"--out {out} already holds letters or a manifest; choose an empty folder")
    else:
        write_atomic(marker, (bid + "\n").encode(), mode=0o600)
    render.clean_partial(out)


def run(validation: Validation, *, issuer, out: Path, operator: str, centre: str, return_line: str = "",
        group_size: int = GROUP_SIZE, per_file: int = render.PER_FILE, workers: int | None = None,
        german: Callable[[str], str] = lambda m: m,
        on_group: Callable[[int, int], None] | None = None) -> RunResult:
    """Sign every valid row of ``validation`` exactly once and write the letters and the manifest to ``out``."""
    t0 = time.perf_counter()
    result = RunResult()
    files = print_order(validation.items, per_file)
    place = {item.key: (i, render.file_name(i)) for i, rows in enumerate(files) for item in rows}
    pending = {i: len(rows) for i, rows in enumerate(files)}
    letters: dict[int, list[Letter]] = {i: [] for i in range(len(files))}
    ordered = [item for rows in files for item in rows]
    total = len(ordered)
    manifest = reports.Manifest(out / "manifest.csv")
    renderer = render.Renderer(workers)
    try:
        for start in range(0, total, group_size):
            group = ordered[start:start + group_size]
            outcomes = issuer.issue_group([(item.key, item.request) for item in group], operator=operator)
            lines = []
            for item, outcome in zip(group, outcomes):
                index, name = place[item.key]
                pending[index] -= 1
                if isinstance(outcome, ApplianceError):
                    result.errors.append(_failed(item, outcome, german))
                else:
                    result.reproduced += outcome.replayed
                    result.issued += not outcome.replayed
                    letters[index].append(Letter(uvci=outcome.uvci, hc1=outcome.hc1, dcc=outcome.dcc, centre=centre,
                                                 issued_at=outcome.issued_at.isoformat(),
                                                 address=address_lines(item.address), return_line=return_line))
                    lines.append((item.row, outcome.uvci, name, len(letters[index]), item.address.get("postal_code", "")))
                if pending[index] == 0:
                    _finish_file(renderer, out / name, letters.pop(index), result)
            manifest.add(lines)
            if on_group is not None:
                on_group(start + len(group), total)
        result.sign_seconds = time.perf_counter() - t0
        for name, pages, size in renderer.results():
            result.letters += pages
            result.bytes += size
    finally:
        renderer.close()
        manifest.close()
    for path in result.files:
        if not (out / path).exists():
            raise ApplianceError(f"print file {path} was not written; run the batch again")
    result.bytes = sum((out / name).stat().st_size for name in result.files)
    result.seconds = time.perf_counter() - t0
    return result


def _finish_file(renderer: render.Renderer, path: Path, letters: list[Letter], result: RunResult) -> None:
    if not letters:
        return
    result.files.append(path.name)
    if path.exists():   # complete (written atomically) by an earlier run of this batch: the same bytes
        result.letters += len(letters)
        return
    renderer.submit(path, letters, f"Zertifikate / Certificates {path.stem}")


def _failed(item: RowItem, exc: ApplianceError, german: Callable[[str], str]) -> RowError:
    fields = getattr(exc, "field_errors", None) or {"(row)": str(exc)}
    column, message = next(iter(fields.items()))
    return RowError(item.row, column, "", f"not issued: {message}", f"nicht ausgestellt: {german(message)}")


def write_reports(out: Path, validation: Validation, result: RunResult | None, summary: dict) -> None:
    """``errors.csv`` (validation and signing problems, by row) and ``summary.json`` in ``out``."""
    errors = sorted([*validation.errors, *(result.errors if result else [])], key=lambda e: (e.row, e.column))
    write_atomic(out / "errors.csv", reports.errors_csv(errors), mode=0o600)
    write_atomic(out / "summary.json", json.dumps(summary, indent=1, sort_keys=True).encode("utf-8"), mode=0o600)
