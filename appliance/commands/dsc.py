"""``appliance dsc --out FILE``: write the DSC that verifies this device's certificates (PEM)."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from appliance.dcc import dsc as dsc_mod
from appliance.devices.signer import build_signer
from appliance.errors import DscError, UsageError
from appliance.config import load_config


def register(subparsers) -> None:
    parser = subparsers.add_parser("dsc", help="write this device's DSC (PEM) and print its kid",
                                   description="Write the DSC of the configured signer as PEM.")
    parser.add_argument("--out", required=True, metavar="FILE", help="where to write the PEM")
    parser.set_defaults(func=run)


def run(args) -> int:
    signer = build_signer(load_config())
    try:
        cert = signer.certificate
    finally:
        close = getattr(signer, "close", None)
        if close:
            close()
    if cert is None:
        raise DscError("this device has no DSC yet: make a CSR ('appliance provision csr') and "
                       "import the signed certificate ('appliance provision import-dsc FILE')")
    try:
        Path(args.out).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write the file ({exc.strerror})") from None
    print(base64.b64encode(dsc_mod.kid_of(cert)).decode())
    return 0
