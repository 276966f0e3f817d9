from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from appliance.dcc import dsc
from appliance.devices.signer import SoftwareSigner
from appliance.errors import DscError


def test_load_pem_der_and_base64(software_signer):
    cert = software_signer.certificate
    der = cert.public_bytes(serialization.Encoding.DER)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    import base64
    for blob in (der, pem, base64.b64encode(der)):
        assert dsc.load_certificate(blob) == cert
    with pytest.raises(DscError, match="not an X.509 certificate"):
        dsc.load_certificate(b"garbage")


def test_eku_limits_types(now):
    only_tests = SoftwareSigner.generate(now=now, types="t")
    assert dsc.dcc_types_allowed(only_tests.certificate) == {"t"}
    dsc.check_dsc_for_issuing(only_tests.certificate, "t", now)
    with pytest.raises(DscError, match="does not allow vaccination"):
        dsc.check_dsc_for_issuing(only_tests.certificate, "v", now)


def test_validity_window(software_signer, now):
    cert = software_signer.certificate
    with pytest.raises(DscError, match="not valid before"):
        dsc.check_dsc_for_issuing(cert, "v", now - timedelta(days=3))
    with pytest.raises(DscError, match="expired"):
        dsc.check_dsc_for_issuing(cert, "v", now + timedelta(days=800))
    with pytest.raises(DscError, match="no device certificate"):
        dsc.check_dsc_for_issuing(None, "v", now)
