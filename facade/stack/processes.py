"""Small process helpers shared by the development stack and the test harness."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

#: Where stack processes run from (``python -m facade...`` and ``examples...`` resolve there).
REPO = Path(__file__).resolve().parents[2]


def start_module(
    args: list[str], log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``python -m <args>`` from the repository, output appended to ``log``, in a process group
    of its own (so that it is stopped, or killed, whole)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=REPO,
            start_new_session=True,
        )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def stop_process(pid: int, timeout: float = 20.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``timeout``."""
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


@dataclass
class RedisServer:
    """Debian's ``redis-server`` on loopback, without persistence unless asked."""

    workdir: Path
    port: int = 6379
    persistent: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--save", "60 1"]
            if self.persistent
            else ["--appendonly", "no", "--save", ""]
        )
        with (self.workdir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--dir",
                    str(self.workdir),
                    "--protected-mode",
                    "yes",
                    *persistence,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 20.0) -> None:
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise TimeoutError(f"Redis not ready on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process.pid)
            self.process = None


@dataclass
class WechatStandinProcess:
    """The WeChat stand-in (``facade.stack.wechat_standin``) as a background process.

    Appid and secret go through the environment, not the command line, so that ``ps`` does not
    show the secret.
    """

    workdir: Path
    port: int
    appid: str
    secret: str
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answers(self) -> bool:
        """Whether a stand-in for this appid already answers on the port."""
        try:
            response = requests.get(f"{self.url}/_standin/health", timeout=1)
            return response.status_code == 200 and self.appid in response.json().get("appids", [])
        except (requests.RequestException, ValueError):
            return False

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "FACADE_WECHAT_APPID": self.appid, "FACADE_WECHAT_SECRET": self.secret}
        with (self.workdir / "wechat.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "facade.stack.wechat_standin", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=Path(__file__).resolve().parents[2],
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the WeChat stand-in exited with {self.process.returncode}")
            if self.answers():
                return
            time.sleep(0.1)
        raise TimeoutError(f"WeChat stand-in not ready on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process.pid)
            self.process = None


def read_pids(path: Path) -> dict[str, int]:
    """The process ids a stack recorded in ``path`` (empty when there is none)."""
    try:
        data: dict[str, int] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        return {}


def write_pids(path: Path, pids: dict[str, int]) -> None:
    path.write_text(json.dumps(pids))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
