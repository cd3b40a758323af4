"""FACADE_* variables of codes, rate limits and delivery, and production's refusal to start."""

from __future__ import annotations

import pytest

from facade.app import create_app
from facade.core.limits import CodePolicy, RateRule
from facade.settings import Settings, SettingsError

DEV = {"FACADE_ENV": "development"}
ALIYUN = {
    "FACADE_SMS_PROVIDERS": "aliyun",
    "FACADE_ALIYUN_ACCESS_KEY_ID": "id",
    "FACADE_ALIYUN_ACCESS_KEY_SECRET": "aliyun-key-secret",
    "FACADE_ALIYUN_SMS_SIGN_NAME": "签名",
    "FACADE_ALIYUN_SMS_TEMPLATES": "login=SMS_1, register=SMS_2, default=SMS_0",
}
TENCENT = {
    "FACADE_TENCENT_SECRET_ID": "sid",
    "FACADE_TENCENT_SECRET_KEY": "tencent-key-secret",
    "FACADE_TENCENT_SMS_APP_ID": "1400000000",
    "FACADE_TENCENT_SMS_SIGN_NAME": "签名",
    "FACADE_TENCENT_SMS_TEMPLATES": "default=100",
}
SMTP = {"FACADE_SMTP_HOST": "smtp.example.com", "FACADE_SMTP_FROM": "no-reply@example.com"}
PRODUCTION = {
    "FACADE_ENV": "production",
    "FACADE_DATABASE_URL": "sqlite://",
    "FACADE_SECRET": "s" * 40,
    "FACADE_KEYCLOAK_CLIENT_SECRET": "k",
    **{
        f"FACADE_{slug}_CLIENT_SECRET": "c"
        for slug in ("CAPTCHA", "VCODE", "MEMBER", "CUSTOMER", "ACCOUNT")
    },
}


def test_code_policy_defaults_and_per_contract_overrides():
    settings = Settings.from_env(
        {**DEV, "FACADE_CODE_TTL": "600", "FACADE_MEMBER_CODE_MAX_TRIES": "5"}
    )
    assert settings.codes.policy_for("vcode") == CodePolicy(ttl=600)
    assert settings.codes.policy_for("member") == CodePolicy(ttl=600, max_tries=5)


@pytest.mark.parametrize(
    "variables",
    [{"FACADE_CODE_TLL": "600"}, {"FACADE_VCODE_CODE_TTL": "soon"}, {"FACADE_CODE_MAX_TRIES": "0"}],
)
def test_a_code_variable_that_cannot_be_read_stops_the_start(variables):
    with pytest.raises(SettingsError):
        Settings.from_env({**DEV, **variables})


def test_rate_limits_have_defaults_member_rules_and_overrides():
    defaults = Settings.from_env(DEV).rate_limits
    assert defaults["member.send_code"] == (RateRule("ip", 1, 60), RateRule("target", 10, 86400))
    assert defaults["member.login"] == (RateRule("ip", 10, 60),)
    settings = Settings.from_env(
        {
            **DEV,
            "FACADE_RATE_LOGIN": "ip:5/minute",
            "FACADE_MEMBER_RATE_SEND_CODE": "none",
            "FACADE_ACCOUNT_RATE_CHECK_USERNAME": "ip:60/minute",
        }
    )
    assert settings.rate_limits["login"] == (RateRule("ip", 5, 60),)
    assert settings.rate_limits["member.send_code"] == ()
    assert settings.rate_limits["account.check_username"] == (RateRule("ip", 60, 60),)
    with pytest.raises(SettingsError, match="login"):
        Settings.from_env({**DEV, "FACADE_RATE_LOGIN": "ip:lots"})


def test_sms_providers_are_read_in_order():
    settings = Settings.from_env(
        {**DEV, **ALIYUN, **TENCENT, "FACADE_SMS_PROVIDERS": "tencent, aliyun"}
    )
    delivery = settings.delivery
    assert delivery.sms_providers == ("tencent", "aliyun")
    assert delivery.aliyun is not None and delivery.aliyun.template_for("bind") == "SMS_0"
    assert delivery.aliyun.endpoint == "https://dysmsapi.aliyuncs.com"
    assert delivery.tencent is not None and delivery.tencent.region == "ap-guangzhou"
    assert "key-secret" not in repr(delivery)


@pytest.mark.parametrize(
    "variables",
    [
        {**ALIYUN, "FACADE_ALIYUN_ACCESS_KEY_SECRET": ""},
        {**ALIYUN, "FACADE_ALIYUN_SMS_TEMPLATES": "login=SMS_1"},
        {**ALIYUN, "FACADE_ALIYUN_SMS_TEMPLATES": "signup=SMS_1,default=SMS_0"},
        {**ALIYUN, "FACADE_ALIYUN_SMS_ENDPOINT": "dysmsapi.aliyuncs.com"},
        {**ALIYUN, "FACADE_SMS_PROVIDERS": "aliyun,twilio"},
        {**ALIYUN, "FACADE_SMS_PROVIDERS": "tencent"},
        {**SMTP, "FACADE_SMTP_SECURITY": "ssl"},
        {**SMTP, "FACADE_SMTP_USER": "mailer"},
        {"FACADE_SMTP_HOST": "smtp.example.com"},
    ],
)
def test_an_incomplete_sender_stops_the_start(variables):
    with pytest.raises(SettingsError):
        Settings.from_env({**DEV, **variables})


def test_smtp_ports_follow_the_security():
    tls = Settings.from_env({**DEV, **SMTP, "FACADE_SMTP_SECURITY": "tls"}).delivery.smtp
    assert tls is not None and (tls.port, tls.security) == (465, "tls")
    starttls = Settings.from_env({**DEV, **SMTP}).delivery.smtp
    assert starttls is not None and (starttls.port, starttls.security) == (587, "starttls")


def test_production_refuses_to_start_without_an_sms_provider():
    settings = Settings.from_env({**PRODUCTION, "FACADE_CONTRACTS": "vcode"})
    with pytest.raises(SettingsError, match="'vcode' sends codes by sms"):
        create_app(settings)


def test_production_refuses_captcha_without_an_email_sender():
    settings = Settings.from_env({**PRODUCTION, **ALIYUN, "FACADE_CONTRACTS": "vcode,captcha"})
    with pytest.raises(SettingsError, match="'captcha' sends codes by email"):
        create_app(settings)


def test_production_starts_when_every_mounted_contract_has_its_channels():
    settings = Settings.from_env(
        {**PRODUCTION, **ALIYUN, **SMTP, "FACADE_CONTRACTS": "vcode,captcha"}
    )
    assert create_app(settings) is not None


def test_development_starts_without_any_provider():
    assert create_app(Settings.from_env({**DEV, "FACADE_CONTRACTS": "vcode,captcha"})) is not None


def test_empty_variables_count_as_unset():
    settings = Settings.from_env(
        {
            **DEV,
            **SMTP,
            "FACADE_SMTP_PORT": "",
            "FACADE_SMTP_SECURITY": "",
            "FACADE_CODE_TTL": "",
            "FACADE_MEMBER_RATE_SEND_CODE": "",
            "FACADE_SMS_PROVIDERS": "",
        }
    )
    assert settings.delivery.smtp is not None and settings.delivery.smtp.port == 587
    assert settings.codes.policy_for("member").ttl == 300
    assert settings.rate_limits["member.send_code"] == (
        RateRule("ip", 1, 60),
        RateRule("target", 10, 86400),
    )
    assert settings.delivery.sms_providers == ()
