"""A live ``facade serve`` (gunicorn, several workers) for the operations tests."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from facade.stack.processes import free_port, stop_process
from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET

# Re-exported for the ops tests: one definition of each, shared with the contract tests.
from tests.conftest import random_phone as random_phone
from tests.contracts.live import random_ip as random_ip


@dataclass
class LiveFacade:
    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """Gunicorn's workers: the children of the master (this process's child)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)


@contextmanager
def live_facade(
    keycloak_url: str, redis_url: str, wechat_url: str, workers: int = 2, **env: str
) -> Iterator[LiveFacade]:
    """``facade serve`` in development mode on a free port; stopped on exit."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACADE_")},
        "FACADE_ENV": "development",
        "FACADE_KEYCLOAK_URL": keycloak_url,
        "FACADE_REDIS_URL": redis_url,
        "FACADE_REDIS_PREFIX": f"ops{port}:",
        "FACADE_TRUSTED_PROXIES": "127.0.0.1",
        "FACADE_WECHAT_API_BASE": wechat_url,
        "FACADE_WECHAT_APPID": DEV_APPID,
        "FACADE_WECHAT_SECRET": DEV_SECRET,
        "FACADE_LOG_LEVEL": "WARNING",
        **env,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "facade.cli",
            "serve",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
        ],
        env=environment,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(f"{url}/healthz"), 30, "the facade did not start")
        yield LiveFacade(url, process)
    finally:
        stop_process(process.pid)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@contextmanager
def healthz_probed(url: str) -> Iterator[list[float]]:
    """Probe ``/healthz`` every 50 ms while the block runs; yields the probes' durations."""
    probes: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            started = time.monotonic()
            assert requests.get(f"{url}/healthz", timeout=10).status_code == 200
            probes.append(time.monotonic() - started)
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield probes
    finally:
        done.set()
        prober.join()


def wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(message)


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``/metrics``, keyed by name and labels."""
    response = requests.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)
