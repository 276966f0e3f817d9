"""Admin: bulk issuance from a list, with letters by post (``/admin/batch``).

Upload the list (and a mapping, if any) -> the page shows the column mapping, a preview of
the first rows, the counts and the error report -> the admin confirms -> the batch runs in a
background thread of this process through the app's issuer (the same journal, the same
exactly-once keys as ``appliance batch issue``). Its progress lives in the batch's
``batch.json``, so the page shows the same bar after a reload or from another tablet; when
done it offers the error report, the manifest and the print files. Addresses stay in the
batch's folder and go with "delete"; nothing of it is ever synced.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for

from appliance.batch import jobs
from appliance.batch.columns import ADDRESS_FIELDS
from appliance.batch.store import BatchStore
from appliance.dcc import model
from appliance.errors import ApplianceError, InvalidInput
from appliance.web.common import _, admin_required, audit, current_user, devices, effective_config, now
from appliance.messages import render

log = logging.getLogger(__name__)
bp = Blueprint("batch", __name__, url_prefix="/admin/batch")

MAX_UPLOAD = 64 * 1024 * 1024
PREVIEW_ROWS = 5
_threads: dict[str, threading.Thread] = {}     # batch id -> its running thread (this process)
_threads_lock = threading.Lock()


def _store() -> BatchStore:
    return BatchStore(Path(devices().config.state_dir))


def _german(message: str) -> str:
    return render(message, "de")


def _context(bid: str):
    d = devices()
    centre = d.settings.centre()
    return dict(operator=f"web:{current_user()['name']}", now=now(), device=effective_config().device,
                journal=d.journal, tz=ZoneInfo(centre.get("timezone", "Europe/Berlin")), german=_german)


@bp.url_value_preprocessor
def _upload_limit(endpoint, values) -> None:
    """Lists are larger than the app's 64 KB form limit. URL preprocessors run before every
    before-request hook, so the limit is raised before the CSRF check reads the form; only here."""
    if endpoint == "batch.upload":
        request.max_content_length = MAX_UPLOAD


@bp.route("/")
@admin_required
def index():
    store = _store()
    batches = [b for b in store.list() if b.get("kind") == "issue"]
    return render_template("batch/index.html", batches=batches, types=model.TYPES)


@bp.route("/upload", methods=["POST"])
@admin_required
def upload():
    type_ = request.form.get("type", "")
    upload_file = request.files.get("list")
    if type_ not in model.TYPES or upload_file is None or not upload_file.filename:
        flash(_("batch_refused_file", why="type / file"), "error")
        return redirect(url_for("batch.index"), code=303)
    data = upload_file.read()
    mapping = request.files.get("map")
    map_data = mapping.read() if mapping is not None and mapping.filename else None
    try:
        prepared = jobs.prepare(_store(), type_=type_, data=data, name=Path(upload_file.filename).name,
                                map_data=map_data, out=None, **_context(""))
    except InvalidInput as exc:
        flash(_("batch_refused_file", why="; ".join(exc.field_errors.values())), "error")
        return redirect(url_for("batch.index"), code=303)
    audit.info("batch %s uploaded by %s (%d rows)", prepared.id, current_user()["name"], prepared.validation.rows)
    return redirect(url_for("batch.show", bid=prepared.id), code=303)


def _preview(bid: str, meta: dict) -> list[dict]:
    from appliance.batch import read  # lazy: only the preview of a checked list reads it again

    folder = _store().folder(bid)
    source = next((p for p in (folder / "input.csv", folder / "input.xlsx") if p.exists()), None)
    if source is None:
        return []
    table = read.parse_bytes(source.read_bytes(), meta.get("source", source.name))
    index = {h: i for i, h in enumerate(table.headers)}
    shown = [h for f, h in meta.get("columns", {}).items() if f not in ADDRESS_FIELDS]
    return [{"row": n, "cells": [cells[index[h]] if index[h] < len(cells) else "" for h in shown]}
            for n, cells in table.rows[:PREVIEW_ROWS]]


@bp.route("/<bid>")
@admin_required
def show(bid: str):
    store = _store()
    meta = store.load(bid, missing_ok=True) if bid.isalnum() else None
    if meta is None or meta.get("kind") != "issue":
        abort(404)
    with _threads_lock:
        thread = _threads.get(bid)
    running = store.is_running(bid) or (thread is not None and thread.is_alive())
    columns = meta.get("columns", {})
    shown = [h for f, h in columns.items() if f not in ADDRESS_FIELDS]
    return render_template("batch/show.html", meta=meta, running=running, columns=columns, shown=shown,
                           preview=_preview(bid, meta) if meta.get("state") in ("validated", "new") else [],
                           counts=meta.get("counts", {}), progress=meta.get("progress", {}))


@bp.route("/<bid>/confirm", methods=["POST"])
@admin_required
def confirm(bid: str):
    store = _store()
    meta = store.load(bid, missing_ok=True) if bid.isalnum() else None
    if meta is None or meta.get("kind") != "issue":
        abort(404)
    with _threads_lock:
        alive = _threads.get(bid)
        if (alive is None or not alive.is_alive()) and not store.is_running(bid):
            store.update(bid, now(), state="running", progress={"done": 0, "total": meta["counts"].get("valid", 0)})
            thread = threading.Thread(target=_run, args=(devices(), bid, _context(bid), current_user()["name"]),
                                      name=f"batch-{bid}", daemon=True)
            _threads[bid] = thread
            thread.start()
    audit.info("batch %s confirmed by %s", bid, current_user()["name"])
    return redirect(url_for("batch.show", bid=bid), code=303)


def _run(services, bid: str, context: dict, user: str) -> None:
    """The background run: validate again (the journal may have changed), then sign and write letters."""
    store = BatchStore(Path(services.config.state_dir))
    try:
        prepared = jobs.prepare_stored(store, bid, **{**context, "now": services.clock.now()})
        centre = services.settings.centre().get("name") or context["device"].issuer
        jobs.execute(store, prepared, issuer=services.issuer, clock=services.clock, operator=context["operator"],
                     centre=centre, return_line=centre, german=_german)
        log.info("batch %s done (confirmed by %s)", bid, user)
    except ApplianceError as exc:
        log.warning("batch %s stopped: %s", bid, type(exc).__name__)
        store.update(bid, services.clock.now(), state="failed", error=str(exc)[:300])
    except Exception:
        log.exception("batch %s failed", bid)
        store.update(bid, services.clock.now(), state="failed", error="internal error")


@bp.route("/<bid>/files/<name>")
@admin_required
def download(bid: str, name: str):
    store = _store()
    meta = store.load(bid, missing_ok=True) if bid.isalnum() else None
    if meta is None or meta.get("kind") != "issue":
        abort(404)
    allowed = {"errors.csv", "manifest.csv", *meta.get("files", [])}
    path = Path(meta.get("out", "")) / name
    if name not in allowed or not path.is_file():
        abort(404)
    audit.info("batch %s: %s downloaded by %s", bid, name, current_user()["name"])
    mimetype = "application/pdf" if name.endswith(".pdf") else "text/csv"
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)


@bp.route("/<bid>/purge", methods=["POST"])
@admin_required
def purge(bid: str):
    store = _store()
    if not bid.isalnum() or store.load(bid, missing_ok=True) is None:
        abort(404)
    store.purge(bid)
    audit.info("batch %s purged by %s", bid, current_user()["name"])
    flash(_("batch_purged", id=bid), "ok")
    return redirect(url_for("batch.index"), code=303)
