"""Finding 12: fuzzers for the verifier stay in the suite.

* hypothesis: arbitrary texts and mutated real certificates through :func:`appliance.dcc.verify.verify`,
  ``appliance verify --json`` and the web verify page: never an exception, never an "internal error"
  stage, always JSON, never a 500;
* atheris: the coverage-guided target ``tests/security/fuzz_verify.py`` for a bounded run (a few
  thousand executions, seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.cli import main
from appliance.dcc import verify as verifier
from appliance.dcc.base45 import b45encode
from tests.support.paths import REPO
from tests.support.web import STAFF

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ATHERIS_RUNS = 4000


def _wrap(cose: bytes) -> str:
    return "HC1:" + b45encode(zlib.compress(cose))


@st.composite
def _mutated_certificates(draw, cose: bytes):
    data = bytearray(cose)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if kind == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return _wrap(bytes(data))


def _texts(cose: bytes):
    return st.one_of(st.text(max_size=200), st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", max_size=300)
                     .map(lambda t: "HC1:" + t), st.binary(max_size=300).map(lambda b: _wrap(b)),
                     _mutated_certificates(cose))


def _check(result) -> None:
    assert not [e for e in result.errors if "internal error" in e], result.errors
    json.dumps(result.to_json())


def test_verify_never_raises_on_any_text(make_hc1, software_signer, now):
    hc1, signed = make_hc1()
    assert verifier.verify(hc1, dscs=[software_signer.certificate], at=now).valid

    @FUZZ
    @given(text=_texts(signed.cose))
    def run(text):
        _check(verifier.verify(text, dscs=[software_signer.certificate], at=now))

    run()


def test_the_verify_command_answers_json_for_any_text(make_hc1, software_signer, tmp_path, monkeypatch, capsys):
    from tests.support.pki import write_pem

    _hc1, signed = make_hc1()
    dsc = write_pem(software_signer.certificate, tmp_path / "dsc.pem")
    monkeypatch.setenv("APPLIANCE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("APPLIANCE_CONFIG", raising=False)

    @settings(FUZZ, max_examples=40)
    @given(text=_texts(signed.cose).filter(lambda t: t.strip() and not t.startswith("-") and "\x00" not in t))
    def run(text):
        code = main(["verify", "--json", "--dsc", str(dsc), text])
        out = capsys.readouterr()
        assert code in (0, 1), out.err
        assert set(json.loads(out.out)) >= {"valid", "checks", "errors"}
        assert "Traceback" not in out.err

    run()


def test_the_verify_page_never_fails_with_a_server_error(browser, make_hc1):
    _hc1, signed = make_hc1()
    browser.login(*STAFF)

    @settings(FUZZ, max_examples=40)
    @given(text=_texts(signed.cose))
    def run(text):
        assert browser.post("/verify", {"hc1": text}).status_code < 500

    run()


def test_atheris_finds_nothing_in_a_bounded_run(tmp_path):
    target = REPO / "tests/security/fuzz_verify.py"
    done = subprocess.run([sys.executable, str(target), f"-runs={ATHERIS_RUNS}", "-seed=1", "-max_len=2048",
                           "-max_total_time=60", f"-artifact_prefix={tmp_path}/"],
                          capture_output=True, text=True, timeout=180, cwd=REPO,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Done {ATHERIS_RUNS} runs" in done.stderr, done.stderr[-1000:]
    assert list(tmp_path.iterdir()) == []                                 # no crash artefact
