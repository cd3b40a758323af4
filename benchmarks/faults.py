"""The fault suite: steady mixed load through the production-mode stack while its parts fail.

    python -m benchmarks.faults [--state-dir .stack-prod/faults] [--out docs/benchmarks/faults.json]

Starts ``facade stack up --production`` on a free block of ports (state kept in ``--state-dir``,
so a rerun skips Keycloak's first build), with a TCP relay of its own between the facades and
Keycloak (``FACADE_PROD_KEYCLOAK_FRONT``). Client threads run member's code sign-up (send a code,
read it from the Aliyun stand-in, sign in, read the profile, refresh) and customer's password
path (code, register with a password, password login, refresh) through nginx, each request from
its own loopback address (127.x.y.z, so per-IP limits see many clients), while a prober reads
``/healthz`` every 100 ms. In turn it kills and restarts Redis, kills and restarts Keycloak,
kills one facade (its whole process group), hangs Keycloak at the relay, and holds slow clients
on nginx (headers without a body, a body one byte a second, headers never finished).

Every answer is checked against the contract's OpenAPI document (status, and the body code
among the documented ones); recovery is the time from a dependency being back until a password
login (Keycloak and Redis both) succeeds again. Afterwards it audits Keycloak (duplicate phones
or uids, users without uid or phone, a password registration whose user has no password) and
runs ``facade identities check`` on the store. Writes one JSON report; traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from facade.stack import production
from facade.stack.processes import port_open, read_pids, write_pids

REPO = Path(__file__).resolve().parents[1]
MEMBER = "/api/v1"
CUSTOMER = "/api/app/customer/v1"
PASSWORD = "fault-pass-123"


# --- the relay that can hang Keycloak -------------------------------------------------------


class Relay:
    """A TCP relay on loopback in front of Keycloak. ``hang()`` stops it forwarding anything
    (connections are still accepted: a hung server, not a dead one); ``release()`` closes every
    connection that lived through the hang and forwards new ones again."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self._loop = asyncio.new_event_loop()
        self._hung = False
        self._epoch = 0
        self.port = 0

    def start(self) -> Relay:
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(5)
        self.port = server.sockets[0].getsockname()[1]
        return self

    def hang(self) -> None:
        self._hung = True
        self._epoch += 1

    def release(self) -> None:
        self._epoch += 1
        self._hung = False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        epoch = self._epoch
        while self._hung:
            await asyncio.sleep(0.05)
        if epoch != self._epoch:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
        except OSError:
            writer.close()
            return
        epoch = self._epoch
        await asyncio.gather(
            self._pump(reader, up_writer, epoch), self._pump(up_reader, writer, epoch)
        )
        for w in (writer, up_writer):
            w.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, epoch: int
    ) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                while self._hung:
                    await asyncio.sleep(0.05)
                if epoch != self._epoch:
                    break
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.close()


# --- clients from many loopback addresses ----------------------------------------------------


class _SourceAdapter(HTTPAdapter):
    def __init__(self, source: str) -> None:
        self._source = source
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address: str) -> requests.Session:
    """A session whose connections leave from ``address`` (nginx's $remote_addr)."""
    session = requests.Session()
    session.mount("http://", _SourceAdapter(address))
    return session


def addresses() -> Iterator[str]:
    """Loopback addresses never used twice in a run (member allows one code per IP a minute)."""
    for b in range(1, 255):
        for c in range(0, 256):
            for d in range(2, 255, 7):
                yield f"127.{b}.{c}.{d}"


def random_phone() -> str:
    return f"13{random.randrange(10**9):09d}"


# --- the documented answers ------------------------------------------------------------------


class Documents:
    """Each contract's OpenAPI document: which statuses and body codes a route may answer."""

    def __init__(self, edge: str) -> None:
        self._docs = {
            prefix: requests.get(f"{edge}{prefix}/openapi.json", timeout=10).json()
            for prefix in (MEMBER, CUSTOMER)
        }

    def documented(self, prefix: str, method: str, path: str, status: int, body: Any) -> bool:
        operation = self._docs[prefix]["paths"].get(path, {}).get(method.lower())
        if operation is None:
            return False
        response = operation["responses"].get(str(status))
        if response is None:
            return False
        code = body.get("code") if isinstance(body, dict) else None
        if code is None or code == 0:
            return isinstance(body, dict)
        return code in _enums(response) or code == status


def _enums(node: Any) -> set[Any]:
    """Every value of every ``enum`` of a ``code`` property under ``node``."""
    found: set[Any] = set()
    if isinstance(node, dict):
        code = node.get("properties", {}).get("code") if "properties" in node else None
        if isinstance(code, dict):
            found.update(code.get("enum", ()))
        for value in node.values():
            found |= _enums(value)
    elif isinstance(node, list):
        for value in node:
            found |= _enums(value)
    return found


# --- the load --------------------------------------------------------------------------------


@dataclass
class Answer:
    at: float
    route: str
    status: int  # 0: no answer (connection error or client timeout)
    documented: bool
    seconds: float
    body_code: Any = None


@dataclass
class Registration:
    phone: str
    answered: str  # "ok", "refused" or "no answer"


@dataclass
class Load:
    edge: str
    aliyun: str
    docs: Documents
    answers: list[Answer] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _addresses: Iterator[str] = field(default_factory=addresses)

    def address(self) -> str:
        with self._lock:
            return next(self._addresses)

    def call(
        self, prefix: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        session = client_from(self.address())
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.monotonic()
        try:
            response = session.request(
                method, self.edge + prefix + path, json=body, headers=headers, timeout=15
            )
            status = response.status_code
            try:
                answer: Any = response.json()
            except ValueError:
                answer = response.text[:200]
        except requests.RequestException as exc:
            status, answer = 0, type(exc).__name__
        finally:
            session.close()
        documented = status != 0 and self.docs.documented(prefix, method, path, status, answer)
        code = answer.get("code") if isinstance(answer, dict) else answer
        with self._lock:
            self.answers.append(
                Answer(time.time(), prefix + path, status, documented, time.monotonic() - started,
                       code)
            )  # fmt: skip
        return status, answer

    def sent_code(self, phone: str) -> str | None:
        with contextlib.suppress(requests.RequestException, KeyError, IndexError, ValueError):
            sent = requests.get(f"{self.aliyun}/_standin/sent", params={"phone": phone}, timeout=5)
            return str(sent.json()["sent"][0]["code"])
        return None

    def member_flow(self) -> None:
        phone = random_phone()
        status, body = self.call(
            MEMBER, "POST", "/auth/sms/send", {"phone": phone, "code_type": "login"}
        )
        code = self.sent_code(phone) if status == 200 else None
        if code is None:
            return
        status, body = self.call(MEMBER, "POST", "/auth/login/sms", {"phone": phone, "code": code})
        if status != 200 or body.get("code") != 0:
            return
        token = body["data"]["token"]
        self.call(MEMBER, "GET", "/auth/me", token=token["access_token"])
        self.call(MEMBER, "POST", "/auth/refresh", {"refresh_token": token["refresh_token"]})

    def customer_flow(self) -> None:
        phone = random_phone()
        _, body = self.call(
            CUSTOMER, "POST", "/user/verify/sms", {"phone": phone, "type": "register"}
        )
        code = self.sent_code(phone) if isinstance(body, dict) and body.get("code") == 0 else None
        if code is None:
            return
        registration = {
            "phone": phone,
            "password": PASSWORD,
            "nickname": "故障",
            "verify_code": code,
        }
        status, body = self.call(CUSTOMER, "POST", "/user/register", registration)
        ok = isinstance(body, dict) and body.get("code") == 0
        with self._lock:
            answered = "ok" if ok else ("no answer" if status == 0 else "refused")
            self.registrations.append(Registration(phone, answered))
        if not ok:
            return
        _, body = self.call(CUSTOMER, "POST", "/user/login", {"phone": phone, "password": PASSWORD})
        if isinstance(body, dict) and body.get("code") == 0:
            self.call(
                CUSTOMER, "POST", "/user/refresh", {"refresh_token": body["data"]["refresh_token"]}
            )

    def run(self, index: int) -> None:
        flows = (self.member_flow, self.customer_flow)
        turn = index
        while not self.stop.is_set():
            flows[turn % 2]()
            turn += 1
            time.sleep(0.2)


@dataclass
class Prober:
    """``/healthz`` through nginx every 100 ms; and a password login that measures recovery."""

    edge: str
    healthz: list[tuple[float, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                ok = session.get(f"{self.edge}/healthz", timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            seconds = time.monotonic() - started if ok else 10.0
            self.healthz.append((time.time(), seconds))
            time.sleep(max(0.0, 0.1 - seconds))


def recovery(load: Load, probe_user: str, since: float, limit: float = 60) -> float | None:
    """Seconds from ``since`` until a password login (Keycloak + Redis) succeeds."""
    deadline = since + limit
    while time.monotonic() < deadline:
        _, body = load.call(CUSTOMER, "POST", "/user/login", {"phone": probe_user,
                                                               "password": PASSWORD})  # fmt: skip
        if isinstance(body, dict) and body.get("code") == 0:
            return round(time.monotonic() - since, 2)
        time.sleep(0.2)
    return None


# --- slow clients ----------------------------------------------------------------------------


def slow_clients(port: int, seconds: float, each: int = 20) -> dict[str, Counter[str]]:
    """Connections that never finish: headers without their body, a body at one byte a second,
    headers never ended. Returns how nginx ended each kind (its status line, or closed)."""
    outcomes: dict[str, Counter[str]] = {}
    body = json.dumps({"phone": "13800138000", "password": "x" * 20}).encode()
    head = (
        f"POST {CUSTOMER}/user/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    kinds: dict[str, Callable[[socket.socket], None]] = {
        "headers_without_body": lambda s: s.sendall(head),
        "slow_body": lambda s: _trickle(s, head, body, seconds),
        "unfinished_headers": lambda s: _trickle(s, b"", head[:-2], seconds),
    }
    threads = []
    lock = threading.Lock()

    def one(kind: str, send: Callable[[socket.socket], None]) -> None:
        outcome = "open"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 5) as sock:
            sock.settimeout(seconds + 15)
            try:
                send(sock)
                reply = sock.recv(200)
                outcome = reply.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
            except OSError as exc:
                outcome = type(exc).__name__
        with lock:
            outcomes.setdefault(kind, Counter())[outcome] += 1

    for kind, send in kinds.items():
        for _ in range(each):
            thread = threading.Thread(target=one, args=(kind, send), daemon=True)
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join(seconds + 20)
    return outcomes


def _trickle(sock: socket.socket, first: bytes, rest: bytes, seconds: float) -> None:
    if first:
        sock.sendall(first)
    deadline = time.monotonic() + seconds
    for byte in rest:
        if time.monotonic() > deadline:
            return
        sock.sendall(bytes([byte]))
        time.sleep(1.0)


# --- the stack -------------------------------------------------------------------------------


def remember(state: Path, name: str, process: subprocess.Popen[bytes] | None) -> None:
    """A restarted part belongs to the stack: ``stack down`` stops it by the recorded pid."""
    assert process is not None
    pids = read_pids(state / "pids.json")
    pids[name] = process.pid
    write_pids(state / "pids.json", pids)


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)


def free_block() -> production.Ports:
    for _ in range(50):
        ports = production.Ports(random.randrange(20000, 30000, 20))
        if not any(port_open(port) for port in (*ports.all(), ports.base + 15)):
            return ports
    raise RuntimeError("no free block of ports")


def stack(action: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "facade.cli", "stack", action, "--production"],
        env=env,
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"stack {action} failed:\n{result.stdout}\n{result.stderr}")


# --- the audit -------------------------------------------------------------------------------


def audit(
    ports: production.Ports, state: Path, registrations: list[Registration]
) -> dict[str, Any]:
    values = production.stack_secrets(state)
    keycloak = f"http://127.0.0.1:{ports.keycloak}"
    token = requests.post(
        f"{keycloak}/realms/master/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli", "username": "admin",
              "password": values["admin_password"]},
        timeout=30,
    ).json()["access_token"]  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    admin = f"{keycloak}/admin/realms/facade"
    users: list[dict[str, Any]] = []
    while True:
        page = requests.get(
            f"{admin}/users",
            params={"first": len(users), "max": 500, "briefRepresentation": "false"},
            headers=headers,
            timeout=60,
        ).json()
        users.extend(page)
        if len(page) < 500:
            break

    def attr(user: dict[str, Any], name: str) -> str | None:
        values_ = (user.get("attributes") or {}).get(name) or []
        return values_[0] if values_ else None

    phones = Counter(p for u in users if (p := attr(u, "phone_number")))
    uids = Counter(x for u in users if (x := attr(u, "uid")))
    by_phone = {attr(u, "phone_number"): u for u in users}
    without_password = []
    made: Counter[str] = Counter()
    for registration in registrations:
        user = by_phone.get(registration.phone)
        made[f"{registration.answered}: {'user' if user else 'no user'}"] += 1
        if user is None:
            continue
        credentials = requests.get(
            f"{admin}/users/{user['id']}/credentials", headers=headers, timeout=30
        ).json()
        if not any(c.get("type") == "password" for c in credentials):
            without_password.append(registration.phone)
    check = subprocess.run(
        [sys.executable, "-m", "facade.cli", "identities", "check"],
        env=production.facade_process_environment(state, ports, values),
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=300,
    )
    return {
        "keycloak_users": len(users),
        "duplicate_phones": sorted(p for p, n in phones.items() if n > 1),
        "duplicate_uids": sorted(u for u, n in uids.items() if n > 1),
        "users_without_uid": sum(1 for u in users if not attr(u, "uid")),
        "users_without_phone": sum(1 for u in users if not attr(u, "phone_number")),
        "password_registrations": dict(made),
        "registered_users_without_password": without_password,
        "identities_check_exit": check.returncode,
        "identities_check": check.stdout.strip().splitlines()[-20:],
    }


# --- the run ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarise(load: Load, prober: Prober, phases: list[dict[str, Any]]) -> dict[str, Any]:
    for phase in phases:
        inside = [a for a in load.answers if phase["from"] <= a.at < phase["to"]]
        health = [s for at, s in prober.healthz if phase["from"] <= at < phase["to"]]
        phase["requests"] = len(inside)
        phase["by_status"] = dict(Counter(str(a.status) for a in inside))
        phase["undocumented"] = sum(1 for a in inside if not a.documented)
        phase["healthz_p99_ms"] = round(percentile(health, 0.99) * 1000, 1)
        phase["healthz_max_ms"] = round(max(health, default=0) * 1000, 1)
    health = [s for _, s in prober.healthz]
    undocumented = [a for a in load.answers if not a.documented]
    return {
        "requests": len(load.answers),
        "by_status": dict(Counter(str(a.status) for a in load.answers)),
        "by_route_status": dict(Counter(f"{a.route} {a.status}" for a in load.answers)),
        "succeeded": sum(1 for a in load.answers if a.status == 200 and a.body_code == 0),
        "undocumented": len(undocumented),
        "undocumented_examples": [
            {"route": a.route, "status": a.status, "body": a.body_code} for a in undocumented[:20]
        ],
        "latency_p50_ms": round(statistics.median([a.seconds for a in load.answers]) * 1000, 1)
        if load.answers
        else 0,
        "healthz": {
            "probes": len(health),
            "p50_ms": round(percentile(health, 0.5) * 1000, 1),
            "p99_ms": round(percentile(health, 0.99) * 1000, 1),
            "max_ms": round(max(health, default=0) * 1000, 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=REPO / ".stack-prod" / "faults")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks" / "faults.json")
    parser.add_argument("--clients", type=int, default=4, help="client threads of steady load")
    parser.add_argument("--outage", type=float, default=12, help="seconds each fault lasts")
    parser.add_argument("--steady", type=float, default=15, help="seconds between faults")
    args = parser.parse_args()

    ports = free_block()
    state = args.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)
    relay = Relay(ports.keycloak).start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACADE_")},
        "FACADE_PROD_PORT_BASE": str(ports.base),
        "FACADE_PROD_STACK_DIR": str(state),
        "FACADE_PROD_KEYCLOAK_FRONT": str(relay.port),
    }
    load_before = os.getloadavg()
    started = time.monotonic()
    print(f"production stack on ports {ports.base}+ in {state} ...", flush=True)
    stack("up", env)
    stack_seconds = round(time.monotonic() - started, 1)
    try:
        report = run_faults(ports, state, relay, env, args)
    finally:
        stack("down", env)
    report["stack_start_seconds"] = stack_seconds
    report["load_average_before"] = [round(x, 2) for x in load_before]
    report["command"] = "python -m benchmarks.faults " + " ".join(sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report["verdict"], indent=2))
    print(f"report: {args.out}")
    return 0 if all(report["verdict"]["met"].values()) else 1


def run_faults(
    ports: production.Ports,
    state: Path,
    relay: Relay,
    env: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    os.environ.update(env)  # start_keycloak/start_facade read the same variables as `up`
    values = production.stack_secrets(state)
    edge = f"http://127.0.0.1:{ports.nginx}"
    load = Load(edge, f"http://127.0.0.1:{ports.aliyun}", Documents(edge))
    # The recovery probe's user: a password registration made before any fault.
    probe_user = ""
    while not probe_user:
        before = len(load.registrations)
        load.customer_flow()
        if len(load.registrations) > before and load.registrations[-1].answered == "ok":
            probe_user = load.registrations[-1].phone
    prober = Prober(edge)
    workers = [threading.Thread(target=prober.run, daemon=True)]
    workers += [
        threading.Thread(target=load.run, args=(i,), daemon=True) for i in range(args.clients)
    ]
    for worker in workers:
        worker.start()
    phases: list[dict[str, Any]] = []
    recoveries: dict[str, float | None] = {}

    def phase(name: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"phase": name, "from": time.time(), "to": time.time()}
        phases.append(entry)
        print(f"[{time.strftime('%H:%M:%S')}] {name}", flush=True)
        return entry

    def close(entry: dict[str, Any]) -> None:
        entry["to"] = time.time()

    steady = phase("steady")
    time.sleep(args.steady)
    close(steady)

    pids = read_pids(state / "pids.json")
    entry = phase("redis killed")
    kill_group(pids["redis"])
    time.sleep(args.outage)
    redis_server = production.start_redis(state, ports)
    remember(state, "redis", redis_server.process)
    redis_server.wait_ready()
    back = time.monotonic()
    recoveries["redis"] = recovery(load, probe_user, back)
    close(entry)
    entry = phase("after redis")
    time.sleep(args.steady)
    close(entry)

    entry = phase("keycloak killed")
    kill_group(pids["keycloak"])
    time.sleep(args.outage)
    keycloak = production.start_keycloak(state, ports, values)
    remember(state, "keycloak", keycloak.process)
    keycloak.wait_ready(timeout=300)
    back = time.monotonic()
    recoveries["keycloak"] = recovery(load, probe_user, back)
    entry["keycloak_restart_seconds"] = round(time.time() - entry["from"] - args.outage, 1)
    close(entry)
    entry = phase("after keycloak")
    time.sleep(args.steady)
    close(entry)

    entry = phase("facade-1 killed")
    kill_group(pids["facade-1"])
    time.sleep(args.outage)
    remember(state, "facade-1", production.start_facade(state, ports, values, 1))
    production.wait_facade(ports.facades[0], state / "facade-1.log")
    back = time.monotonic()
    recoveries["facade-1"] = recovery(load, probe_user, back)
    close(entry)
    entry = phase("after facade")
    time.sleep(args.steady)
    close(entry)

    entry = phase("keycloak hung")
    relay.hang()
    time.sleep(args.outage)
    relay.release()
    back = time.monotonic()
    recoveries["keycloak hung"] = recovery(load, probe_user, back)
    close(entry)
    entry = phase("after hang")
    time.sleep(args.steady)
    close(entry)

    entry = phase("slow clients")
    entry["slow_clients"] = {
        kind: dict(outcomes)
        for kind, outcomes in slow_clients(ports.nginx, args.outage + 3).items()
    }
    close(entry)

    load.stop.set()
    prober.stop.set()
    for worker in workers:
        worker.join(30)

    summary = summarise(load, prober, phases)
    checked = audit(ports, state, load.registrations)
    met = {
        "recovery <= 5 s": all(r is not None and r <= 5 for r in recoveries.values()),
        "0 undocumented responses": summary["undocumented"] == 0,
        "0 duplicate or half-made users": not (
            checked["duplicate_phones"]
            or checked["duplicate_uids"]
            or checked["users_without_uid"]
            or checked["registered_users_without_password"]
            or checked["identities_check_exit"]
        ),
        "/healthz p99 < 100 ms": summary["healthz"]["p99_ms"] < 100,
    }
    return {
        "verdict": {"met": met, "recovery_seconds": recoveries},
        **summary,
        "phases": phases,
        "audit": checked,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


if __name__ == "__main__":
    sys.exit(main())
