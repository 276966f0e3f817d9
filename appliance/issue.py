"""The one place that orders the side effects of issuing.

``Issuer.issue``: readiness (journal chain, clock trust, DSC for the type) ->
idempotency lookup -> UVCI -> build + validate (payload) -> sign -> encode ->
self-verify (the verifier with the device's own DSC) -> ONE journal commit ->
return. A certificate never leaves this module before its entry is committed.
``Issuer.correct``: the same steps, and the commit also revokes the certificate it
replaces, so a correction is all or nothing (revocations: :mod:`appliance.journal.revocations`;
the clock's confirmation and correction: :mod:`appliance.journal.clock_keeping`).

Ports used: ``Signer``, ``Journal``, ``Clock``. :class:`Issuer` is thread-safe:
``issue``/``correct``/``revoke``/``confirm_clock`` run one at a time behind a lock (the
PKCS#11 session needs that anyway, and the journal serialises commits).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from appliance import RELEASE_DATE
from appliance.journal import chain, integrity
from appliance.dcc import dsc, encode, model, payload, schema, sign, verify
from appliance.dcc import uvci as uvci_mod
from appliance.config import Config
from appliance.devices.clock import READING_FILE, ClockReadings
from appliance.devices.ports import Clock, Signer
from appliance.devices.tpm_counter import TpmCounter
from appliance.errors import (ClockNotTrusted, DscError, IdempotencyConflict, InvalidInput, JournalCorrupt,
                              JournalError, SigningError)
from appliance.messages import Msg
from appliance.journal.clock_keeping import ClockKeeping
from appliance.journal.journal import Journal
from appliance.journal.revocations import (CORRECTED, REVOCATION_REASONS, Revoking, replaced_note, revoked_spec,
                                          uvci_hash)
from appliance.reference import installed
from appliance.util.locks import exclusive_lock
from appliance.util.timefmt import fmt_utc

log = logging.getLogger(__name__)
audit = logging.getLogger("appliance.audit")

#: At start the newest this many entries are chain-checked (then every new one); the whole
#: chain is checked by ``appliance journal verify`` and by the hub on every sync.
STARTUP_CHECK_WINDOW = 1000
#: Tries when the UVCI number was taken after all (only by a writer that bypasses the issue lock).
COMMIT_ATTEMPTS = 3
#: Beside the journal: held (flock) from taking a UVCI number to the commit, across processes.
LOCK_FILE = "issue.lock"


@dataclass(frozen=True)
class Issued:
    """A committed certificate, ready to show or print."""

    seq: int
    uvci: str
    hc1: str
    type: str
    kid: bytes
    issued_at: datetime
    expires_at: datetime
    dcc: dict
    replayed: bool = False   #: True when an idempotency key returned an earlier certificate


__all__ = ["Issuer", "Issued", "REVOCATION_REASONS", "request_hash", "uvci_hash"]


def _configured_counter(config: Config) -> integrity.Counter | None:
    """The TPM NV counter of ``[journal] tpm_counter`` (None when not configured)."""
    if not config.journal.tpm_counter:
        return None
    return TpmCounter(config.journal.tpm_counter, tcti=config.journal.tpm_tcti)


def request_hash(req) -> str:
    """SHA-256 over the request's content (type, person, event): what an idempotency key was used for."""
    text = json.dumps(dataclasses.asdict(req), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _message(exc: BaseException) -> str:
    """An error's message as raised: its :class:`Msg` (a screen shows it in the reader's language) or text."""
    first = exc.args[0] if exc.args else None
    return first if isinstance(first, Msg) else str(exc)


class _GroupSigner:
    """The signer with its DSC read once, for one group commit. If an ``import-dsc`` switches the
    key meanwhile, the self-check of the next certificate fails against the pinned DSC and the
    group commits nothing (the batch run then stops with that error; running it again resumes)."""

    def __init__(self, signer: Signer):
        self._signer, self.certificate, self.kid = signer, signer.certificate, signer.kid

    def sign(self, to_be_signed: bytes) -> bytes:
        return self._signer.sign(to_be_signed)


class Issuer(ClockKeeping, Revoking):
    """Issues, corrects, revokes (:class:`~appliance.journal.revocations.Revoking`) and confirms the
    clock, journaling each step."""

    def __init__(self, *, config: Config, signer: Signer, journal: Journal, clock: Clock,
                 release_date: str = RELEASE_DATE, counter: integrity.Counter | None = None):
        self._config, self._signer, self._journal, self._clock = config, signer, journal, clock
        self._release_date = release_date
        self._lock = threading.Lock()
        self._verified: tuple[int, str] | None = None  # the chain is checked up to here (seq, hash)
        #: the journal key (signs the journal's heads at every commit), from the same token as the DCC key
        self._journal_signer = getattr(signer, "journal_signer", None)
        self._counter = counter if counter is not None else _configured_counter(config)
        self._integrity: list[str] | None = None  # the start-up check's problems (once per process)
        self._readings = ClockReadings(journal.path.with_name(READING_FILE))  # this boot's last trusted reading
        journal.bind_heads(self._journal_signer, config.device.id)

    # --------------------------------------------------------------- readiness
    def readiness(self, type: str | None = None) -> list[str]:
        """Every problem that blocks issuing (of ``type``, or of any type); empty = ready."""
        with self._lock:
            return [msg for _, msg in self._problems(type, self._clock.now())]

    def _problems(self, dcc_type: str | None, now: datetime) -> list[tuple[type, str]]:
        found: list[tuple[type, str]] = []
        broken = self._check_chain()
        if broken:
            found.append((JournalCorrupt, Msg("journal.chain_broken", seq=broken[0], reason=broken[1])))
        found += [(JournalCorrupt, problem) for problem in self._integrity_problems(now)]
        found += [(ClockNotTrusted, problem) for problem in self._clock_problems(now)]
        try:
            cert = self._signer.certificate
        except SigningError as exc:  # e.g. the token was unplugged
            return found + [(type(exc), _message(exc))]
        candidates = [dcc_type] if dcc_type else (sorted(dsc.dcc_types_allowed(cert)) if cert is not None else ["v"])
        dsc_problems = []
        for t in candidates:
            try:
                dsc.check_dsc_for_issuing(cert, t, now)
                dsc_problems = []
                break
            except DscError as exc:
                dsc_problems.append(_message(exc))
        found += [(DscError, p) for p in dict.fromkeys(dsc_problems)]
        return found

    def _integrity_problems(self, now: datetime) -> list[str]:  # each a Msg
        """The signed-head check: in full (with the TPM counter) once, then the head at each call."""
        device_id = self._config.device.id
        if self._integrity is None:
            report = integrity.check(self._journal, self._journal_signer, device_id, counter=self._counter)
            self._integrity = report.problems
            for note in report.notes:
                log.info("journal integrity: %s", note)
            if not report.problems and self._counter is not None and self._journal_signer is not None:
                integrity.checkpoint(self._journal, self._journal_signer, device_id, self._counter, now=now)
        if self._integrity:
            return self._integrity
        return integrity.check(self._journal, self._journal_signer, device_id).problems

    def _checkpoint_if_due(self, seq: int, now: datetime) -> None:
        """With a TPM counter: bind the head to it every ``[journal] counter_every`` entries."""
        if self._counter is None or self._journal_signer is None:
            return
        newest = self._journal.newest_checkpoint()
        if newest is None or seq - newest["seq"] >= max(1, self._config.journal.counter_every):
            integrity.checkpoint(self._journal, self._journal_signer, self._config.device.id, self._counter, now=now)

    def _check_chain(self) -> tuple[int, str] | None:
        """Check the entries added since the last check (the newest window the first time)."""
        if self._verified is None:
            anchor = self._journal.last_seq() - STARTUP_CHECK_WINDOW
            first = self._journal.entries(after_seq=anchor - 1, limit=1) if anchor > 0 else []
            self._verified = (first[0]["seq"], first[0]["hash"]) if first else (0, chain.GENESIS)
        broken, seq, prev = self._journal.verify_since(*self._verified)
        if broken is None:
            self._verified = (seq, prev)
        return broken

    def _refuse_if_blocked(self, dcc_type: str, now: datetime) -> None:
        problems = self._problems(dcc_type, now)
        if problems:
            cls, message = problems[0]
            raise cls(message + (f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""))

    # ----------------------------------------------------------------- issuing
    def issue(self, req, *, operator: str, idempotency_key: str | None = None) -> Issued:
        """Issue one certificate for ``req`` (a :class:`appliance.dcc.form.IssueRequest`)."""
        if req.type not in model.TYPES:
            raise InvalidInput({"type": Msg("type.invalid")})
        with self._lock:
            prior = self._journal.by_idempotency_key(idempotency_key) if idempotency_key else None
            if prior is not None:
                return self._replay(prior, req)
            now = self._clock.now().astimezone(timezone.utc).replace(microsecond=0)
            self._refuse_if_blocked(req.type, now)
            with exclusive_lock(self._journal.path.with_name(LOCK_FILE)):
                prior = self._journal.by_idempotency_key(idempotency_key) if idempotency_key else None
                if prior is not None:  # another process committed the same request meanwhile
                    return self._replay(prior, req)
                entry, issued = self._commit_new(req, now, operator, idempotency_key)
            self._checkpoint_if_due(entry["seq"], now)
            self._record_reading(now)
        audit.info("issued seq=%d type=%s uvci=%s operator=%s", entry["seq"], issued.type,
                   uvci_hash(issued.uvci), operator)
        return dataclasses.replace(issued, seq=entry["seq"])

    def _commit_new(self, req, now: datetime, operator: str, idempotency_key: str | None,
                    replaces: dict | None = None) -> tuple[dict, Issued]:
        """Make and commit one certificate; runs under the cross-process issue lock, so no
        other Issuer (web, CLI) takes the same UVCI number in between. ``replaces`` (a
        :func:`revoked_spec`, for :meth:`correct`): the old certificate's revocation goes into
        the same commit, after the new entry."""
        for attempt in range(COMMIT_ATTEMPTS):
            issued, signature, seq = self._make(req, now)
            spec = dict(kind="issued", type=issued.type, uvci=issued.uvci, kid=issued.kid, signature=signature,
                        country=self._config.device.country, data=self._facts(issued),
                        personal={**self._personal(issued), "request": request_hash(req)},
                        idempotency_key=idempotency_key, sequence=("uvci", seq))
            try:
                if replaces is None:
                    return self._journal.append(now=now, operator=operator, **spec), issued
                revocation = {**replaces, "note": replaced_note(issued.uvci)}
                return self._journal.append_group([spec, revocation], now=now, operator=operator)[0], issued
            except JournalError:
                if self._journal.certificate(issued.uvci) is None or attempt == COMMIT_ATTEMPTS - 1:
                    raise
                log.warning("UVCI number %d was taken by a writer outside the issue lock; signing again", seq)
        raise JournalError("could not commit the certificate; try again")

    def _make(self, req, now: datetime) -> tuple[Issued, bytes, int]:
        """Build, validate, sign, encode and self-verify; nothing is written here.

        The UVCI number is the journal's next one; it is taken in the commit itself,
        so a crash before the commit reuses it and a committed one is never reused.
        """
        return self._make_numbered(req, now, self._journal.peek_sequence("uvci"))

    def _make_numbered(self, req, now: datetime, seq: int, vs=None, signer=None) -> tuple[Issued, bytes, int]:
        """:meth:`_make` with UVCI number ``seq`` (the group issuer numbers a whole group, and
        reads the installed value sets ``vs`` and the DSC of ``signer`` once per group)."""
        device, cfg = self._config.device, self._config.issue
        signer = signer if signer is not None else self._signer
        dcc, cert_id = self._build(req, seq, now, vs)   # bad input fails here, before anything is written
        checked = schema.canonical_json(schema.as_json(dcc))  # what the schema pass just accepted
        exp = payload.expiry(req, iat=now, issue=cfg)
        signed = sign.sign_dcc(dcc, signer, issuer_country=device.country, iat=now, exp=exp)
        hc1 = encode.to_hc1(signed.cose)
        # the full verifier; its schema pass is skipped only if the decoded payload is exactly `checked`
        result = verify.verify(hc1, dscs=[signer.certificate], at=now, prevalidated=checked)
        if not result.valid:  # name the failed checks only: the verifier's details may quote personal data
            failed = ", ".join(name for name, ok in result.checks.items() if ok is not True)
            raise SigningError(f"self-verification of the new certificate failed (checks: {failed}); "
                               "nothing was issued: check the DSC and the signer")
        return Issued(seq=0, uvci=cert_id, hc1=hc1, type=req.type, kid=signed.kid,
                      issued_at=datetime.fromtimestamp(signed.iat, timezone.utc),
                      expires_at=datetime.fromtimestamp(signed.exp, timezone.utc), dcc=dcc), signed.signature, seq

    def _build(self, req, seq: int, now: datetime, vs=None) -> tuple[dict, str]:
        device = self._config.device
        cert_id = uvci_mod.make_uvci(country=device.country, issuer=device.uvci_issuer,
                                     opaque=uvci_mod.opaque_for(device.id, seq))
        if vs is None:
            vs = installed.current_valuesets(self._config.state_dir)  # the installed reference data's value sets
        dcc = payload.build_dcc(req, uvci=cert_id, schema_version=self._config.issue.schema_version, vs=vs)
        payload.validate_dcc(dcc, now=now, vs=vs)
        return dcc, cert_id

    def _facts(self, issued: Issued) -> dict:
        """The synced, non-personal facts: no free text (the test centre by its configured id)."""
        event = (issued.dcc.get(issued.type) or [{}])[0]
        facts = {k: event[k] for k in model.FACTS[issued.type] if k in event}
        if event.get("tc"):
            ids = {name: ident for ident, name in self._config.device.centre_map().items()}
            facts["centre"] = ids.get(event["tc"], "unlisted")
        facts["expires_at"] = fmt_utc(issued.expires_at)
        facts["ver"] = issued.dcc.get("ver")
        return facts

    @staticmethod
    def _personal(issued: Issued) -> dict:
        nam = issued.dcc.get("nam", {})
        return {"family_name": nam.get("fn"), "given_name": nam.get("gn"), "family_name_std": nam.get("fnt"),
                "given_name_std": nam.get("gnt"), "date_of_birth": issued.dcc.get("dob"),
                "hc1": issued.hc1, "dcc": issued.dcc}

    def _replay(self, prior, req=None) -> Issued:
        """The earlier certificate of a repeated idempotency key; with ``req``, only for the same data.

        :raises IdempotencyConflict: the key was used for a request with other data (another person,
            another event): the earlier certificate is not handed out for it, nothing is issued.
        """
        recorded = (prior.personal or {}).get("request")
        if req is not None and recorded is not None and recorded != request_hash(req):
            audit.warning("refused seq=%d uvci=%s: idempotency key repeated with other data", prior.seq,
                          uvci_hash(prior.uvci))
            raise IdempotencyConflict("this request token was already used to issue a certificate with other "
                                      "data; review the data again to issue a new certificate")
        audit.info("replayed seq=%d uvci=%s (repeated idempotency key)", prior.seq, uvci_hash(prior.uvci))
        if prior.personal is None:
            raise JournalError(f"this request was already issued as {prior.uvci} on {prior.issued_at:%Y-%m-%d}; "
                               "its personal data has been purged, so it cannot be shown again")
        return Issued(seq=prior.seq, uvci=prior.uvci, hc1=prior.personal["hc1"], type=prior.type,
                      kid=base64.b64decode(prior.kid), issued_at=prior.issued_at, expires_at=prior.expires_at,
                      dcc=prior.personal["dcc"], replayed=True)

    # -------------------------------------------------------------- correcting
    def correct(self, uvci: str, req, *, operator: str, idempotency_key: str | None = None) -> Issued:
        """Replace certificate ``uvci`` by a new one for ``req``, in ONE journal commit.

        The commit holds the new certificate's ``issued`` entry and, after it, the old one's
        ``revoked`` entry (reason ``corrected``, its device-only note naming the new UVCI): the old
        certificate is revoked exactly when the new one exists. The same steps as :meth:`issue`
        otherwise. Idempotent as a whole: a repeated ``idempotency_key`` returns the certificate it
        made (``replayed``) and revokes the old one if it is still valid (as a journal written
        before corrections were atomic can leave it).

        :raises InvalidInput: nothing written: ``uvci`` was not issued here or is already revoked
            (field ``uvci``), or ``req`` is of another type than the old certificate (``type``).
        """
        if req.type not in model.TYPES:
            raise InvalidInput({"type": Msg("type.invalid")})
        key = idempotency_key
        with self._lock:
            if key and self._journal.by_idempotency_key(key) is not None:
                with exclusive_lock(self._journal.path.with_name(LOCK_FILE)):
                    return self._replay_correction(uvci, self._journal.by_idempotency_key(key), req, operator)
            self._replaceable(uvci, req.type)   # bad input before device problems
            now = self._clock.now().astimezone(timezone.utc).replace(microsecond=0)
            self._refuse_if_blocked(req.type, now)
            with exclusive_lock(self._journal.path.with_name(LOCK_FILE)):
                prior = self._journal.by_idempotency_key(key) if key else None
                if prior is not None:  # another process committed the same correction meanwhile
                    return self._replay_correction(uvci, prior, req, operator)
                entry, issued = self._commit_new(req, now, operator, key, replaces=self._replaceable(uvci, req.type))
            self._checkpoint_if_due(entry["seq"] + 1, now)   # the revocation followed the new entry
        audit.info("corrected seq=%d type=%s uvci=%s replacing uvci=%s operator=%s", entry["seq"], issued.type,
                   uvci_hash(issued.uvci), uvci_hash(uvci), operator)
        return dataclasses.replace(issued, seq=entry["seq"])

    def _replaceable(self, uvci: str, dcc_type: str) -> dict:
        """The ``revoked`` entry a correction of ``uvci`` writes; refuses what cannot be corrected."""
        record = self._journal.certificate(uvci)
        if record is not None and record.revoked:
            raise InvalidInput({"uvci": Msg("correct.already_revoked")})
        if record is not None and record.type != dcc_type:
            raise InvalidInput({"type": Msg("correct.other_type")})
        return revoked_spec(self._journal, uvci, reason=CORRECTED)

    def _replay_correction(self, uvci: str, prior, req, operator: str) -> Issued:
        """A repeated correction: the certificate it made, and the old one revoked (now, if it was not)."""
        issued = self._replay(prior, req)   # other data under the same key: refused, nothing revoked
        record = self._journal.certificate(uvci)
        if record is not None and not record.revoked and record.uvci != prior.uvci:
            entry = self._journal.append(now=self._clock.now(), operator=operator,
                                         **revoked_spec(self._journal, uvci, reason=CORRECTED,
                                                        note=replaced_note(prior.uvci)))
            audit.warning("revoked seq=%d uvci=%s: its replayed correction uvci=%s had left it valid",
                          entry["seq"], uvci_hash(uvci), uvci_hash(prior.uvci))
        return issued

    # ------------------------------------------------------------ group issuing
    def issue_group(self, requests, *, operator: str) -> list:
        """Issue a group of certificates (bulk issuance) committed in ONE journal transaction.

        ``requests`` is a sequence of ``(idempotency_key, IssueRequest)``. The same steps as
        :meth:`issue`, in the same order: readiness once per group and type, the lookup of every
        key (a key already journaled is replayed from the journal, never signed again), then per
        request build + validate, sign, encode and self-verify, then one commit of all the new
        entries (each with its key). Returns, in input order, an :class:`Issued` per request,
        or the :class:`InvalidInput`/:class:`JournalError` that stopped just that request (nothing
        is written for it). A device problem (clock, DSC, signer, journal) raises and commits nothing.
        """
        requests = list(requests)
        for _, req in requests:
            if req.type not in model.TYPES:
                raise InvalidInput({"type": Msg("type.invalid")})
        results: dict[str, object] = {}
        with self._lock:
            prior = self._journal.by_idempotency_keys(k for k, _ in requests)
            todo = [(k, r) for k, r in requests if k not in prior]
            if todo:
                now = self._clock.now().astimezone(timezone.utc).replace(microsecond=0)
                for t in sorted({r.type for _, r in todo}):
                    self._refuse_if_blocked(t, now)
                with exclusive_lock(self._journal.path.with_name(LOCK_FILE)):
                    prior.update(self._journal.by_idempotency_keys(k for k, _ in todo))
                    todo = [(k, r) for k, r in todo if k not in prior]
                    results.update(self._commit_group(todo, now, operator))
                self._record_reading(now)
            for key, record in prior.items():
                try:
                    results[key] = self._replay(record)
                except JournalError as exc:
                    results[key] = exc
        return [results[k] for k, _ in requests]

    def _commit_group(self, todo, now: datetime, operator: str) -> dict[str, object]:
        """Make every certificate of ``todo`` and commit them together (under the process lock)."""
        out: dict[str, object] = {}
        made: list[tuple[str, Issued, bytes, int]] = []
        seq = self._journal.peek_sequence("uvci")
        vs = installed.current_valuesets(self._config.state_dir)  # once per group, as one commit
        signer = _GroupSigner(self._signer)
        for key, req in todo:
            try:
                issued, signature, number = self._make_numbered(req, now, seq, vs, signer)
            except InvalidInput as exc:
                out[key] = exc
                continue
            made.append((key, issued, signature, number))
            seq += 1
        if not made:
            return out
        specs = [dict(kind="issued", type=i.type, uvci=i.uvci, kid=i.kid, signature=sig,
                      country=self._config.device.country, data=self._facts(i), personal=self._personal(i),
                      idempotency_key=key, sequence=("uvci", number)) for key, i, sig, number in made]
        entries = self._journal.append_group(specs, now=now, operator=operator)
        for (key, issued, _, _), entry in zip(made, entries):
            audit.info("issued seq=%d type=%s uvci=%s operator=%s (batch)", entry["seq"], issued.type,
                       uvci_hash(issued.uvci), operator)
            out[key] = dataclasses.replace(issued, seq=entry["seq"])
        return out

    # ------------------------------------------------------ rules warnings and clock
    def note_rules_warning(self, uvci: str, *, operator: str, country: str, failed: list[str]) -> dict:
        """Journal that staff issued a certificate that fails its own country's business rules
        (the acceptance preview warned them); only the country and rule ids, no personal data."""
        with self._lock:
            record = self._journal.certificate(uvci)
            if record is None:
                raise InvalidInput({"uvci": Msg("revoke.unknown")})
            entry = self._journal.append("rules_warning", now=self._clock.now(), operator=operator, type=record.type,
                                         uvci=uvci, data={"country": country, "failed": list(failed)})
        audit.info("rules_warning seq=%d uvci=%s country=%s operator=%s", entry["seq"], uvci_hash(uvci), country,
                   operator)
        return entry
