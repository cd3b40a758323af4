"""Overload: at several times the sustainable rate the facade degrades, never collapses.

Run from the repository root against ``make dev`` (facade on :8000, Keycloak on :8080, Redis)::

    python -m benchmarks.bench_overload                  # writes benchmarks/results/overload.json
    python -m benchmarks.bench_overload --operation password_login --seconds 10 --factor 4

Phases, each ``--seconds`` long, with a separate process probing ``GET /healthz`` every 50 ms on
its own keep-alive connection throughout:

1. ``idle``: the prober alone, the baseline of ``/healthz`` latency in the same run;
2. ``sustainable``: a closed loop of ``--connections`` clients (each sends its next request when
   the last is answered); R is its rate of successful answers;
3. ``overload``: an open loop offering ``--factor`` x R: requests start on a fixed schedule
   whatever the answers, each with a client timeout of ``--timeout`` seconds;
4. ``recovery``: the closed loop again, right after: does R come back?

Every answer is classified by the contract's own rules (:func:`classify`): a success, the
contract's "too many requests" (member HTTP 429; customer 10008), its "service unavailable" with
``Retry-After`` (member HTTP 503; customer 10009), anything else, a client timeout, or a
connection error. Requests come from random ``X-Forwarded-For`` addresses (the dev stack trusts
127.0.0.1 as a proxy) so per-IP limits do not decide the result.

Operations: ``code_login`` (member ``/auth/login/sms``: each request spends a code, so a phone is
lent to one request at a time and gets a fresh code planted just before it is sent) and
``password_login`` (customer ``/user/login``). Users are registered through the facade's services
(:class:`benchmarks.bench_http.Bench`), enough for every request that may be in flight, and are
logged out and deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from benchmarks.bench_http import PASSWORD, RESULTS, Bench, add_stack_arguments
from facade.core.errors import Unavailable

#: Answer classes, in report order. ``starved``: no user was free to send as (not sent).
CLASSES = ("ok", "too_many", "unavailable", "other", "timeout", "error", "starved")
#: Classes that are the contract's own quick refusals.
REFUSALS = ("too_many", "unavailable")


@dataclass(frozen=True)
class Operation:
    path: str
    contract: str  # "member" or "customer": which error rules classify its answers
    spends_code: bool


OPERATIONS = {
    "code_login": Operation("/api/v1/auth/login/sms", "member", spends_code=True),
    "password_login": Operation("/api/app/customer/v1/user/login", "customer", spends_code=False),
}

#: The contracts' documented overload answers: (HTTP status, body code) per class. member's HTTP
#: status equals its body code; customer answers every documented outcome with HTTP 200.
CONTRACT_CODES = {
    "member": {"ok": (200, 0), "too_many": (429, 429), "unavailable": (503, 503)},
    "customer": {"ok": (200, 0), "too_many": (200, 10008), "unavailable": (200, 10009)},
}


def classify(contract: str, status: int, headers: Mapping[str, str], body: Any) -> tuple[str, str]:
    """``(class, detail)`` of one answer by ``contract``'s rules; ``detail`` names what was
    answered when it is not one of the contract's own outcomes.

    "Unavailable" counts only with ``Retry-After``: a refusal that does not say when to come
    back invites an immediate retry, which is how overload turns into collapse.
    """
    code = body.get("code") if isinstance(body, dict) else None
    detail = f"HTTP {status} code {code}"
    codes = CONTRACT_CODES[contract]
    for kind in ("ok", "too_many", "unavailable"):
        if (status, code) == codes[kind]:
            if kind == "unavailable" and not headers.get("Retry-After"):
                return "other", detail + " without Retry-After"
            return kind, ""
    return "other", detail


def send_offsets(rate: float, seconds: float) -> list[float]:
    """Seconds after the start at which an open loop sends: ``rate`` a second, evenly spaced,
    as many as fit in ``seconds`` (the schedule never depends on the answers)."""
    if rate <= 0 or seconds <= 0:
        return []
    count = math.floor(round(rate * seconds, 6))
    return [index / rate for index in range(count)]


def lateness(start: float, offset: float, now: float) -> float:
    """How far behind its schedule a send is (0 when on time or early)."""
    return max(0.0, now - (start + offset))


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0-100) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_summary(seconds: list[float]) -> dict[str, float | int | None]:
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "count": len(seconds),
        "p50_ms": ms(percentile(seconds, 50)),
        "p99_ms": ms(percentile(seconds, 99)),
        "max_ms": ms(max(seconds) if seconds else None),
    }


# --- the /healthz prober ----------------------------------------------------------------------


def probe(url: str, interval: float, timeout: float, stop: Any, out: Connection) -> None:
    """Runs in its own process so the load generator's event loop cannot delay a probe: GET
    ``/healthz`` every ``interval`` on one keep-alive connection until ``stop`` is set, then send
    ``(monotonic start, seconds, status)`` per probe (status 0: no answer)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    samples: list[tuple[float, float, int]] = []
    next_at = time.monotonic()
    while not stop.is_set():
        started = time.monotonic()
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = 0
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        samples.append((started, time.monotonic() - started, status))
        next_at = max(next_at + interval, time.monotonic())  # late probes are not bunched up
        stop.wait(next_at - time.monotonic())
    out.send(samples)
    out.close()


class Prober:
    def __init__(self, url: str, interval: float = 0.05, timeout: float = 5.0) -> None:
        context = multiprocessing.get_context("fork")  # started before any thread exists
        self._stop = context.Event()
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=probe, args=(url, interval, timeout, self._stop, send), daemon=True
        )
        self._process.start()
        send.close()

    def finish(self) -> list[tuple[float, float, int]]:
        self._stop.set()
        samples: list[tuple[float, float, int]] = self._receive.recv()
        self._process.join(10)
        return samples


def healthz_summary(
    samples: list[tuple[float, float, int]], start: float, end: float
) -> dict[str, Any]:
    inside = [(seconds, status) for at, seconds, status in samples if start <= at < end]
    return {
        **latency_summary([seconds for seconds, _ in inside]),
        "not_200": sum(1 for _, status in inside if status != 200),
    }


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float  # monotonic time the request was sent
    seconds: float
    kind: str
    detail: str = ""
    retry_after: float = 0.0  # seconds a refusal asked the client to wait


@dataclass
class Phase:
    name: str
    start: float
    end: float
    outcomes: list[Outcome]
    offered_rps: float | None = None  # open loop only: the schedule's rate
    lag_s: list[float] = field(default_factory=list)  # open loop only: sends behind schedule

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def served_rps(self) -> float:
        """Successes answered inside the phase, per second: what a client got done."""
        done = sum(1 for o in self.outcomes if o.kind == "ok" and o.at + o.seconds <= self.end)
        return done / self.seconds if self.seconds else 0.0

    def summary(self, probes: list[tuple[float, float, int]]) -> dict[str, Any]:
        counts = Counter(o.kind for o in self.outcomes)
        sent = [o for o in self.outcomes if o.kind != "starved"]
        return {
            "phase": self.name,
            "seconds": round(self.seconds, 2),
            "sent": len(sent),
            "sent_rps": round(len(sent) / self.seconds, 1) if self.seconds else 0.0,
            "offered_rps": None if self.offered_rps is None else round(self.offered_rps, 1),
            "served_rps": round(self.served_rps(), 1),
            "answers": {kind: counts.get(kind, 0) for kind in CLASSES},
            "other_details": dict(Counter(o.detail for o in self.outcomes if o.detail)),
            "success_latency": latency_summary(
                [o.seconds for o in self.outcomes if o.kind == "ok"]
            ),
            "refusal_latency": latency_summary(
                [o.seconds for o in self.outcomes if o.kind in REFUSALS]
            ),
            "schedule_lag": latency_summary(self.lag_s) if self.lag_s else None,
            "healthz": healthz_summary(probes, self.start, self.end),
        }


class Phones:
    """Phones free to send as, each with its live code. A code sign-in spends its code, so (with
    ``plant``) a phone is lent to one request at a time and gets its next code when given back,
    off the send schedule; one that got no answer is never lent again (a late arrival would be a
    wrong try against the next code). Without ``plant`` (password sign-ins) phones take turns."""

    def __init__(self, phones: list[str], plant: Callable[[str], str] | None = None) -> None:
        self._plant = plant
        self._free: deque[tuple[str, str]] = deque()
        self.add(phones)

    def lend(self) -> tuple[str, str] | None:
        if not self._free:
            return None
        if self._plant is None:
            self._free.rotate(-1)
            return self._free[-1]
        return self._free.popleft()

    def give_back(self, phone: str) -> None:
        if self._plant is not None:
            self.add([phone])

    def add(self, phones: list[str]) -> None:
        self._free.extend((phone, self._plant(phone) if self._plant else "") for phone in phones)


def random_address() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


class Load:
    """Sends one request of ``operation`` as a free user and classifies its answer."""

    def __init__(self, bench: Bench, operation: Operation, timeout: float) -> None:
        self.bench = bench
        self.operation = operation
        self.url = bench.args.facade_url + operation.path
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.phones = Phones(
            [phone for _, phone in bench.users],
            bench.plant_code if operation.spends_code else None,
        )

    async def one(self, session: aiohttp.ClientSession) -> Outcome:
        loop = asyncio.get_running_loop()
        lent = self.phones.lend()
        if lent is None:
            return Outcome(loop.time(), 0.0, "starved")
        phone, code = lent
        body = {"phone": phone, **({"code": code} if code else {"password": PASSWORD})}
        started = loop.time()
        try:
            async with session.post(
                self.url,
                json=body,
                headers={"X-Forwarded-For": random_address()},
                timeout=self.timeout,
            ) as response:
                raw = await response.read()
                status, headers = response.status, response.headers
        except TimeoutError:
            return Outcome(started, loop.time() - started, "timeout")
        except aiohttp.ClientError as exc:
            return Outcome(started, loop.time() - started, "error", type(exc).__name__)
        seconds = loop.time() - started
        self.phones.give_back(phone)  # after the answer: its code is spent or refused
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        kind, detail = classify(self.operation.contract, status, headers, answer)
        try:
            retry_after = float(headers.get("Retry-After", "0")) if kind in REFUSALS else 0.0
        except ValueError:  # an HTTP date: the contracts send seconds
            retry_after = 0.0
        return Outcome(started, seconds, kind, detail, retry_after)


async def closed_loop(load: Load, name: str, connections: int, seconds: float) -> Phase:
    """``connections`` clients, each sending its next request when the last is answered, or
    after its ``Retry-After`` when refused, as the contract asks (a refused client that retried
    at once would spin in a loop of fast refusals and take CPU from the requests served)."""
    loop = asyncio.get_running_loop()
    outcomes: list[Outcome] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = loop.time()
        end = start + seconds

        async def client() -> None:
            while loop.time() < end:
                outcome = await load.one(session)
                outcomes.append(outcome)
                if outcome.kind == "starved":
                    await asyncio.sleep(0.01)
                await asyncio.sleep(min(outcome.retry_after, max(0.0, end - loop.time())))

        await asyncio.gather(*(client() for _ in range(connections)))
    return Phase(name, start, end, outcomes)


async def open_loop(load: Load, name: str, rate: float, seconds: float) -> Phase:
    """Requests started on a fixed schedule at ``rate`` whatever the answers (new connections
    open as needed), then every answer or timeout awaited."""
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[Outcome]] = []
    lags: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        start = loop.time()
        for offset in send_offsets(rate, seconds):
            delay = start + offset - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(lateness(start, offset, loop.time()))
            tasks.append(asyncio.create_task(load.one(session)))
        outcomes = list(await asyncio.gather(*tasks))
    return Phase(name, start, start + seconds, outcomes, offered_rps=rate, lag_s=lags)


async def idle(seconds: float) -> Phase:
    start = time.monotonic()
    await asyncio.sleep(seconds)
    return Phase("idle", start, time.monotonic(), [])


def register(bench: Bench, count: int, attempts: int = 5) -> None:
    """``count`` more users through the facade's services; a Keycloak too busy to answer within
    the facade's timeout (the machine is shared) is given a few more tries."""
    target = len(bench.users) + count
    print(f"registering {count} users ...", file=sys.stderr)
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        bench.args.users = target - len(bench.users)
        try:
            bench.register_users()
            break
        except Unavailable as exc:
            print(f"  {exc} (attempt {attempt} of {attempts})", file=sys.stderr)
            if attempt == attempts:
                raise
            time.sleep(1)
    print(f"  {count} in {time.monotonic() - started:.0f} s", file=sys.stderr)


def delete_users(bench: Bench, attempts: int = 3) -> list[str]:
    """Delete every user the run registered (their sessions go with them); the ids of any that
    Keycloak would not delete, to be reported."""
    admin = bench.services.identity._admin()  # type: ignore[attr-defined]
    left = []
    print(f"deleting {len(bench.users)} users ...", file=sys.stderr)
    for user_id, _ in bench.users:
        for attempt in range(1, attempts + 1):
            try:
                admin.delete_user(user_id)
                break
            except Exception as exc:  # a timeout or a 5xx of a busy Keycloak
                if getattr(exc, "response_code", None) == 404:  # an earlier try did it
                    break
                if attempt == attempts:
                    left.append(user_id)
                time.sleep(0.5)
    return left


# --- the run ----------------------------------------------------------------------------------


def verdict(
    phases: dict[str, dict[str, Any]], timeout: float, healthz_p99_ms: float
) -> dict[str, bool]:
    """Issue 14's "done when", as this benchmark reads it (the thresholds are its choice)."""
    sustainable = phases["sustainable"]["served_rps"]
    over = phases["overload"]
    answers = over["answers"]
    refusal_p99 = over["refusal_latency"]["p99_ms"]
    return {
        "no_timeouts_or_undocumented": answers["timeout"] + answers["other"] + answers["error"]
        == 0,
        "refusals_quick": refusal_p99 is None or refusal_p99 < timeout * 1000 / 2,
        "healthz_low": (over["healthz"]["p99_ms"] or 0) < healthz_p99_ms,
        "no_collapse": over["served_rps"] >= 0.8 * sustainable,
        "recovered": phases["recovery"]["served_rps"] >= 0.8 * sustainable,
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        "| phase | offered/s | served/s | ok | 429 | 503+RA | other | timeout | ok p50/p99 ms "
        "| refusal p50/p99 ms | /healthz p50/p99/max ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for phase in result["phases"]:
        a, ok, no, hz = (
            phase["answers"],
            phase["success_latency"],
            phase["refusal_latency"],
            phase["healthz"],
        )
        offered = phase["offered_rps"] if phase["offered_rps"] is not None else "closed"
        rows.append(
            f"| {phase['phase']} | {offered if phase['sent'] else '-'} | {phase['served_rps']} "
            f"| {a['ok']} | {a['too_many']} | {a['unavailable']} | {a['other'] + a['error']} "
            f"| {a['timeout']} | {ok['p50_ms']}/{ok['p99_ms']} | {no['p50_ms']}/{no['p99_ms']} "
            f"| {hz['p50_ms']}/{hz['p99_ms']}/{hz['max_ms']} |"
        )
    return "\n".join(rows)


async def run(bench: Bench, args: argparse.Namespace, prober: Prober) -> dict[str, Any]:
    operation = OPERATIONS[args.operation]
    load = Load(bench, operation, args.timeout)
    phases = [await idle(args.seconds)]
    sustainable = await closed_loop(load, "sustainable", args.connections, args.seconds)
    phases.append(sustainable)
    rate = args.factor * sustainable.served_rps()
    print(f"  sustainable {rate / args.factor:.1f}/s; offering {rate:.1f}/s", file=sys.stderr)
    # Every code sign-in that may be in flight needs a phone of its own (see Phones).
    needed = math.ceil(rate * args.timeout) + args.connections - len(bench.users)
    if operation.spends_code and needed > 0:
        before = len(bench.users)
        with contextlib.suppress(Unavailable):  # go on with fewer: starved sends are counted
            register(bench, needed)
        load.phones.add([phone for _, phone in bench.users[before:]])
        await asyncio.sleep(2)  # let Keycloak settle after the registrations
    phases.append(await open_loop(load, "overload", rate, args.seconds))
    phases.append(await closed_loop(load, "recovery", args.connections, args.seconds))
    probes = prober.finish()
    summaries = {phase.name: phase.summary(probes) for phase in phases}
    return {
        "phases": list(summaries.values()),
        "verdict": verdict(summaries, args.timeout, args.healthz_p99_ms),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operation", choices=sorted(OPERATIONS), default="code_login")
    add_stack_arguments(parser)
    parser.add_argument("--seconds", type=float, default=10, help="length of each phase")
    parser.add_argument("--factor", type=float, default=4, help="overload = factor x R")
    parser.add_argument(
        "--connections",
        type=int,
        default=32,
        help="closed-loop clients: more than the facade admits, so that R is its capacity",
    )
    parser.add_argument("--timeout", type=float, default=5, help="client timeout, seconds")
    parser.add_argument("--users", type=int, default=400, help="registered before the start")
    parser.add_argument(
        "--healthz-p99-ms", type=float, default=100, help="'low' /healthz p99 for the verdict"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "overload.json")
    args = parser.parse_args(argv)
    # Bench gives a password to its first token_users users: password_login needs them all.
    args.token_users = args.users

    prober = Prober(args.facade_url)  # first, while this process has no thread to fork
    bench = Bench(args)
    try:
        register(bench, args.users)
        load_before = os.getloadavg()
        result = asyncio.run(run(bench, args, prober))
    finally:
        left = delete_users(bench)
    if left:
        print(f"could not delete {len(left)} users: {left}", file=sys.stderr)
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "users")},
        "users": len(bench.users),
        "users_not_deleted": left,
        **result,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", "utf-8")
    print("\n" + table(report))
    print("\n" + json.dumps(report["verdict"]))
    print(f"\nwrote {args.out} (load average {report['load_before']} -> {report['load_after']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
