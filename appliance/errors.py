"""One error hierarchy for the whole appliance.

Every message says what is wrong and what to do about it. Messages never carry
personal data or key material.

::

    ApplianceError
     +-- UsageError              bad command-line use (exit 2)
     +-- ConfigError             a configuration file or key is wrong
     +-- InvalidInput            input data rejected; .field_errors maps field -> message
     +-- IdempotencyConflict     a request token was used again with different data
     +-- CertificateRevoked      the certificate is revoked: it is not printed or shown as issued
     +-- DecodeError             a string is not a valid HC1 certificate
     +-- SigningError            the signer failed or refused
     |    +-- SignerUnavailable  token, module, key or PIN missing or wrong
     |    +-- DscError           the device certificate is missing, expired, wrong key, wrong EKU
     +-- ClockNotTrusted         the system time cannot be trusted for issuing
     +-- DiskFull                the state directory's disk has no room left
     +-- JournalError            the issuance journal cannot be used
     |    +-- JournalCorrupt     hash chain broken, foreign or damaged file
     +-- PrinterError            the receipt printer failed
     |    +-- PrinterUnavailable offline, unplugged, out of paper
     +-- HubError                the central hub refused or failed
     |    +-- HubUnreachable     no connection to the hub
     +-- ReferenceDataError      a reference-data bundle is refused, or installed data is unusable
"""

from __future__ import annotations

from appliance.messages import Msg, render_all  # noqa: F401 - Msg: raise sites may import it from here


class ApplianceError(Exception):
    """Base class of every error the appliance raises on purpose."""

    exit_code = 1


class UsageError(ApplianceError):
    """The command line was used wrongly."""

    exit_code = 2


class ConfigError(ApplianceError, ValueError):
    """A configuration file or key is wrong; the message names the file and key."""


class InvalidInput(ApplianceError, ValueError):
    """Input data was rejected.

    :param field_errors: maps a field name (as the user sees it, e.g.
        ``vaccination.date``) to a message that says what is wrong: a
        :class:`~appliance.messages.Msg` (a message id with parameters from the ``pipeline``
        catalogue, which reads as its English text), so a screen can show it in the
        reader's language (:meth:`rendered`). A plain ``str`` still works (CLI-only
        messages) but a German screen shows it as the generic "invalid entry" message.
    """

    def __init__(self, field_errors: dict[str, str] | str, message: str | None = None):
        if isinstance(field_errors, str):
            field_errors = {"input": field_errors}
        self.field_errors = dict(field_errors)
        if message is None:
            message = "; ".join(f"{k}: {v}" for k, v in self.field_errors.items())
        super().__init__(message)

    def rendered(self, lang: str) -> dict[str, str]:
        """field -> its message in ``lang`` (through the catalogue)."""
        return render_all(self.field_errors, lang)



class IdempotencyConflict(ApplianceError):
    """A request's idempotency token was already used for a request with different data."""


class CertificateRevoked(ApplianceError):
    """The certificate is revoked: it is never printed again, shown as issued or verified as valid."""


class DecodeError(ApplianceError, ValueError):
    """A string is not a valid HC1 certificate (prefix, Base45, zlib, CBOR, COSE)."""


class SigningError(ApplianceError):
    """The signer failed or refused to sign."""


class SignerUnavailable(SigningError):
    """The token, the PKCS#11 module, the key or the PIN is missing or wrong."""


class DscError(SigningError):
    """The device certificate (DSC) is missing, not valid now, for another key or type."""


class ClockNotTrusted(ApplianceError):
    """The system time cannot be trusted for issuing."""


class DiskFull(ApplianceError, OSError):
    """The disk of the state directory is full; the message says which and what to free."""


class JournalError(ApplianceError):
    """The issuance journal cannot be used."""


class JournalCorrupt(JournalError):
    """The journal's hash chain is broken, or the file is damaged or foreign."""


class PrinterError(ApplianceError):
    """The receipt printer failed."""


class PrinterUnavailable(PrinterError, OSError):
    """The printer is offline, unplugged or out of paper."""


class HubError(ApplianceError):
    """The central hub refused a request or failed."""


class HubUnreachable(HubError, ConnectionError):
    """The hub cannot be reached over the network."""


class ReferenceDataError(ApplianceError):
    """A reference-data bundle was refused (signature, version, content), or the installed
    reference data cannot be used; the message names the part and the problem."""
