"""Verification codes on the real Redis: every rule of issue 3, concurrency included."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from facade.adapters.sms_aliyun import AliyunSms
from facade.core.codes import CheckResult
from facade.core.errors import (
    CodeRejected,
    DeliveryFailed,
    InvalidInput,
    RateLimited,
    Unavailable,
)
from facade.core.limits import CodePolicy, RateRule
from facade.stack.processes import free_port
from tests.codes_support import (
    code_service,
    random_email,
    random_phone,
    unreachable_aliyun,
    wrong,
)
from tests.standins.fixtures import aliyun_config

NO_INTERVAL = CodePolicy(resend_interval=0, daily_cap=1000)


@pytest.fixture
def codes(redis_client: redis.Redis, redis_prefix: str):
    service, _ = code_service(redis_client, redis_prefix, policy=NO_INTERVAL)
    return service


def test_a_sent_code_is_six_digits_and_works_once(codes):
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", phone, "10.0.0.1")
    assert sent.code is not None and len(sent.code) == 6 and sent.code.isdigit()
    assert sent.expires_in == 300
    assert codes.check("vcode", "login", phone, sent.code) is CheckResult.OK
    assert codes.check("vcode", "login", phone, sent.code) is CheckResult.EXPIRED


def test_codes_come_from_the_whole_six_digit_range(codes):
    seen = {codes.send("vcode", "login", "sms", random_phone(), "10.0.0.1").code for _ in range(40)}
    assert len(seen) > 30
    assert all(code is not None and len(code) == 6 for code in seen)


def test_the_target_is_stored_in_canonical_form(codes):
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", "")
    assert sent.target == phone
    assert codes.check("vcode", "login", f"86{phone}", sent.code) is CheckResult.OK
    email = random_email()
    sent = codes.send("captcha", "login", "email", email.upper(), "")
    assert sent.target == email
    assert codes.check("captcha", "login", email.title(), sent.code) is CheckResult.OK


def test_redis_holds_only_an_hmac_of_the_code(redis_client, redis_prefix, aliyun, aliyun_server):
    sms = AliyunSms(aliyun_config(aliyun_server[1]), timeout=5)
    codes, _ = code_service(redis_client, redis_prefix, sms=[sms], development=False)
    phone = random_phone()
    codes.send("vcode", "register", "sms", phone, "10.0.0.1")
    code = aliyun.sent[-1].params["code"]
    stored = b""
    for key in redis_client.scan_iter(f"{redis_prefix}*"):
        kind = redis_client.type(key)
        if kind == b"hash":
            stored += b"".join(k + v for k, v in redis_client.hgetall(key).items())
        elif kind == b"string":
            stored += redis_client.get(key) or b""
        elif kind == b"zset":
            stored += b"".join(redis_client.zrange(key, 0, -1))
    assert stored and code.encode() not in stored
    record = redis_client.hgetall(f"{redis_prefix}code:vcode:register:{phone}")
    assert len(record[b"h"]) == 64
    assert codes.check("vcode", "register", phone, code) is CheckResult.OK


def test_a_code_lives_for_the_policy_ttl(codes, redis_client, redis_prefix):
    phone = random_phone()
    codes.send("vcode", "login", "sms", phone, "")
    ttl = redis_client.pttl(f"{redis_prefix}code:vcode:login:{phone}")
    assert 0 < ttl <= 300_000


def test_an_expired_code_is_expired(redis_client, redis_prefix):
    codes, _ = code_service(redis_client, redis_prefix, policy=CodePolicy(ttl=1, resend_interval=0))
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", phone, "")
    time.sleep(1.2)
    assert codes.check("vcode", "login", phone, sent.code) is CheckResult.EXPIRED


def test_a_code_never_sent_is_expired(codes):
    assert codes.check("vcode", "login", random_phone(), "123456") is CheckResult.EXPIRED


def test_third_wrong_code_burns_it(codes):
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", phone, "")
    assert codes.check("vcode", "login", phone, wrong(sent.code)) is CheckResult.WRONG
    assert codes.check("vcode", "login", phone, wrong(sent.code)) is CheckResult.WRONG
    assert codes.check("vcode", "login", phone, wrong(sent.code)) is CheckResult.TOO_MANY_TRIES
    assert codes.check("vcode", "login", phone, sent.code) is CheckResult.TOO_MANY_TRIES


def test_a_new_code_after_burning_works(codes):
    phone = random_phone()
    first = codes.send("vcode", "login", "sms", phone, "")
    for _ in range(3):
        codes.check("vcode", "login", phone, wrong(first.code))
    second = codes.send("vcode", "login", "sms", phone, "")
    assert codes.check("vcode", "login", phone, second.code) is CheckResult.OK


def test_a_new_code_replaces_the_previous_one(redis_client, redis_prefix):
    issued = iter(["111111", "222222"])
    codes, _ = code_service(
        redis_client, redis_prefix, policy=NO_INTERVAL, new_code=lambda: next(issued)
    )
    phone = random_phone()
    codes.send("vcode", "login", "sms", phone, "")
    codes.send("vcode", "login", "sms", phone, "")
    assert codes.check("vcode", "login", phone, "111111") is CheckResult.WRONG
    assert codes.check("vcode", "login", phone, "222222") is CheckResult.OK


def test_codes_are_scoped_to_contract_purpose_and_target(codes):
    phone, other = random_phone(), random_phone()
    sent = codes.send("vcode", "register", "sms", phone, "")
    assert codes.check("vcode", "login", phone, sent.code) is CheckResult.EXPIRED
    assert codes.check("customer", "register", phone, sent.code) is CheckResult.EXPIRED
    assert codes.check("vcode", "register", other, sent.code) is CheckResult.EXPIRED
    assert codes.check("vcode", "register", phone, sent.code) is CheckResult.OK


def test_a_check_over_several_purposes_applies_to_the_first_live_code(codes):
    phone = random_phone()
    bind = codes.send("member", "bind", "sms", phone, "")
    assert codes.check("member", ("login", "bind"), phone, wrong(bind.code)) is CheckResult.WRONG
    login = codes.send("member", "login", "sms", phone, "")
    # login is live and preferred: its try is counted, the bind code keeps its own two tries
    assert codes.check("member", ("login", "bind"), phone, bind.code) is CheckResult.WRONG
    assert codes.check("member", ("login", "bind"), phone, login.code) is CheckResult.OK
    assert codes.check("member", ("login", "bind"), phone, bind.code) is CheckResult.OK


def test_a_burned_code_does_not_hide_a_live_one_of_another_purpose(codes):
    phone = random_phone()
    login = codes.send("member", "login", "sms", phone, "")
    for _ in range(3):
        codes.check("member", "login", phone, wrong(login.code))
    bind = codes.send("member", "bind", "sms", phone, "")
    assert codes.check("member", ("login", "bind"), phone, bind.code) is CheckResult.OK
    assert codes.check("member", ("login", "bind"), phone, bind.code) is CheckResult.TOO_MANY_TRIES


def test_verify_raises_code_rejected_naming_the_reason(codes):
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", phone, "")
    with pytest.raises(CodeRejected) as rejected:
        codes.verify("vcode", "login", phone, wrong(sent.code))
    assert rejected.value.reason == "wrong"
    codes.verify("vcode", "login", phone, sent.code)
    with pytest.raises(CodeRejected) as rejected:
        codes.verify("vcode", "login", phone, sent.code)
    assert rejected.value.reason == "expired"


def test_fifty_concurrent_wrong_checks_count_as_fifty_tries(redis_client, redis_prefix):
    codes, _ = code_service(redis_client, redis_prefix, policy=CodePolicy(max_tries=51))
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", phone, "")
    results = _concurrently(50, lambda: codes.check("vcode", "login", phone, wrong(sent.code)))
    assert results == Counter({CheckResult.WRONG: 50})
    # one more wrong try is the 51st, the last allowed: had any of the 50 been lost, it would not be
    assert codes.check("vcode", "login", phone, wrong(sent.code)) is CheckResult.TOO_MANY_TRIES
    assert codes.check("vcode", "login", phone, sent.code) is CheckResult.TOO_MANY_TRIES


def test_fifty_concurrent_wrong_checks_burn_the_code_after_three(codes):
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", phone, "")
    results = _concurrently(50, lambda: codes.check("vcode", "login", phone, wrong(sent.code)))
    assert results == Counter({CheckResult.WRONG: 2, CheckResult.TOO_MANY_TRIES: 48})


def test_twenty_concurrent_right_checks_let_exactly_one_succeed(codes):
    phone = random_phone()
    sent = codes.send("vcode", "login", "sms", phone, "")
    results = _concurrently(20, lambda: codes.check("vcode", "login", phone, sent.code))
    assert results == Counter({CheckResult.OK: 1, CheckResult.EXPIRED: 19})


def test_resend_within_the_interval_is_rate_limited_with_the_wait(redis_client, redis_prefix):
    codes, _ = code_service(redis_client, redis_prefix)
    phone = random_phone()
    codes.send("vcode", "login", "sms", phone, "")
    with pytest.raises(RateLimited) as limited:
        codes.send("vcode", "login", "sms", phone, "")
    assert limited.value.rule == "resend_interval"
    assert 1 <= limited.value.retry_after <= 60
    codes.send("vcode", "login", "sms", random_phone(), "")  # another target is not affected


def test_the_resend_interval_is_shared_by_all_purposes(redis_client, redis_prefix):
    codes, _ = code_service(redis_client, redis_prefix)
    phone = random_phone()
    codes.send("vcode", "login", "sms", phone, "")
    with pytest.raises(RateLimited):
        codes.send("vcode", "register", "sms", phone, "")
    codes.send("customer", "register", "sms", phone, "")  # each contract counts its own


def test_a_target_may_send_again_once_the_interval_has_passed(redis_client, redis_prefix):
    codes, _ = code_service(redis_client, redis_prefix, policy=CodePolicy(resend_interval=1))
    phone = random_phone()
    codes.send("vcode", "login", "sms", phone, "")
    time.sleep(1.1)
    assert codes.send("vcode", "login", "sms", phone, "").code


def test_concurrent_sends_to_one_target_issue_one_code(redis_client, redis_prefix):
    codes, _ = code_service(redis_client, redis_prefix)
    phone = random_phone()

    def send() -> str:
        try:
            codes.send("vcode", "login", "sms", phone, "")
            return "sent"
        except RateLimited:
            return "limited"

    assert _concurrently(10, send) == Counter({"sent": 1, "limited": 9})


def test_the_daily_cap_limits_codes_per_target(redis_client, redis_prefix):
    codes, _ = code_service(
        redis_client, redis_prefix, policy=CodePolicy(resend_interval=0, daily_cap=3)
    )
    phone = random_phone()
    for purpose in ("login", "register", "login"):
        codes.send("vcode", purpose, "sms", phone, "")
    with pytest.raises(RateLimited) as limited:
        codes.send("vcode", "reset_password", "sms", phone, "")
    assert limited.value.rule == "daily_cap"
    assert 1 <= limited.value.retry_after <= 86400


def test_policies_differ_per_contract(redis_client, redis_prefix):
    codes, _ = code_service(
        redis_client,
        redis_prefix,
        policy=NO_INTERVAL,
        policies={"account": CodePolicy(ttl=120, max_tries=1, resend_interval=0)},
    )
    phone = random_phone()
    sent = codes.send("account", "login", "sms", phone, "")
    assert sent.expires_in == 120
    assert codes.check("account", "login", phone, wrong(sent.code)) is CheckResult.TOO_MANY_TRIES


def test_the_send_code_rule_group_limits_by_ip_and_target(redis_client, redis_prefix):
    rules = {"member.send_code": (RateRule("ip", 1, 60), RateRule("target", 10, 86400))}
    codes, _ = code_service(redis_client, redis_prefix, policy=NO_INTERVAL, rules=rules)
    codes.send("member", "login", "sms", random_phone(), "10.1.1.1")
    with pytest.raises(RateLimited) as limited:
        codes.send("member", "login", "sms", random_phone(), "10.1.1.1")
    assert limited.value.rule == "member.send_code:ip:1/60s"
    codes.send("member", "login", "sms", random_phone(), "10.1.1.2")
    codes.send("vcode", "login", "sms", random_phone(), "10.1.1.1")  # other contracts: no rule


def test_a_failed_delivery_leaves_no_code_and_gives_the_slot_back(redis_client, redis_prefix):
    broken, _ = code_service(redis_client, redis_prefix, sms=[unreachable_aliyun()])
    working, _ = code_service(redis_client, redis_prefix)
    phone = random_phone()
    with pytest.raises(DeliveryFailed) as failed:
        broken.send("vcode", "login", "sms", phone, "")
    assert (failed.value.channel, failed.value.reason) == ("sms", "provider_down")
    assert not list(redis_client.scan_iter(f"{redis_prefix}code:*"))
    sent = working.send("vcode", "login", "sms", phone, "")  # no resend interval to wait for
    assert working.check("vcode", "login", phone, sent.code) is CheckResult.OK


def test_a_failed_resend_keeps_the_previous_code_usable(
    redis_client, redis_prefix, aliyun, aliyun_server
):
    working, _ = code_service(redis_client, redis_prefix, policy=NO_INTERVAL)
    sms = AliyunSms(aliyun_config(aliyun_server[1]), timeout=5)
    broken, _ = code_service(redis_client, redis_prefix, sms=[sms], policy=NO_INTERVAL)
    phone = random_phone()
    sent = working.send("vcode", "login", "sms", phone, "")
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    with pytest.raises(DeliveryFailed) as failed:
        broken.send("vcode", "login", "sms", phone, "")
    assert failed.value.reason == "throttled"
    assert working.check("vcode", "login", phone, sent.code) is CheckResult.OK


def test_a_failed_delivery_does_not_use_up_the_daily_cap(redis_client, redis_prefix):
    policy = CodePolicy(resend_interval=0, daily_cap=1)
    broken, _ = code_service(redis_client, redis_prefix, sms=[unreachable_aliyun()], policy=policy)
    working, _ = code_service(redis_client, redis_prefix, policy=policy)
    phone = random_phone()
    for _ in range(3):
        with pytest.raises(DeliveryFailed):
            broken.send("vcode", "login", "sms", phone, "")
    working.send("vcode", "login", "sms", phone, "")
    with pytest.raises(RateLimited):
        working.send("vcode", "login", "sms", phone, "")


@pytest.mark.parametrize(
    ("purpose", "channel", "target", "field"),
    [
        ("signup", "sms", "13800138000", "purpose"),
        ("login", "fax", "13800138000", "channel"),
        ("login", "sms", "12345", "phone"),
        ("login", "sms", "alice@example.com", "phone"),
        ("login", "email", "13800138000", "email"),
    ],
)
def test_bad_purpose_channel_or_target_is_invalid_input(codes, purpose, channel, target, field):
    with pytest.raises(InvalidInput) as invalid:
        codes.send("vcode", purpose, channel, target, "")
    assert invalid.value.field == field


def test_a_bad_target_or_purpose_in_a_check_is_invalid_input(codes):
    with pytest.raises(InvalidInput):
        codes.check("vcode", "login", "not-a-phone", "123456")
    with pytest.raises(InvalidInput):
        codes.check("vcode", ("login", "nope"), "13800138000", "123456")


def test_the_code_is_returned_only_in_development_mode(redis_client, redis_prefix):
    production, _ = code_service(redis_client, redis_prefix, policy=NO_INTERVAL, development=False)
    sent = production.send("vcode", "login", "sms", random_phone(), "")
    assert sent.code is None and sent.expires_in == 300


def test_the_development_sender_keeps_every_message_in_the_outbox(redis_client, redis_prefix):
    codes, outbox = code_service(redis_client, redis_prefix, policy=NO_INTERVAL)
    phone = random_phone()
    first = codes.send("vcode", "register", "sms", phone, "")
    second = codes.send("vcode", "login", "sms", phone, "")
    entries = outbox.recent(phone)
    assert [(e.purpose, e.code) for e in entries] == [
        ("login", second.code),
        ("register", first.code),
    ]
    assert entries[0].channel == "sms" and second.code in entries[0].text


def test_redis_out_of_reach_is_unavailable(redis_prefix):
    client = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=1)
    codes, _ = code_service(client, redis_prefix)
    with pytest.raises(Unavailable) as down:
        codes.send("vcode", "login", "sms", random_phone(), "")
    assert down.value.part == "redis"
    with pytest.raises(Unavailable):
        codes.check("vcode", "login", random_phone(), "123456")


def _concurrently(count: int, call) -> Counter:
    """Run ``call`` ``count`` times at once (a barrier releases them together)."""
    barrier = threading.Barrier(count)

    def run():
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(lambda _: run(), range(count)))
