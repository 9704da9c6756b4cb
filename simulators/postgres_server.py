"""Runs a real PostgreSQL server as a subprocess on loopback, for the store tests and the replica runs.

Not a simulator: the same PostgreSQL that the bridge runs against in production (Debian's package, which
`.ci/run` installs when it is missing). Each start gets a fresh cluster in a temporary folder, with trust
authentication on 127.0.0.1 only and `fsync` off (a test cluster has nothing to lose), so it starts in
about two seconds and leaves nothing behind.

PostgreSQL refuses to run as root; under root (CI, this machine) the server and `initdb` run as the
`postgres` user that Debian's package creates, and the cluster's folder is handed to that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from simulators.processes import ServerProcess, free_port

INSTALL_HINT = "install Debian's postgresql package (apt-get install postgresql); .ci/run does it"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine, or the server did not start."""


def bin_dir() -> Path:
    """Where `initdb`, `pg_ctl` and `postgres` are: Debian keeps them off PATH, in /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        raise PostgresUnavailable(f"no PostgreSQL server binaries found; {INSTALL_HINT}")
    return Path(versions[-1]).parent


class RealPostgres(ServerProcess):
    """`with RealPostgres() as pg:` a running server; `pg.url(database)` for a connection URL."""

    def __init__(self) -> None:
        self.port = free_port()
        self.host = "127.0.0.1"
        self._folder = Path(tempfile.mkdtemp(prefix="bridge-pg-"))
        self.data = self._folder / "data"
        self._user: str | None = "postgres" if os.geteuid() == 0 else None
        self._created = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def start(self) -> RealPostgres:
        binaries = bin_dir()
        if self._user:
            try:
                account = pwd.getpwnam(self._user)
            except KeyError as exc:
                raise PostgresUnavailable(f"running as root needs the '{self._user}' user; {INSTALL_HINT}") from exc
            os.chown(self._folder, account.pw_uid, account.pw_gid)
        self._as_server_user(
            [str(binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        )
        options = (
            f"-c listen_addresses={self.host} -c port={self.port} -c unix_socket_directories={self._folder} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        log = self._folder / "server.log"
        self._as_server_user(
            [str(binaries / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
        )
        return self

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL (each test gets its own, so none sees another's rows)."""
        import psycopg

        self._created += 1
        name = f"{prefix}_{os.getpid()}_{self._created}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            if (self.data / "postmaster.pid").exists():
                self._as_server_user([str(bin_dir() / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self._folder, ignore_errors=True)

    def _as_server_user(self, command: list[str]) -> None:
        program = Path(command[0]).name
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self._folder)
        if done.returncode != 0:
            log = self._folder / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{program} failed after {time.monotonic() - started:.1f} s: {done.stderr.strip()[-800:]}\n{tail}"
            )
