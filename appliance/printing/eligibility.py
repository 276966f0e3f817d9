"""What the print service checks before a receipt goes out: never a revoked certificate, and
LAB/TEST said on the receipt of a certificate signed with a test DSC.

Both read the device's own records: the journal (a ``revoked`` entry) and the signer's DSC
(:func:`appliance.dcc.dsc.is_test_dsc`). A revocation is checked when a job is submitted and
again right before it is sent, so a job queued before the revocation is dropped, not printed.
"""

from __future__ import annotations

import logging

from appliance.dcc import dsc, verify
from appliance.errors import ApplianceError, CertificateRevoked

log = logging.getLogger(__name__)


def is_revoked(journal, uvci: str) -> bool:
    """The journal (if there is one here) has the certificate revoked."""
    return journal is not None and journal.revocation(uvci) is not None


def refuse_if_revoked(journal, uvci: str) -> None:
    """:raises CertificateRevoked: the certificate is revoked; nothing may be queued for it."""
    if is_revoked(journal, uvci):
        raise CertificateRevoked("this certificate is revoked; it is not printed again")


def signed_by_test_dsc(signer, hc1: str) -> bool:
    """``hc1`` carries the kid of ``signer``'s DSC and that DSC is a LAB/TEST or DEMO one."""
    try:
        cert = signer.certificate if signer is not None else None
        if cert is None:
            return False
        cose = verify.parse_cose(verify.decompress(verify.b45(verify.unprefix(hc1))))
        return cose.kid == dsc.kid_of(cert) and dsc.is_test_dsc(cert)
    except ApplianceError:   # not decodable, or the token is unplugged: no mark (the screen still shows it)
        return False
