"""Helper process for the SIGKILL fault test (not a test module).

Imports everything once, then on each ``go`` line from stdin forks a child that
opens the journal and issues in a loop through :class:`appliance.issue.Issuer`,
writing ``ISSUED <replayed> <uvci> <hc1>`` with one ``write()`` AFTER each
``issue()`` returns. The parent reports ``PID <n>`` and, once the test has
killed the child, ``DEAD <n>``. Forking keeps each restart cheap, so hundreds of
kills fit in a CI budget; every child is a real process killed with SIGKILL.

usage: issue_loop.py STATE_DIR NTP_FLAG_FILE INPUT.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from appliance.dcc import form
from appliance.config import load_config
from appliance.devices.clock import SystemClock
from appliance.devices.signer import SoftwareSigner
from appliance.issue import Issuer
from appliance.journal.journal import Journal


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())  # one write() per line: atomic on a pipe


def child(state: Path, clock: SystemClock, signer, data: dict) -> None:
    config = load_config(env={}, state_dir=state)
    journal = Journal.open(state / "journal.sqlite")
    issuer = Issuer(config=config, signer=signer, journal=journal, clock=clock)
    req = form.parse_input(data, type="v", device=config.device, now=clock.now())
    n = max(journal.last_seq() - 1, 0)  # retry the last request, as a client after a crash would
    while True:
        issued = issuer.issue(req, operator="loop", idempotency_key=f"req-{n}")
        say(f"ISSUED {int(issued.replayed)} {issued.uvci} {issued.hc1}")
        n += 1


def main() -> None:
    state, flag, example = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    clock = SystemClock(ntp_flag=flag, rtc_paths=(), timedatectl=None)
    signer = SoftwareSigner.open(state)
    Journal.open(state / "journal.sqlite").close()
    data = json.loads(example.read_text(encoding="utf-8"))
    for line in sys.stdin:
        if line.strip() != "go":
            break
        pid = os.fork()
        if pid == 0:
            try:
                child(state, clock, signer, data)
            finally:
                os._exit(3)
        say(f"PID {pid}")
        os.waitpid(pid, 0)
        say(f"DEAD {pid}")


if __name__ == "__main__":
    main()
