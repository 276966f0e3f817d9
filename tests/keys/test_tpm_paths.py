"""The TPM path: provisioning through the CLI on swtpm, and two processes signing through tpm2-abrmd."""

from __future__ import annotations

import json

from cryptography import x509

from appliance.benchmarks.signers import provision_token, sign_worker
from appliance.keys import softtokens
from tests.support.pki import verify_raw
from tests.support.toolcheck import require


def test_cli_provisioning_on_a_software_tpm(tpm_cli):
    cli, folder = tpm_cli, tpm_cli.folder
    for args in (["keygen"], ["csr", "--subject", "C=DE,CN=DSC tpm", "--out", str(folder / "req.pem")],
                 ["lab-ca", "init"], ["lab-ca", "sign", str(folder / "req.pem"), "--out", str(folder / "d.pem")],
                 ["import-dsc", str(folder / "d.pem")]):
        result = cli("provision", *args)
        assert result.returncode == 0, result.stderr
    report = json.loads(cli("provision", "status", "--json").stdout)
    assert report["ready"], report["problems"]
    assert report["key"]["non_extractable"] and report["key"]["matches_dsc"]
    assert report["token"]["module"].endswith("libtpm2_pkcs11.so")
    journal_key = report["journal_key"]["attributes"]  # the journal key beside it (finding 10)
    assert journal_key["never_extractable"] and journal_key["always_sensitive"] and journal_key["sensitive"]
    assert journal_key["copyable"] is False and journal_key["derive"] is False and journal_key["decrypt"] is False


def test_two_processes_sign_concurrently_through_abrmd(tmp_path):
    require(softtokens.swtpm_available(abrmd=True), "tpm2-abrmd/dbus/tpm2_ptool are not installed")
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    state = tmp_path / "state"
    state.mkdir()
    with softtokens.SwtpmToken(tmp_path / "tpm", abrmd=True) as tok:
        over = tok.config_overrides()
        with ctx.Pool(2) as pool:
            pool.apply(provision_token, (tok.env, over, str(state)))
            batches = [[f"process {p} message {i}".encode() for i in range(30)] for p in range(2)]
            pending = [pool.apply_async(sign_worker, (tok.env, over, str(state), b)) for b in batches]
            results = [p.get(timeout=120) for p in pending]
    cert = x509.load_pem_x509_certificate((state / "dsc.pem").read_bytes())
    for messages, signatures in zip(batches, results):
        assert len(signatures) == len(messages)
        for msg, raw in zip(messages, signatures):
            verify_raw(cert, msg, raw)
