"""Redis beyond one node: Sentinel and Cluster URLs, hash-tagged scripts, a failover mid-load.

The harness starts a Sentinel set (master, replica, three sentinels) and a three-master Cluster
from Debian's ``redis-server``, once per module and only for these tests.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from facade.adapters import redis_store
from facade.bootstrap import build_services
from facade.core.errors import CodeRejected, InvalidToken, RateLimited
from tests import harness
from tests.conftest import random_phone
from tests.ops.support import live_facade, random_ip


@pytest.fixture(scope="module")
def sentinel_set(tmp_path_factory):
    running = harness.start_sentinel_set(tmp_path_factory.mktemp("sentinel"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = harness.start_cluster(tmp_path_factory.mktemp("cluster"))
    yield running
    running.stop()


@pytest.fixture(params=["sentinel", "cluster"])
def ha_settings(request, settings, tmp_path):
    """The session's settings on a Sentinel set or a Cluster, with a store of their own (the
    session's store remembers another Redis's generation)."""
    topology = request.getfixturevalue("sentinel_set" if request.param == "sentinel" else "cluster")
    return settings.with_changes(
        redis_url=topology.url,
        redis_timeout=1.0,
        database_url=f"sqlite:///{tmp_path / 'identities.db'}",
    )


def _sent_code(services, phone: str, purpose: str = "login") -> str:
    sent = services.codes.send("member", purpose, "sms", phone, random_ip())
    assert sent.code is not None
    return sent.code


def test_codes_rate_limits_revocations_and_sign_in_work(ha_settings) -> None:
    services = build_services(ha_settings)
    phone = random_phone()
    code = _sent_code(services, phone)

    # Member's send_code rules mix an IP rule and a target rule (two slots on a Cluster).
    with pytest.raises(RateLimited):
        services.codes.send("member", "login", "sms", phone, random_ip())  # resend interval
    ip = random_ip()
    _sent_code_from = services.codes.send("member", "login", "sms", random_phone(), ip)
    assert _sent_code_from.code is not None
    with pytest.raises(RateLimited) as refused:
        services.codes.send("member", "login", "sms", random_phone(), ip)
    assert refused.value.retry_after > 0

    with pytest.raises(CodeRejected):
        services.verified_sign_ins.by_code(
            "member", "sms", phone, "000000" if code != "000000" else "111111"
        )
    signed = services.verified_sign_ins.by_code("member", "sms", phone, code)
    assert signed.is_new_user
    principal = services.sessions.authenticate("member", signed.tokens.access_token)
    assert principal.user.id == signed.user.id
    with pytest.raises(CodeRejected):  # spent
        services.verified_sign_ins.by_code("member", "sms", phone, code)
    # A process that has already checked the token (and mirrors its state, on a Sentinel set).
    checked = build_services(ha_settings)
    checked.sessions.authenticate("member", signed.tokens.access_token)

    services.sessions.logout("member", principal.claims)
    with pytest.raises(InvalidToken):
        services.sessions.authenticate("member", signed.tokens.access_token)
    with pytest.raises(InvalidToken):
        checked.sessions.authenticate("member", signed.tokens.access_token)
    with pytest.raises(InvalidToken):  # another process, no memory of its own
        build_services(ha_settings).sessions.authenticate("member", signed.tokens.access_token)


def test_a_refused_hit_counts_in_no_slot_on_a_cluster(cluster, settings, tmp_path) -> None:
    """A target rule refusing after the IP rule counted: the IP's count is taken back."""
    local = settings.with_changes(redis_url=cluster.url, database_url=f"sqlite:///{tmp_path}/i.db")
    services = build_services(local)
    phone, ip = random_phone(), random_ip()
    services.limiter.hit("member.send_code", ip=ip, target=phone)
    keys = [k for k in _all_keys(cluster, local.redis_prefix) if b":rate:" in k]
    assert len(keys) == 2
    with pytest.raises(RateLimited):  # ip:1/minute refuses; target:10/day would have counted
        services.limiter.hit("member.send_code", ip=ip, target=phone)
    client = redis_store.connect(cluster.url)
    assert sorted(client.zcard(k) for k in keys) == [1, 1]


def test_cluster_keys_spread_over_the_masters(cluster, settings, tmp_path) -> None:
    local = settings.with_changes(redis_url=cluster.url, database_url=f"sqlite:///{tmp_path}/i.db")
    services = build_services(local)
    for _ in range(12):
        _sent_code(services, random_phone())
    per_node = Counter()
    for node in cluster.nodes:
        client = redis.Redis(port=node.port)
        per_node[node.port] = sum(1 for _ in client.scan_iter(match=f"{local.redis_prefix}*"))
    assert all(count > 0 for count in per_node.values()), per_node


def _all_keys(cluster, prefix: str) -> list[bytes]:
    found = []
    for node in cluster.nodes:
        found += list(redis.Redis(port=node.port).scan_iter(match=f"{prefix}*"))
    return found


def _flow(url: str, tokens: list[str]) -> list[str]:
    """One user's sign-in over HTTP: outcomes of each step ("ok", "503" or what went wrong)."""
    phone = random_phone()
    headers = {"X-Forwarded-For": random_ip()}
    outcomes = []
    sent = requests.post(
        f"{url}/api/v1/auth/sms/send",
        json={"phone": phone, "code_type": "login"},
        headers=headers,
        timeout=15,
    )
    if sent.status_code != 200:
        return [str(sent.status_code) if sent.status_code == 503 else f"send {sent.text}"]
    outcomes.append("ok")
    for _ in range(40):  # a 503 is documented: the client tries again, as a person would
        box = requests.get(f"{url}/_dev/outbox", params={"to": phone}, timeout=15)
        if box.status_code == 200:
            break
        outcomes.append(str(box.status_code))
        time.sleep(0.25)
    code = box.json()["messages"][0]["code"]
    for _ in range(40):
        login = requests.post(
            f"{url}/api/v1/auth/login/sms",
            json={"phone": phone, "code": code},
            headers={"X-Forwarded-For": random_ip()},
            timeout=15,
        )
        if login.status_code == 503:
            outcomes.append("503")
            time.sleep(0.25)
            continue
        body = login.json()
        if login.status_code != 200 or body["code"] != 0:
            outcomes.append(f"login {login.status_code} {login.text}")
            return outcomes
        outcomes.append("ok")
        tokens.append(body["data"]["token"]["access_token"])
        return outcomes
    outcomes.append("login never recovered")
    return outcomes


def test_sentinel_failover_mid_load_loses_nothing_but_503s_during_the_switch(
    sentinel_set, keycloak, wechat_standin, tmp_path
) -> None:
    env = {
        "FACADE_DATABASE_URL": f"sqlite:///{tmp_path / 'identities.db'}",
        "FACADE_REDIS_TIMEOUT": "1",
    }
    with live_facade(keycloak.url, sentinel_set.url, wechat_standin.url, **env) as facade:
        before: list[str] = []
        assert _flow(facade.url, before) == ["ok", "ok"]
        logged_out = before[0]
        bye = requests.post(
            f"{facade.url}/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {logged_out}"},
            timeout=10,
        )
        assert bye.status_code == 200, bye.text
        kept: list[str] = []
        assert _flow(facade.url, kept) == ["ok", "ok"]

        tokens: list[str] = []
        outcomes: Counter[str] = Counter()
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                outcomes.update(_flow(facade.url, tokens))

        old = sentinel_set.master()
        with ThreadPoolExecutor(4) as pool:
            for _ in range(4):
                pool.submit(load)
            time.sleep(2)
            old.kill()
            switched = sentinel_set.wait_master_changed(old.port)
            time.sleep(3)
            stop.set()
        old.start()  # it comes back as a replica of the new master
        sentinel_set.wait_replicas(1)

        print(f"sentinel failover in {switched:.1f} s; outcomes {dict(outcomes)}")
        unexpected = {k: v for k, v in outcomes.items() if k not in ("ok", "503")}
        assert not unexpected, (unexpected, outcomes)
        assert outcomes["ok"] > 10, outcomes
        assert switched < 15

        def me(token: str) -> int:
            return requests.get(
                f"{facade.url}/api/v1/auth/me",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()["code"]

        assert me(kept[0]) == 0  # a session from before the failover still works
        assert me(logged_out) != 0  # a logout from before it is still remembered
        assert all(me(token) == 0 for token in tokens[-3:])
