"""A private PostgreSQL cluster for the tests: Debian's server binaries, ``initdb`` in a temporary
directory, ``postgres`` on a free port of 127.0.0.1. Nothing global is touched, no Docker.

PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(made by Debian's package; ``nobody`` otherwise) and its folder is chowned to it. The suite
starts one cluster per session (:func:`tests.support.hub_fixtures.pg_cluster`); each test gets
its own database, copied from a template that is migrated once.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.waiting import free_port

SUPERUSER = "hub"


def server_bindir() -> Path | None:
    """Debian's ``/usr/lib/postgresql/<version>/bin`` (the newest), or the PATH's ``initdb``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PgCluster:
    """initdb + pg_ctl on a temporary directory; ``url(db)`` for psycopg/the hub."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="hub-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                self.user = pwd.getpwnam("nobody")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._serial = 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user.pw_name, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if check and result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout[-2000:]} {result.stderr[-2000:]}")
        return result

    def init(self) -> "PgCluster":
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync",
                  "--locale=C")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                       "fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
                       "shared_buffers = 64MB\nlog_min_messages = warning\n")
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "restart", "-l",
                  str(self.dir / "server.log"))
        self.wait_ready()

    def wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, dbname: str, *, port: int | None = None) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{port or self.port}/{dbname}"

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, template: str = "template0") -> str:
        self._serial += 1
        name = f"t{os.getpid()}_{self._serial}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return name

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def start_cluster() -> PgCluster | None:
    bindir = server_bindir()
    if bindir is None:
        return None
    cluster = PgCluster(bindir).init()
    cluster.start()
    return cluster
