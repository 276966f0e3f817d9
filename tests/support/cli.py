"""``python -m appliance`` as a real process: the one runner the CLI tests share, and its environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.support.paths import REPO

#: the command line of the appliance CLI in this interpreter
APPLIANCE = (sys.executable, "-m", "appliance")


def clean_env(*, drop: Iterable[str] = ("APPLIANCE_",), extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the variables starting with ``drop`` (so the developer's
    own APPLIANCE_* settings never leak into a test), the repository first on PYTHONPATH, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(tuple(drop))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def appliance_env(config_file: Path, state_dir: Path, *, drop: Iterable[str] = ("APPLIANCE_",),
                  extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """:func:`clean_env` for one device (or hub): its config file and its state dir."""
    return clean_env(drop=drop, extra={"APPLIANCE_CONFIG": str(config_file), "APPLIANCE_STATE_DIR": str(state_dir),
                                       **(extra or {})})


def write_config(path: Path, text: str) -> Path:
    """Write a TOML config file; return its path."""
    path.write_text(text, encoding="utf-8")
    return path


def run_appliance(*args, env: Mapping[str, str], stdin: str | None = None, cwd: Path | str = REPO,
                  timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``appliance ARGS...`` (each argument through ``str``) to completion; text output captured."""
    return subprocess.run([*APPLIANCE, *map(str, args)], env=dict(env), input=stdin, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def start_appliance(*args, env: Mapping[str, str], cwd: Path | str = REPO, **popen) -> subprocess.Popen:
    """Start ``appliance ARGS...`` as a child process (a server, the sync service); ``popen`` goes to Popen."""
    return subprocess.Popen([*APPLIANCE, *map(str, args)], env=dict(env), cwd=cwd, **popen)
