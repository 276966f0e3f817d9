"""The trust anchor of reference data: the central office's certificate given at provisioning
(``[reference] trust_anchor``, a PEM or DER file). Bundles signed by it, or by a key whose
certificate it signed, are accepted."""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography import x509

from appliance.errors import ConfigError

log = logging.getLogger(__name__)


def load_anchor(config) -> x509.Certificate:
    """The configured anchor; a :class:`ConfigError` naming the key when it is unset or unreadable."""
    name = config.reference.trust_anchor
    if not name:
        raise ConfigError(f"{config.source}: [reference] trust_anchor is not set; give the central office's "
                          "reference-data certificate (PEM) to accept bundles")
    path = Path(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{config.source}: [reference] trust_anchor={name}: cannot read ({exc.strerror})") from None
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError:
        raise ConfigError(f"{config.source}: [reference] trust_anchor={name}: not a PEM or DER certificate") from None
