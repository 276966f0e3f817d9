"""Bulk issuance: the 31,000-certificate backlog (Bottrop, 2021) end to end, with SoftHSM2.

A realistic list (German names from Faker's ``de_DE`` locale with umlauts, double names and
particles; addresses; a product and dose mix as in 2021; 1 % deliberately bad rows) is
validated, signed and journaled with a SoftHSM2 key (groups of 200 per transaction), and
rendered into letters by worker processes, all in one spawned process (a PKCS#11 module must
not be forked). Reported beside the single-certificate limit of the same run: one bare ECDSA
P-256 signature (``cryptography``, and the SoftHSM2 key itself). Goals: 31,000 signed and
journaled in <= 30 s, 31,000 letters in <= 3 min, peak RSS <= 300 MB.

The PDF library comparison (reportlab, chosen, against fpdf2) renders the same letter with
the same vector QR from zxing-cpp's matrix. ``--quick`` runs 1,000 rows.
"""

from __future__ import annotations

import csv
import io
import logging
import multiprocessing
import os
import random
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.batch import jobs
from appliance.batch.store import BatchStore
from appliance.benchmarks import _letters
from appliance.benchmarks.signers import in_spawned, provision_token
from appliance.config import load_config
from appliance.devices.clock import FixedClock
from appliance.devices.pkcs11_signer import Pkcs11Signer
from appliance.issue import Issuer
from appliance.journal.journal import Journal
from appliance.keys import softtokens

log = logging.getLogger(__name__)

HEADER = ["Nachname", "Vorname", "Geburtsdatum", "Impfstoff", "Dosis", "Impfdatum", "Straße", "PLZ", "Ort"]
#: (product as centres write it, weight, dose choices)
MIX = [("Comirnaty", 50, ["1/2", "2/2", "3/3", "4/4"]), ("BioNTech", 10, ["1/2", "2/2", "3/3"]),
       ("Spikevax", 15, ["1/2", "2/2", "3/3"]), ("Moderna", 5, ["3/3", "4/4"]),
       ("Vaxzevria", 10, ["1/2", "2/2"]), ("Jcovden", 6, ["1/1", "2/1"]), ("Nuvaxovid", 4, ["1/2", "2/2"])]
#: the first day a centre gave each product (after its EU authorisation)
FIRST_DAY = {"Comirnaty": date(2021, 1, 4), "BioNTech": date(2021, 1, 4), "Spikevax": date(2021, 1, 18),
             "Moderna": date(2021, 1, 18), "Vaxzevria": date(2021, 2, 15), "Jcovden": date(2021, 4, 1),
             "Nuvaxovid": date(2022, 1, 10)}
BAD = [("Geburtsdatum", "31.02.1961"), ("Impfstoff", "Sputnik-X"), ("Nachname", '=HYPERLINK("http://x","y")'),
       ("Dosis", "9/2"), ("Impfdatum", "01.01.2031"), ("Nachname", "")]
PARTICLES = ["von", "von der", "zu", "van", "de"]


def make_list(n: int, seed: int = 2021) -> tuple[bytes, int]:
    """A cp1252 CSV (as German Excel writes it) of ``n`` rows; returns (bytes, planted bad rows)."""
    from faker import Faker  # lazy: Faker loads its locales, ~0.5 s; only this benchmark needs it

    fake = Faker("de_DE")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    products = [p for p, w, _ in MIX for _ in range(w)]
    doses = {p: d for p, _, d in MIX}
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    bad = 0
    for i in range(n):
        family = fake.last_name()
        roll = rng.random()
        if roll < 0.08:
            family = f"{family}-{fake.last_name()}"
        elif roll < 0.12:
            family = f"{rng.choice(PARTICLES)} {family}"
        given = fake.first_name() if rng.random() > 0.1 else f"{fake.first_name()} {fake.first_name()}"
        born = fake.date_of_birth(minimum_age=12, maximum_age=95)
        product = rng.choice(products)
        row = [family, given, born.strftime("%d.%m.%Y"), product, rng.choice(doses[product]),
               (FIRST_DAY[product] + timedelta(days=rng.randrange(300))).strftime("%d.%m.%Y"), fake.street_address(),
               fake.postcode(), fake.city()]
        if rng.random() < 0.01:
            column, value = rng.choice(BAD)
            row[HEADER.index(column)] = value
            bad += 1
        writer.writerow(row)
    return buf.getvalue().encode("cp1252", errors="replace"), bad


def batch_worker(env: dict, overrides: dict, state_dir: str, source: str, out: str) -> dict:
    """In a fresh process: validate, sign with the token and journal, render letters; return figures."""
    os.environ.update(env)  # before the PKCS#11 module is loaded (when the signer is built)
    config = load_config(env={}, overrides=overrides, state_dir=state_dir)
    signer = Pkcs11Signer.from_config(config)
    clock = FixedClock(datetime.now(timezone.utc) + timedelta(minutes=2), synchronized=True)
    tbs = os.urandom(320)
    t0, count = time.perf_counter(), 0
    while time.perf_counter() - t0 < 1.0:
        signer.sign(tbs)
        count += 1
    token_rate = count / (time.perf_counter() - t0)
    data = Path(source).read_bytes()
    store = BatchStore(Path(state_dir))
    try:
        with Journal.open(Path(state_dir) / "journal.sqlite") as journal:
            t0 = time.perf_counter()
            prepared = jobs.prepare(store, type_="v", data=data, name="liste.csv", map_data=None, out=Path(out),
                                    operator="bench", now=clock.now(), device=config.device, journal=journal,
                                    tz=ZoneInfo("Europe/Berlin"))
            t_validate = time.perf_counter() - t0
            issuer = Issuer(config=config, signer=signer, journal=journal, clock=clock)
            result = jobs.execute(store, prepared, issuer=issuer, clock=clock, operator="bench",
                                  centre="Impfzentrum Bottrop")
    finally:
        signer.close()
    return {"rows": prepared.validation.rows, "valid": len(prepared.validation.items),
            "refused": len(prepared.validation.invalid_rows), "validate_s": t_validate,
            "sign_s": result.sign_seconds, "total_s": result.seconds, "letters": result.letters,
            "files": len(result.files), "bytes": result.bytes, "token_sig_rate": token_rate,
            "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_children_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def bare_ecdsa_rate(seconds: float = 1.0) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    tbs = os.urandom(320)
    t0, count = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        key.sign(tbs, ec.ECDSA(hashes.SHA256()))
        count += 1
    return count / (time.perf_counter() - t0)


def run(ctx) -> list[tuple[str, str, str]]:
    n = 1000 if ctx.quick else 31_000
    folder = Path(ctx.tmp)
    t0 = time.perf_counter()
    data, bad = make_list(n)
    t_make = time.perf_counter() - t0
    source = folder / "liste.csv"
    source.write_bytes(data)
    limit = bare_ecdsa_rate()
    rows = [("list: rows / planted bad rows / MB (cp1252 CSV)", f"{n} / {bad} / {len(data) / 2**20:.1f}",
             f"made in {t_make:.1f} s"),
            ("limit: bare ECDSA P-256 signatures/s (cryptography)", f"{limit:.0f}", "")]
    if not softtokens.softhsm_available():
        return rows + [("softhsm", "not installed", "")]
    with softtokens.SoftHsmToken(folder / "softhsm") as tok:
        state = folder / "state"
        state.mkdir()
        in_spawned(provision_token, tok.env, tok.config_overrides(), str(state))
        # its own spawned process, not a Pool's: pool workers are daemons and may not start render workers
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            f = pool.submit(batch_worker, tok.env, tok.config_overrides(), str(state), str(source),
                            str(folder / "out")).result()
    goal_sign = 30 * n / 31_000
    goal_letters = 180 * n / 31_000
    rows += [
        ("limit: bare ECDSA signatures/s with the SoftHSM2 key", f"{f['token_sig_rate']:.0f}", ""),
        ("rows validated/s", f"{f['rows'] / f['validate_s']:.0f}", f"{f['validate_s']:.1f} s for {f['rows']} rows"),
        ("valid / refused rows", f"{f['valid']} / {f['refused']}", f"planted {bad}"),
        ("signed + journaled/s (SoftHSM2, groups of 200)", f"{f['valid'] / f['sign_s']:.0f}",
         f"{f['sign_s']:.1f} s (goal <= {goal_sign:.0f} s); "
         f"{f['valid'] / f['sign_s'] / f['token_sig_rate'] * 100:.0f} % of the bare token limit"),
        ("letters rendered/s (end to end, 2 render processes)", f"{f['letters'] / f['total_s']:.0f}",
         f"{f['total_s']:.1f} s for {f['letters']} (goal <= {goal_letters:.0f} s)"),
        ("peak RSS: batch process / largest render worker (MB)",
         f"{f['rss_self_mb']:.0f} / {f['rss_children_mb']:.0f}", "<= 300"),
        ("print files: count / total MB / KiB per letter",
         f"{f['files']} / {f['bytes'] / 2**20:.1f} / {f['bytes'] / max(f['letters'], 1) / 1024:.1f}", "<= 500 per file"),
    ]
    rows += _letters.compare(30 if ctx.quick else 200)
    return rows

