"""Debian's PostgreSQL as a local process: one cluster in a directory of its own, on loopback.

PostgreSQL refuses to run as root, so when the stack runs as root (containers, CI) the cluster
belongs to the ``postgres`` system user that Debian's package creates and every command runs
through ``runuser``. Host connections need a password (scram-sha-256), as in a deployment;
only the cluster's own Unix socket, inside its directory, is trusted for setting it up.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from facade.stack.keycloak import PostgresDatabase


def _bin_dir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")


@dataclass
class PostgresServer:
    datadir: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run_as(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if self._as_root else []

    def _chown(self, path: Path) -> None:
        if self._as_root:
            user = pwd.getpwnam("postgres")
            os.chown(path, user.pw_uid, user.pw_gid)

    def init(self) -> bool:
        """Create the cluster unless it exists; True when it was created now."""
        if (self.datadir / "PG_VERSION").exists():
            return False
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.datadir.chmod(0o700)
        self._chown(self.datadir)
        subprocess.run(
            [
                *self._run_as(),
                str(_bin_dir() / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return True

    def start(self, log: Path) -> None:
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    *self._run_as(),
                    str(_bin_dir() / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={self.datadir}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the cluster's own socket."""
        result = subprocess.run(
            [
                *self._run_as(),
                str(_bin_dir() / "psql"),
                "-h",
                str(self.datadir),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}")
            try:
                self.psql("SELECT 1")
                return
            except subprocess.CalledProcessError:
                time.sleep(0.3)
        raise TimeoutError(f"PostgreSQL not ready on port {self.port}")

    def ensure_database(self, database: PostgresDatabase) -> None:
        """The role (its password set to the given one) and its database; idempotent."""
        role = database.username
        password = database.password.replace("'", "''")
        exists = self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'")  # noqa: S608
        verb = "ALTER" if exists else "CREATE"
        self.psql(f"{verb} ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database.name}'"):  # noqa: S608
            self.psql(f'CREATE DATABASE "{database.name}" OWNER "{role}"')

    def stop(self) -> None:
        if self.process is not None:
            from facade.stack.processes import stop_process

            stop_process(self.process.pid)
            self.process = None
