"""``appliance demo``: the whole appliance on embedded defaults, in ``./var``.

What it sets up (idempotent; a second run reuses everything):

1. a demo configuration ``var/demo.toml`` (unless ``APPLIANCE_CONFIG`` names one);
2. the signing key: a SoftHSM2 token in ``var/softhsm`` with a key made on the token, a
   CSR, the LAB/TEST CSCA and an imported DSC — or, without SoftHSM2, the software key;
3. one sample certificate of each type (vaccination, test, recovery), written as SVG and
   PNG QR codes to ``var/demo-out/`` and verified;
4. unless ``--no-serve``: a local hub (``var/hub``) with this device registered, the sync
   agent, and the tablet UI on http://127.0.0.1:8080 with the demo sign-in printed.

Mock GPIO pins (``GPIOZERO_PIN_FACTORY=mock``) and the file printer (receipts as files
and PNG previews in ``var/receipts``) stand in for hardware.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from appliance.commands.serve import _serve_plain, listen_error
from appliance.dcc.model import SECTIONS
from appliance.keys import softtokens
from appliance.errors import ApplianceError, UsageError
from appliance.config import load_config

log = logging.getLogger(__name__)

DEMO_USER, DEMO_PASSWORD = "demo", "demo-password"


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the appliance on embedded defaults in ./var",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--no-serve", action="store_true",
                   help="only set up, issue and verify the sample certificates, then exit")
    p.add_argument("--software-key", action="store_true", help="use the software key even if SoftHSM2 is installed")
    p.add_argument("--port", type=int, default=8080, help="port of the tablet UI (default 8080)")
    p.add_argument("--hub-port", type=int, default=8765, help="port of the local hub (default 8765)")
    p.set_defaults(func=run)


def _demo_toml(signer: dict, hub_port: int, web_port: int) -> str:
    signer_lines = "\n".join(f'{k} = "{v}"' for k, v in signer.items())
    return f"""# Demo configuration written by `appliance demo`. Every key is documented in
# provisioning/appliance.toml.example.
[device]
id = "demo-device-0001"
country = "DE"
issuer = "Demo Impfzentrum"
uvci_issuer = "DEMO1"

[signer]
{signer_lines}

[printer]
kind = "file"
profile = "TM-T20II"
paper_width_mm = 80

[gpio]
enabled = true

[sync]
hub_url = "http://127.0.0.1:{hub_port}"

[web]
host = "127.0.0.1"
port = {web_port}
"""


def _signer_section(state: Path, software: bool) -> dict:
    """SoftHSM2 when installed (key made on the token), else the software key."""
    if not software and softtokens.softhsm_available():
        token = softtokens.SoftHsmToken(state / "softhsm")
        token.start()
        os.environ.update(token.env)  # before any process loads the PKCS#11 module
        return token.config_overrides()["signer"]
    print("SoftHSM2 is not installed: using the SOFTWARE key (demo only; apt-get install softhsm2 for a token)")
    return {"kind": "software"}


def _prepare(args) -> tuple[Path, Path]:
    state = Path(os.environ.get("APPLIANCE_STATE_DIR") or "var").resolve()
    state.mkdir(parents=True, exist_ok=True)
    config_path = Path(os.environ.get("APPLIANCE_CONFIG") or state / "demo.toml").resolve()
    os.environ.setdefault("GPIOZERO_PIN_FACTORY", "mock")
    os.environ.setdefault("GPIOZERO_MOCK_PIN_CLASS", "mockpwmpin")
    signer = _signer_section(state, args.software_key)
    if not config_path.exists():
        config_path.write_text(_demo_toml(signer, args.hub_port, args.port), encoding="utf-8")
        print(f"wrote the demo configuration {config_path}")
    os.environ["APPLIANCE_CONFIG"] = str(config_path)
    os.environ["APPLIANCE_STATE_DIR"] = str(state)
    return state, config_path


def _issue_samples(devices, config, out: Path, now: datetime) -> None:
    from appliance.dcc import form, qr, samples, verify  # lazy: jsonschema, PIL and zxing-cpp, ~60 ms on every command

    out.mkdir(exist_ok=True)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)   # the same data all day: a rerun replays
    for t, name in SECTIONS.items():
        req = form.parse_input(samples.example_input(t, now=day), type=t, device=config.device, now=now)
        issued = devices.issuer.issue(req, operator=DEMO_USER, idempotency_key=f"demo-{t}-{now:%Y-%m-%d}")
        (out / f"{name}.svg").write_text(qr.qr_svg(issued.hc1, ecc=config.issue.qr_ecc), encoding="utf-8")
        (out / f"{name}.png").write_bytes(qr.qr_png(issued.hc1, ecc=config.issue.qr_ecc))
        (out / f"{name}.txt").write_text(issued.hc1 + "\n", encoding="ascii")
        result = verify.verify(issued.hc1, dscs=[devices.signer.certificate], at=devices.clock.now())
        verdict = "valid" if result.valid else "INVALID: " + "; ".join(result.errors)
        print(f"  {name:<12} {issued.uvci}  {len(issued.hc1)} chars  {verdict}")
        if not result.valid:
            raise ApplianceError(f"the sample {name} certificate does not verify")
    print(f"  QR codes and HC1 strings in {out}")


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ApplianceError(f"the {what} stopped at start (exit {proc.returncode}); is port {port} in use?")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise ApplianceError(f"the {what} did not start listening on port {port}")


def _start_hub(state: Path, device_id: str, dsc_pem: bytes, port: int) -> tuple[subprocess.Popen, str]:
    hub_state = state / "hub"
    hub_state.mkdir(exist_ok=True)
    hub_config = state / "hub.toml"
    if not hub_config.exists():
        hub_config.write_text(f'[hub]\nhost = "127.0.0.1"\nport = {port}\n', encoding="utf-8")
    env = dict(os.environ, APPLIANCE_CONFIG=str(hub_config), APPLIANCE_STATE_DIR=str(hub_state))
    dsc_file = state / "dsc-for-hub.pem"
    dsc_file.write_bytes(dsc_pem)
    cmd = [sys.executable, "-m", "appliance"]
    subprocess.run(cmd + ["hub", "register-device", "--device-id", device_id, "--dsc", str(dsc_file),
                          "--centre", "Demo Impfzentrum", "--yes"], env=env, check=True, stdout=subprocess.DEVNULL)
    hub = subprocess.Popen(cmd + ["hub", "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    _wait_port(port, hub, "hub")
    from appliance.hub.auth import ensure_token  # lazy: the hub package loads Flask, ~70 ms on every command
    return hub, ensure_token(hub_state)


def _check_free(port: int, option: str) -> None:
    """Refuse at once, before anything is set up, when another program holds ``port``."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as the servers do: TIME_WAIT is no conflict
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise listen_error(exc, "127.0.0.1", port, option) from None


def run(args) -> int:
    from appliance.keys import provision  # lazy: python-pkcs11, ~13 ms on every command
    from appliance.runtime import build_services  # lazy: the whole web process, ~290 ms on every command

    if not (0 < args.port < 65536 and 0 < args.hub_port < 65536) or args.port == args.hub_port:
        raise UsageError("--port and --hub-port must be two different port numbers (1-65535)")
    if not args.no_serve:
        _check_free(args.port, "--port")
        _check_free(args.hub_port, "--hub-port")
    state, config_path = _prepare(args)
    config = load_config()
    now = datetime.now(timezone.utc)
    print(f"appliance demo in {state} (configuration {config_path})")
    if config.signer.kind == "pkcs11":
        kid = provision.lab_provision(config, now=now)
        print(f"signing key on the SoftHSM2 token {config.signer.token!r}, DSC from the LAB/TEST CSCA, kid {kid}")
    devices = build_services(config)
    children: list[subprocess.Popen] = []
    try:
        if not devices.issuer.clock_status()["synchronized"] and not devices.issuer.clock_status()["confirmed_this_boot"]:
            devices.issuer.confirm_clock(operator=DEMO_USER)
            print("this machine's clock is neither NTP-synchronised nor battery-backed: "
                  "confirmed it as the demo admin (on a device an admin does this once per boot)")
        print("sample certificates:")
        _issue_samples(devices, config, state / "demo-out", now)
        if devices.settings.user(DEMO_USER) is None:
            devices.settings.add_user(DEMO_USER, password=DEMO_PASSWORD, role="admin")
            # a centre profile as an admin would set it once: the forms open with these defaults
            devices.settings.update_centre(name="Demo Impfzentrum", default_product="EU/1/20/1528",
                                           default_test_type="LP217198-3", default_test_device="1232",
                                           test_centre="Demo Testzentrum")
        if args.no_serve:
            return 0
        dsc_pem = devices.signer.certificate.public_bytes(serialization.Encoding.PEM)
        hub, token = _start_hub(state, config.device.id, dsc_pem, args.hub_port)
        children.append(hub)
        children.append(subprocess.Popen([sys.executable, "-m", "appliance", "sync"], env=dict(os.environ)))
        from appliance.web import create_app  # lazy: Flask and Babel, ~90 ms on every command

        app = create_app(config, devices)
        devices.start()
        print(f"\nhub:       http://127.0.0.1:{args.hub_port}/  (status page; user any, password {token})")
        print(f"tablet UI: http://127.0.0.1:{args.port}/  sign in as {DEMO_USER!r} with {DEMO_PASSWORD!r}")
        print("receipts:  " + str(state / "receipts") + "   (Ctrl-C stops everything)\n", flush=True)
        _serve_plain(app, "127.0.0.1", args.port)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        devices.close()
    return 0
