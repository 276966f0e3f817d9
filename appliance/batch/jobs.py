"""A batch from start to finish, as the command line and the tablet run it.

:func:`prepare`: read the list, give it its id (the same file is the same batch), keep a copy
in the batch's folder, validate every row, write ``errors.csv`` and ``summary.json`` and record
the counts; nothing is signed. :func:`execute` (after staff confirmed, or ``--yes``): hold the
batch's run lock, sign through the runner, write the reports, record the outcome. Both may be
called again at any time; a batch that was killed continues where it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from appliance.batch import read, runner
from appliance.batch.columns import parse_map
from appliance.batch.store import BatchStore, batch_id
from appliance.batch.validate import Validation, validate
from appliance.util.timefmt import fmt_utc

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    meta: dict
    validation: Validation
    table: read.Table
    out: Path

    @property
    def id(self) -> str:
        return self.meta["id"]


def input_name(data: bytes) -> str:
    return "input.xlsx" if data.startswith(b"PK\x03\x04") else "input.csv"


def counts_of(validation: Validation) -> dict:
    return {"rows": validation.rows, "valid": len(validation.items), "invalid": len(validation.invalid_rows),
            "duplicates": validation.duplicates, "already_issued": validation.already}


def prepare(store: BatchStore, *, type_: str, data: bytes, name: str, map_data: bytes | None, out: Path | None,
            operator: str, now: datetime, device, journal, tz: ZoneInfo,
            german: Callable[[str], str] = lambda m: m) -> Prepared:
    """Read and validate a list; make (or find) its batch. Raises InvalidInput for an unusable file."""
    mapping = parse_map(map_data, "the map") if map_data else parse_map(b"")
    table = read.parse_bytes(data, name)
    bid = batch_id("issue", type_, data, map_data or b"")
    files = {input_name(data): data, **({"map.toml": map_data} if map_data else {})}
    meta = store.create(bid, {"kind": "issue", "type": type_, "source": Path(name).name, "created_at": fmt_utc(now),
                              "operator": operator, "state": "new"}, files)
    out = Path(out) if out is not None else store.folder(bid) / "out"
    runner.prepare_out(out, bid)
    validation = validate(table, type_, mapping, batch_id=bid, device=device, now=now, tz=tz, journal=journal,
                          german=german)
    counts = counts_of(validation)
    runner.write_reports(out, validation, None, {"batch": bid, **counts, "state": "validated"})
    outs = sorted({*meta.get("outs", []), str(out.resolve())})
    meta = store.update(bid, now, out=str(out.resolve()), outs=outs, counts=counts,
                        state=meta["state"] if meta["state"] in ("running", "done") else "validated",
                        columns={f: table.headers[i] for f, i in validation.columns.index.items()},
                        ignored=validation.columns.ignored, encoding=table.encoding, delimiter=table.delimiter,
                        file_kind=table.kind)
    return Prepared(meta=meta, validation=validation, table=table, out=out)


def prepare_stored(store: BatchStore, bid: str, **kw) -> Prepared:
    """:func:`prepare` again from the copy of the list kept in the batch's folder."""
    meta = store.load(bid)
    folder = store.folder(bid)
    source = next(p for p in (folder / "input.csv", folder / "input.xlsx") if p.exists())
    map_path = folder / "map.toml"
    return prepare(store, type_=meta["type"], data=source.read_bytes(), name=meta.get("source", source.name),
                   map_data=map_path.read_bytes() if map_path.exists() else None, out=Path(meta["out"]), **kw)


def execute(store: BatchStore, prepared: Prepared, *, issuer, clock, operator: str, centre: str, return_line: str = "",
            workers: int | None = None, german: Callable[[str], str] = lambda m: m,
            on_progress: Callable[[int, int], None] | None = None, group_size: int = runner.GROUP_SIZE,
            per_file: int = 500) -> runner.RunResult:
    """Sign the prepared batch (exactly once; resumes a killed run)."""
    bid = prepared.id
    with store.running(bid):
        total = len(prepared.validation.items)
        store.update(bid, clock.now(), state="running", progress={"done": 0, "total": total},
                     started_at=fmt_utc(clock.now()), error=None)

        def progress(done: int, total: int) -> None:
            store.update(bid, clock.now(), progress={"done": done, "total": total})
            if on_progress is not None:
                on_progress(done, total)

        try:
            result = runner.run(prepared.validation, issuer=issuer, out=prepared.out, operator=operator, centre=centre,
                                return_line=return_line, workers=workers, german=german, on_group=progress,
                                group_size=group_size, per_file=per_file)
        except Exception as exc:
            store.update(bid, clock.now(), state="failed", error=f"{type(exc).__name__}: {exc}"[:300])
            raise
        counts = {**counts_of(prepared.validation), **result.counts()}
        runner.write_reports(prepared.out, prepared.validation, result, {"batch": bid, **counts, "state": "done",
                                                                         "files": result.files})
        store.update(bid, clock.now(), state="done", counts=counts, files=result.files,
                     finished_at=fmt_utc(clock.now()))
    return result
