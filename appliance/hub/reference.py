"""The hub's reference-data side: published bundles and ``GET /api/v1/reference/latest``.

``appliance hub reference publish`` (:func:`publish`) builds and signs a bundle from files
(and, with ``--revocations hub``, from the hub's own revocation export, so a revocation made
on one device reaches every device's verify page) and stores it as
``<hub state>/reference/bundles/NNNNNN.dccbundle``. Every bundle is complete: content not
given is carried forward from the previous one (:mod:`appliance.reference.publish`).

``GET /api/v1/reference/latest?have=valuesets:3,trustlist:2,revocations:0,rules:1`` is open
(bundles are signed and hold no personal data): 200 with the newest bundle when any of its
content types is newer than ``have``, 204 when the device is current, 400 on a bad ``have``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request

from appliance.errors import ReferenceDataError
from appliance.reference import publish as builder
from appliance.reference.bundle import CONTENT_TYPES, Bundle, peek
from appliance.util.atomic import write_atomic

log = logging.getLogger(__name__)
bp = Blueprint("hub_reference", __name__)

FOLDER = "reference/bundles"
SUFFIX = ".dccbundle"
MEDIA_TYPE = "application/cbor"


def bundles_dir(state_dir: Path) -> Path:
    return Path(state_dir) / FOLDER


def latest_file(state_dir: Path) -> Path | None:
    files = sorted(bundles_dir(state_dir).glob(f"*{SUFFIX}"))
    return files[-1] if files else None


def latest_bundle(state_dir: Path) -> Bundle | None:
    path = latest_file(state_dir)
    return peek(path.read_bytes()) if path else None


def publish(state_dir: Path, new: dict, *, key, certificate, now: datetime, publisher: str = "") -> tuple[Path, Bundle]:
    """Sign the next bundle and store it; returns its file and its parts."""
    previous = latest_bundle(state_dir)
    data, parts = builder.build(new, previous, key=key, certificate=certificate, now=now, publisher=publisher)
    folder = bundles_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    last = latest_file(state_dir)
    number = int(last.stem) + 1 if last is not None and last.stem.isdigit() else 1
    path = folder / f"{number:06d}{SUFFIX}"
    write_atomic(path, data)
    log.info("reference bundle %s published: %s", path.name,
             ", ".join(f"{n} {p.version}" for n, p in sorted(parts.items())))
    return path, Bundle("", publisher, parts)


def parse_have(text: str) -> dict[str, int]:
    """``"valuesets:3,rules:1"`` -> ``{"valuesets": 3, "rules": 1}``; ValueError names the problem."""
    have: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, number = item.partition(":")
        if name not in CONTENT_TYPES:
            raise ValueError(f"unknown content type {name!r} (known: {', '.join(CONTENT_TYPES)})")
        if not sep or not number.isdigit():
            raise ValueError(f"{name}: the version must be a whole number, e.g. {name}:3")
        have[name] = int(number)
    return have


def init_app(app, config) -> None:
    """Register the blueprint on the hub app (its one registration line)."""
    app.config["HUB_REFERENCE_STATE"] = Path(config.state_dir)
    app.register_blueprint(bp)


@bp.get("/api/v1/reference/latest")
def latest():
    try:
        have = parse_have(request.args.get("have", ""))
    except ValueError as exc:
        return jsonify(error=f"have: {exc}"), 400
    state = current_app.config["HUB_REFERENCE_STATE"]
    path = latest_file(state)
    if path is None:
        return Response(status=204)
    data = path.read_bytes()
    try:
        bundle = peek(data)
    except (ReferenceDataError, ValueError) as exc:
        log.error("the published bundle %s cannot be read: %s", path.name, exc)
        return jsonify(error="the hub's newest bundle is damaged; publish again"), 500
    if not any(part.version > have.get(name, 0) for name, part in bundle.parts.items()):
        return Response(status=204)
    return Response(data, status=200, mimetype=MEDIA_TYPE,
                    headers={"Content-Disposition": f"attachment; filename={path.name}"})
