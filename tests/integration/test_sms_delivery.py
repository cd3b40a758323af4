"""SMS through Aliyun and Tencent Cloud, against local stand-ins that check each request as the
providers do (signature, parameters) and answer with the providers' own error codes."""

from __future__ import annotations

import logging

import pytest

from facade.adapters.sms_aliyun import AliyunSms
from facade.adapters.sms_tencent import TencentSms
from facade.core.codes import CheckResult
from facade.core.delivery import Message, SendFailure
from facade.core.errors import DeliveryFailed
from facade.core.limits import CodePolicy
from tests.codes_support import code_service, random_phone, unreachable_aliyun
from tests.standins.fixtures import (
    ALIYUN_SIGN,
    ALIYUN_TEMPLATES,
    TENCENT_SIGN,
    TENCENT_TEMPLATES,
    aliyun_config,
    tencent_config,
)

NO_INTERVAL = CodePolicy(resend_interval=0, daily_cap=1000)


@pytest.fixture
def aliyun_sms(aliyun_server) -> AliyunSms:
    return AliyunSms(aliyun_config(aliyun_server[1]), timeout=5)


@pytest.fixture
def tencent_sms(tencent_server) -> TencentSms:
    return TencentSms(tencent_config(tencent_server[1]), timeout=5)


def message(purpose: str = "login", phone: str | None = None) -> Message:
    return Message("sms", "member", purpose, phone or random_phone(), "482916")


def test_aliyun_delivers_the_code_with_the_sign_and_the_purpose_template(aliyun, aliyun_sms):
    phone = random_phone()
    aliyun_sms.send(message("login", phone))
    aliyun_sms.send(message("reset_password", phone))
    assert [(s.phone, s.sign_name, s.template, s.params) for s in aliyun.sent] == [
        (phone, ALIYUN_SIGN, ALIYUN_TEMPLATES["login"], {"code": "482916"}),
        (phone, ALIYUN_SIGN, ALIYUN_TEMPLATES["default"], {"code": "482916"}),
    ]


def test_tencent_delivers_the_code_to_the_e164_number_with_the_purpose_template(
    tencent, tencent_sms
):
    phone = random_phone()
    tencent_sms.send(message("register", phone))
    assert [(s.phone, s.sign_name, s.template_id, s.params) for s in tencent.sent] == [
        (f"+86{phone}", TENCENT_SIGN, TENCENT_TEMPLATES["register"], ["482916"])
    ]


def test_aliyun_stand_in_refuses_a_request_signed_with_the_wrong_secret(aliyun, aliyun_server):
    forged = AliyunSms(aliyun_config(aliyun_server[1], access_key_secret="wrong"), timeout=5)
    with pytest.raises(SendFailure) as failure:
        forged.send(message())
    assert (failure.value.reason, failure.value.detail) == (
        "provider_down",
        "aliyun SignatureDoesNotMatch",
    )
    assert aliyun.rejected == ["SignatureDoesNotMatch"] and not aliyun.sent


def test_aliyun_stand_in_refuses_an_unknown_template(aliyun, aliyun_server):
    sender = AliyunSms(
        aliyun_config(aliyun_server[1], templates={"default": "SMS_UNKNOWN"}), timeout=5
    )
    with pytest.raises(SendFailure) as failure:
        sender.send(message())
    assert failure.value.detail == "aliyun isv.SMS_TEMPLATE_ILLEGAL"


def test_tencent_stand_in_refuses_a_request_signed_with_the_wrong_key(tencent, tencent_server):
    forged = TencentSms(tencent_config(tencent_server[1], secret_key="wrong"), timeout=5)
    with pytest.raises(SendFailure) as failure:
        forged.send(message())
    assert failure.value.detail == "tencent AuthFailure.SignatureFailure"
    assert tencent.rejected == ["AuthFailure.SignatureFailure"] and not tencent.sent


def test_tencent_stand_in_refuses_an_unknown_application(tencent, tencent_server):
    sender = TencentSms(tencent_config(tencent_server[1], app_id="1400999999"), timeout=5)
    with pytest.raises(SendFailure) as failure:
        sender.send(message())
    assert failure.value.detail == "tencent InvalidParameterValue.SdkAppIdNotExist"


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", 200, "throttled"),
        ("isv.DAY_LIMIT_CONTROL", 200, "throttled"),
        ("Throttling.User", 400, "throttled"),
        ("isv.MOBILE_NUMBER_ILLEGAL", 200, "target_rejected"),
        ("isv.AMOUNT_NOT_ENOUGH", 200, "provider_down"),
        ("isp.SYSTEM_ERROR", 200, "provider_down"),
        ("ServiceUnavailable", 503, "provider_down"),
    ],
)
def test_aliyun_error_codes_become_failure_reasons(aliyun, aliyun_sms, code, status, reason):
    aliyun.fail_next(code, status=status)
    with pytest.raises(SendFailure) as failure:
        aliyun_sms.send(message())
    assert (failure.value.reason, failure.value.detail) == (reason, f"aliyun {code}")


@pytest.mark.parametrize(
    ("code", "where", "reason"),
    [
        ("LimitExceeded.PhoneNumberDailyLimit", "status", "throttled"),
        ("LimitExceeded.PhoneNumberThirtySecondLimit", "status", "throttled"),
        ("RequestLimitExceeded", "error", "throttled"),
        ("InvalidParameterValue.IncorrectPhoneNumber", "status", "target_rejected"),
        ("FailedOperation.PhoneNumberInBlacklist", "status", "target_rejected"),
        ("FailedOperation.InsufficientBalanceInSmsPackage", "status", "provider_down"),
        ("InternalError.Timeout", "error", "provider_down"),
    ],
)
def test_tencent_error_codes_become_failure_reasons(tencent, tencent_sms, code, where, reason):
    tencent.fail_next(code, where=where)
    with pytest.raises(SendFailure) as failure:
        tencent_sms.send(message())
    assert (failure.value.reason, failure.value.detail) == (reason, f"tencent {code}")


def test_an_unreachable_provider_is_down():
    with pytest.raises(SendFailure) as failure:
        unreachable_aliyun().send(message())
    assert failure.value.reason == "provider_down"


def test_a_throttled_provider_falls_over_to_the_next(
    redis_client, redis_prefix, aliyun, tencent, aliyun_sms, tencent_sms
):
    codes, _ = code_service(
        redis_client, redis_prefix, sms=[aliyun_sms, tencent_sms], development=False
    )
    phone = random_phone()
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    codes.send("member", "login", "sms", phone, "10.0.0.1")
    assert aliyun.rejected == ["isv.BUSINESS_LIMIT_CONTROL"] and not aliyun.sent
    [delivered] = tencent.sent
    assert codes.check("member", "login", phone, delivered.params[0]) is CheckResult.OK


def test_a_provider_that_is_down_falls_over_to_the_next(
    redis_client, redis_prefix, tencent, tencent_sms
):
    codes, _ = code_service(
        redis_client, redis_prefix, sms=[unreachable_aliyun(), tencent_sms], development=False
    )
    phone = random_phone()
    codes.send("vcode", "register", "sms", phone, "")
    [delivered] = tencent.sent
    assert codes.check("vcode", "register", phone, delivered.params[0]) is CheckResult.OK


def test_a_rejected_number_stops_at_the_first_provider(
    redis_client, redis_prefix, aliyun, tencent, aliyun_sms, tencent_sms
):
    codes, _ = code_service(
        redis_client, redis_prefix, sms=[aliyun_sms, tencent_sms], development=False
    )
    aliyun.fail_next("isv.MOBILE_NUMBER_ILLEGAL")
    with pytest.raises(DeliveryFailed) as failed:
        codes.send("vcode", "login", "sms", random_phone(), "")
    assert failed.value.reason == "target_rejected"
    assert not tencent.sent and not tencent.rejected
    assert not list(redis_client.scan_iter(f"{redis_prefix}code:*"))


def test_when_every_provider_fails_a_throttled_one_makes_it_throttled(
    redis_client, redis_prefix, aliyun, tencent, aliyun_sms, tencent_sms
):
    codes, _ = code_service(
        redis_client,
        redis_prefix,
        sms=[aliyun_sms, unreachable_aliyun(), tencent_sms],
        policy=NO_INTERVAL,
        development=False,
    )
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    tencent.fail_next("InternalError.Timeout", where="error")
    with pytest.raises(DeliveryFailed) as failed:
        codes.send("vcode", "login", "sms", random_phone(), "")
    assert failed.value.reason == "throttled"
    tencent.fail_next("InternalError.Timeout", where="error")
    only_down, _ = code_service(
        redis_client, redis_prefix, sms=[unreachable_aliyun(), tencent_sms], development=False
    )
    with pytest.raises(DeliveryFailed) as failed:
        only_down.send("vcode", "login", "sms", random_phone(), "")
    assert failed.value.reason == "provider_down"
    assert not list(redis_client.scan_iter(f"{redis_prefix}code:*"))


def test_codes_never_reach_the_logs_in_production(
    redis_client, redis_prefix, aliyun, tencent, aliyun_sms, tencent_sms, caplog
):
    codes, _ = code_service(
        redis_client,
        redis_prefix,
        sms=[unreachable_aliyun(), aliyun_sms, tencent_sms],
        policy=NO_INTERVAL,
        development=False,
    )
    caplog.set_level(logging.DEBUG)
    phone = random_phone()
    aliyun.fail_next("isv.BUSINESS_LIMIT_CONTROL")
    codes.send("member", "login", "sms", phone, "10.0.0.1")
    aliyun.fail_next("isv.MOBILE_NUMBER_ILLEGAL")
    with pytest.raises(DeliveryFailed):
        codes.send("member", "bind", "sms", phone, "10.0.0.1")
    code = tencent.sent[-1].params[0]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "delivery via aliyun failed: throttled" in logged
    assert "TemplateParam=***" in logged  # urllib3 logged Aliyun's request line, masked
    assert code not in logged
    assert phone not in logged  # targets are masked too
