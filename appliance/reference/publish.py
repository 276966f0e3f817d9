"""Build and sign a bundle from files: what ``appliance hub reference publish`` does.

Each content type given gets the version after the one in ``previous`` (the last bundle
published, or 1); content types not given are carried forward from ``previous`` with their
version and bytes unchanged, so every published bundle is complete and a device that
missed some bundles catches up with the newest one alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.errors import ReferenceDataError
from appliance.reference import content
from appliance.reference.bundle import Bundle, Part, sign_bundle
from appliance.util.timefmt import fmt_utc

log = logging.getLogger(__name__)


def read_inputs(*, valuesets: Path | None = None, trustlist: Path | None = None,
                revocations: Path | list | None = None, rules: Path | None = None) -> dict[str, Any]:
    """Read and check the given inputs; ``revocations`` may already be a list of batches."""
    out: dict[str, Any] = {}
    if valuesets is not None:
        out["valuesets"] = content.read_valuesets(Path(valuesets))
    if trustlist is not None:
        out["trustlist"] = content.read_trustlist(Path(trustlist))
    if isinstance(revocations, list):
        content.check_revocations(revocations)
        out["revocations"] = revocations
    elif revocations is not None:
        out["revocations"] = content.read_revocations(Path(revocations))
    if rules is not None:
        out["rules"] = content.read_rules(Path(rules))
    if not out:
        raise ReferenceDataError("nothing to publish: give --valuesets, --trustlist, --revocations or --rules")
    return out


def next_parts(new: Mapping[str, Any], previous: Bundle | None, *, now: datetime) -> dict[str, Part]:
    """The parts of the next bundle: ``new`` content one version up, the rest carried forward."""
    parts = dict(previous.parts) if previous else {}
    for name, value in new.items():
        version = parts[name].version + 1 if name in parts else 1
        parts[name] = content.to_part(value, version=version, created=fmt_utc(now))
    return parts


def load_key(key_file: Path, cert_file: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The reference-data signing key (PEM, unencrypted) and its certificate (PEM)."""
    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    except OSError as exc:
        raise ReferenceDataError(f"{exc.filename}: cannot read ({exc.strerror})") from None
    except (ValueError, TypeError) as exc:
        raise ReferenceDataError(f"--key/--cert: not a PEM key and certificate ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise ReferenceDataError("--key and --cert do not belong together (or the key is not EC P-256)")
    return key, cert


def build(new: Mapping[str, Any], previous: Bundle | None, *, key, certificate, now: datetime,
          publisher: str = "") -> tuple[bytes, dict[str, Part]]:
    """The signed bundle bytes and its parts."""
    parts = next_parts(new, previous, now=now)
    return sign_bundle(parts, key=key, certificate=certificate, now=now, publisher=publisher), parts
