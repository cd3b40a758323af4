"""How many code checks per second one process sustains on a real Redis, against a baseline.

Each phase runs for ``--seconds`` in 1 and then ``--threads`` threads of this one process, the
two phases alternating for ``--rounds`` rounds (the median of each is reported, so that a busy
machine skews both alike):

- baseline: a plain ``GET`` and ``SET`` per operation (two round trips, the least a naive,
  non-atomic check would cost);
- check: ``CodeService.check`` with a wrong code (canonical target, HMAC, one Lua script that
  reads the code and counts the try), the path every guess takes.

Run ``python -m benchmarks.bench_codes`` (starts its own redis-server on a free port) or pass
``--redis-url redis://host:port/db`` (it writes only under a random ``bench<hex>:`` prefix and
deletes it afterwards).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import redis

from facade.adapters.dev_outbox import DevSender, RedisOutbox
from facade.adapters.redis_codes import RedisCodeStore
from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_ratelimit import RedisRateLimiter
from facade.core.codes import CheckResult, CodeService
from facade.core.delivery import Delivery
from facade.core.limits import CodePolicy
from facade.stack.processes import RedisServer, free_port

PHONE = "13800138000"


def rate(operation: Callable[[], object], seconds: float, threads: int) -> float:
    """Operations per second of ``operation`` run back to back in ``threads`` threads."""
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(index: int) -> None:
        start.wait()
        while not stop.is_set():
            operation()
            counts[index] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def run(url: str, seconds: float, threads: int, rounds: int) -> None:
    client = redis.Redis.from_url(url, max_connections=threads + 4)
    prefix = f"bench{secrets.token_hex(4)}:"
    keys = RedisKeys(prefix)
    policy = CodePolicy(max_tries=10**9, resend_interval=0, daily_cap=10**6)
    service = CodeService(
        RedisCodeStore(client, keys),
        RedisRateLimiter(client, keys, {}),
        Delivery({"sms": [DevSender("sms", RedisOutbox(client, keys))]}),
        lambda contract: policy,
        "benchmark-server-secret-of-32-characters",
        development=True,
    )
    sent = service.send("vcode", "login", "sms", PHONE, "127.0.0.1")
    assert sent.code is not None
    wrong = sent.code[:-1] + str((int(sent.code[-1]) + 1) % 10)
    baseline_key = prefix + "baseline"

    def baseline() -> None:
        client.get(baseline_key)
        client.set(baseline_key, b"1")

    def check() -> None:
        assert service.check("vcode", "login", PHONE, wrong) is CheckResult.WRONG

    try:
        for concurrency in (1, threads):
            bases, checked = [], []
            for _ in range(rounds):
                bases.append(rate(baseline, seconds, concurrency))
                checked.append(rate(check, seconds, concurrency))
            base, checks = statistics.median(bases), statistics.median(checked)
            print(
                f"threads={concurrency:<2}  baseline GET+SET: {base:9.0f} ops/s   "
                f"check_code: {checks:9.0f} checks/s   ratio: {checks / base:.2f}"
            )
    finally:
        stale = list(client.scan_iter(f"{prefix}*"))
        if stale:
            client.delete(*stale)
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_codes", description=__doc__)
    parser.add_argument("--redis-url", help="an existing Redis (default: start a local one)")
    parser.add_argument("--seconds", type=float, default=0.5, help="per phase (default 0.5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per phase (default 3)")
    parser.add_argument("--threads", type=int, default=8, help="second round (default 8)")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = args.redis_url
        if not url:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            server = RedisServer(workdir, port=free_port())
            server.start()
            stack.callback(server.stop)
            server.wait_ready()
            url = server.url
        print(f"redis: {url}")
        run(url, args.seconds, args.threads, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
