"""Real software tokens in a temporary directory: SoftHSM2 and swtpm + tpm2-pkcs11.

For tests, ``appliance bench`` and ``appliance demo``. Each context manager
starts the real software, makes a token with a user PIN and tears everything
down again; nothing outside its directory is touched::

    with SoftHsmToken(tmp) as tok:
        os.environ.update(tok.env)        # BEFORE the PKCS#11 module is loaded in this process
        cfg = load_config(overrides=tok.config_overrides(), ...)

A directory given by the caller is kept at exit, and a token made there before is reused
on the next start (the demo keeps its key across runs); ``tmpdir=None`` makes and removes
a private temporary directory.

A PKCS#11 module reads its environment (``SOFTHSM2_CONF``, ``TPM2_PKCS11_TCTI``,
``TPM2_PKCS11_STORE``) once, when it is initialised. So either update
``os.environ`` before the first :class:`~appliance.devices.pkcs11_signer.Pkcs11Signer`
is built in the process, or pass ``env={**os.environ, **tok.env}`` to a
subprocess (``spawn``, never ``fork`` after loading).

:class:`SwtpmToken` has two modes. Direct (default): the module talks to swtpm's
socket itself, one process at a time. ``abrmd=True``: a private D-Bus session
bus plus ``tpm2-abrmd`` as resource manager, so several processes may sign at once.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from appliance.errors import SignerUnavailable

log = logging.getLogger(__name__)

SOFTHSM_PACKAGE, TPM_PACKAGE = "softhsm2", "libtpm2-pkcs11-1"
_SOFTHSM_GLOBS = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/*/softhsm/libsofthsm2.so",
                  "/usr/local/lib/softhsm/libsofthsm2.so")
_TPM_GLOBS = ("/usr/lib/*/pkcs11/libtpm2_pkcs11.so", "/usr/lib/*/libtpm2_pkcs11.so.1",
              "/usr/lib/pkcs11/libtpm2_pkcs11.so", "/usr/local/lib/libtpm2_pkcs11.so")


def _first(patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[0]
    return None


def softhsm_module() -> str | None:
    """Path of SoftHSM2's PKCS#11 module on this machine (any multiarch directory), or None."""
    return _first(_SOFTHSM_GLOBS)


def tpm2_pkcs11_module() -> str | None:
    """Path of tpm2-pkcs11's PKCS#11 module on this machine, or None."""
    return _first(_TPM_GLOBS)


def softhsm_available() -> bool:
    return softhsm_module() is not None and shutil.which("softhsm2-util") is not None


def swtpm_available(*, abrmd: bool = False) -> bool:
    tools = ["swtpm", "pkcs11-tool"] + (["tpm2-abrmd", "dbus-daemon", "tpm2_ptool"] if abrmd else [])
    return tpm2_pkcs11_module() is not None and all(shutil.which(t) for t in tools)


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SignerUnavailable(f"{what} failed ({cmd[0]} exit {proc.returncode}: {tail[0]})")


def _wait_for(path: Path, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise SignerUnavailable(f"{what} did not start (no {path.name} after {timeout_s:.0f} s)")
        time.sleep(0.02)


class _Token:
    """Common parts: a directory, a PIN file, env and config overrides."""

    kind = "token"

    def __init__(self, tmpdir: str | os.PathLike | None, label: str, so_pin: str, pin: str):
        self._own_dir = tmpdir is None
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.kind}-") if tmpdir is None else tmpdir)
        self.token_label, self.so_pin, self.pin = label, so_pin, pin
        self.pin_file = self.dir / "user.pin"
        self.module = ""
        self.env: dict[str, str] = {}
        self._procs: list[subprocess.Popen] = []

    def config_overrides(self, key_label: str = "dcc-signing-key") -> dict:
        """``{"signer": {...}}`` for ``load_config(overrides=...)``."""
        return {"signer": {"kind": "pkcs11", "module": self.module, "token": self.token_label,
                           "key_label": key_label, "pin_file": str(self.pin_file)}}

    def _write_pin(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.pin_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.pin + "\n")

    def _initialised(self) -> bool:
        """A token made earlier in this directory is reused (same label and PINs), e.g. by the demo."""
        return (self.dir / "initialised").is_file()

    def _mark_initialised(self) -> None:
        (self.dir / "initialised").write_text(self.token_label + "\n")

    def _full_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def _stop_procs(self) -> None:
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:  # pragma: no cover - overridden
        raise SignerUnavailable("abstract token")

    def stop(self) -> None:
        self._stop_procs()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class SoftHsmToken(_Token):
    """A SoftHSM2 token whose config and object store live in ``tmpdir``."""

    kind = "softhsm"

    def __init__(self, tmpdir=None, label: str = "dcc-softhsm", so_pin: str = "12345678", pin: str = "1234"):
        super().__init__(tmpdir, label, so_pin, pin)

    def start(self) -> None:
        module = softhsm_module()
        if module is None or not shutil.which("softhsm2-util"):
            raise SignerUnavailable(f"SoftHSM2 is not installed: apt-get install {SOFTHSM_PACKAGE}")
        self.module = module
        tokens = self.dir / "tokens"
        tokens.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                        "log.level = ERROR\nslots.removable = false\n")
        self.env = {"SOFTHSM2_CONF": str(conf)}
        self._write_pin()
        if not self._initialised():
            _run(["softhsm2-util", "--init-token", "--free", "--label", self.token_label,
                  "--so-pin", self.so_pin, "--pin", self.pin], self._full_env(), "softhsm2-util --init-token")
            self._mark_initialised()
        log.info("SoftHSM2 token %r ready in %s", self.token_label, self.dir)


class SwtpmToken(_Token):
    """swtpm (a software TPM 2.0) with a tpm2-pkcs11 token; optionally behind tpm2-abrmd."""

    kind = "swtpm"

    def __init__(self, tmpdir=None, label: str = "dcc-tpm", so_pin: str = "12345678", pin: str = "1234",
                 *, abrmd: bool = False):
        super().__init__(tmpdir, label, so_pin, pin)
        self.abrmd = abrmd

    def start(self) -> None:
        module = tpm2_pkcs11_module()
        if module is None or not swtpm_available(abrmd=self.abrmd):
            raise SignerUnavailable(f"swtpm/tpm2-pkcs11 are not installed: apt-get install swtpm {TPM_PACKAGE}"
                                    + (" tpm2-abrmd libtss2-tcti-tabrmd0 dbus libtpm2-pkcs11-tools"
                                       if self.abrmd else ""))
        self.module = module
        for sub in ("state", "store"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        sock = self.dir / "tpm.sock"
        self._spawn(["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={self.dir / 'state'}",
                     "--server", f"type=unixio,path={sock}", "--ctrl", f"type=unixio,path={sock}.ctrl",
                     "--flags", "not-need-init,startup-clear"], {})
        _wait_for(Path(f"{sock}.ctrl"), "swtpm")
        _wait_for(sock, "swtpm")
        tcti = f"swtpm:path={sock}"
        self.env = {"TPM2_PKCS11_STORE": str(self.dir / "store"), "TPM2_PKCS11_LOG_LEVEL": "0"}
        if self.abrmd:
            tcti = self._start_abrmd(tcti)
        self.env.update({"TPM2_PKCS11_TCTI": tcti, "TPM2TOOLS_TCTI": tcti})
        self._write_pin()
        if not self._initialised():
            self._init_token()
            self._mark_initialised()
        log.info("swtpm token %r ready in %s (abrmd=%s)", self.token_label, self.dir, self.abrmd)

    def _spawn(self, cmd: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen(cmd, env={**self._full_env(), **extra_env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._procs.append(proc)
        return proc

    def _start_abrmd(self, swtpm_tcti: str) -> str:
        bus = self.dir / "bus"
        self._spawn(["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address=unix:path={bus}"], {})
        _wait_for(bus, "dbus-daemon")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"
        self._spawn(["tpm2-abrmd", "--session", "--allow-root", "--flush-all", f"--tcti={swtpm_tcti}"], {})
        tcti = "tabrmd:bus_type=session"
        deadline = time.monotonic() + 10
        while True:  # abrmd is up once a client can talk to it
            probe = subprocess.run(["tpm2_getcap", "properties-fixed"], capture_output=True,
                                   env={**self._full_env(), "TPM2TOOLS_TCTI": tcti}, timeout=30)
            if probe.returncode == 0:
                return tcti
            if time.monotonic() > deadline:
                raise SignerUnavailable("tpm2-abrmd did not come up on the private D-Bus")
            time.sleep(0.1)

    def _init_token(self) -> None:
        env = self._full_env()
        if self.abrmd:
            store = str(self.dir / "store")
            _run(["tpm2_ptool", "init", f"--path={store}"], env, "tpm2_ptool init")
            _run(["tpm2_ptool", "addtoken", "--pid=1", f"--label={self.token_label}", f"--sopin={self.so_pin}",
                  f"--userpin={self.pin}", f"--path={store}"], env, "tpm2_ptool addtoken")
            return
        _run(["pkcs11-tool", "--module", self.module, "--slot-index", "0", "--init-token",
              "--label", self.token_label, "--so-pin", self.so_pin], env, "pkcs11-tool --init-token")
        _run(["pkcs11-tool", "--module", self.module, "--token-label", self.token_label, "--login",
              "--login-type", "so", "--so-pin", self.so_pin, "--init-pin", "--pin", self.pin],
             env, "pkcs11-tool --init-pin")
