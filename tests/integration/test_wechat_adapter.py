"""The WeChat adapter against the local stand-in: real HTTP, WeChat's answers and error codes."""

from __future__ import annotations

import logging

import pytest

from facade.adapters.wechat import WechatClient
from facade.core.errors import ExternalAuthRejected, Unavailable
from facade.core.models import ExternalIdentity
from facade.stack.processes import free_port
from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET, StandinServer, WechatStandin


@pytest.fixture
def adapter(wechat_standin: StandinServer) -> WechatClient:
    return WechatClient(wechat_standin.url, DEV_APPID, DEV_SECRET, timeout=2.0)


def rejection(adapter: WechatClient, code: str) -> ExternalAuthRejected:
    with pytest.raises(ExternalAuthRejected) as caught:
        adapter.code_to_session(code)
    return caught.value


def test_a_minted_code_yields_its_openid_and_unionid(adapter, wechat):
    minted = wechat.mint(openid="oAlice", unionid="uAlice")
    assert adapter.code_to_session(minted["code"]) == ExternalIdentity("oAlice", "uAlice")


def test_an_app_without_unionid_yields_none(adapter, wechat):
    minted = wechat.mint(unionid=None)
    session = adapter.code_to_session(minted["code"])
    assert session.openid == minted["openid"]
    assert session.unionid is None


def test_codes_minted_for_one_openid_keep_naming_the_same_user(adapter, wechat):
    first = adapter.code_to_session(wechat.mint(openid="oSameUser")["code"])
    second = adapter.code_to_session(wechat.mint(openid="oSameUser")["code"])
    assert first == second
    assert first.unionid is not None


def test_the_session_key_is_not_kept():
    assert set(ExternalIdentity.__dataclass_fields__) == {"openid", "unionid"}


def test_a_code_works_once_then_is_reported_used(adapter, wechat):
    code = wechat.mint()["code"]
    adapter.code_to_session(code)
    error = rejection(adapter, code)
    assert (error.provider, error.code, error.reason) == ("wechat", "40163", "code_used")


def test_an_unknown_code_is_invalid(adapter):
    error = rejection(adapter, "0a1B2c3D4e5F6gNeverMinted")
    assert (error.code, error.reason) == ("40029", "invalid_code")


def test_a_code_expires_after_five_minutes(adapter, wechat):
    fresh, stale = wechat.mint()["code"], wechat.mint()["code"]
    wechat.advance(299)
    assert adapter.code_to_session(fresh).openid
    wechat.advance(2)
    assert rejection(adapter, stale).reason == "invalid_code"


def test_expiry_follows_an_injected_clock():
    now = [1000.0]
    server = StandinServer(WechatStandin({"wxA": "sA"}, ttl=60, clock=lambda: now[0])).start()
    try:
        adapter = WechatClient(server.url, "wxA", "sA", timeout=2.0)
        code = server.standin.mint()["code"]
        now[0] += 61
        assert rejection(adapter, code).reason == "invalid_code"
    finally:
        server.stop()


def test_a_code_of_another_appid_is_invalid():
    apps = {"wxFirst": "s1", "wxSecond": "s2"}
    server = StandinServer(WechatStandin(apps)).start()
    try:
        code = server.standin.mint(appid="wxFirst")["code"]
        second = WechatClient(server.url, "wxSecond", "s2", timeout=2.0)
        assert rejection(second, code).reason == "invalid_code"
        first = WechatClient(server.url, "wxFirst", "s1", timeout=2.0)
        assert first.code_to_session(code).openid
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("appid", "secret", "errcode"),
    [("wxNotOurs", DEV_SECRET, "40013"), (DEV_APPID, "wrong-secret", "40125")],
)
def test_a_wrong_appid_or_secret_is_a_misconfiguration(
    wechat_standin, wechat, appid, secret, errcode
):
    adapter = WechatClient(wechat_standin.url, appid, secret, timeout=2.0)
    error = rejection(adapter, wechat.mint()["code"])
    assert (error.code, error.reason) == (errcode, "misconfigured")


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [(45011, "throttled"), (40226, "user_blocked"), (40029, "invalid_code"), (61451, "rejected")],
)
def test_wechat_refusals_become_typed_rejections(adapter, wechat, errcode, reason):
    wechat.fail_next(errcode=errcode)
    error = rejection(adapter, wechat.mint()["code"])
    assert (error.code, error.reason) == (str(errcode), reason)


def test_a_refusal_does_not_spend_the_code(adapter, wechat):
    minted = wechat.mint()
    wechat.fail_next(errcode=45011)
    rejection(adapter, minted["code"])
    assert adapter.code_to_session(minted["code"]).openid == minted["openid"]


def test_wechat_busy_is_unavailable(adapter, wechat):
    wechat.fail_next(errcode=-1)
    with pytest.raises(Unavailable) as caught:
        adapter.code_to_session(wechat.mint()["code"])
    assert caught.value.part == "wechat"


@pytest.mark.parametrize("status", [500, 502, 404])
def test_an_http_error_is_unavailable(adapter, wechat, status):
    wechat.fail_next(http_status=status)
    with pytest.raises(Unavailable, match=str(status)):
        adapter.code_to_session(wechat.mint()["code"])


def test_a_wechat_that_does_not_answer_in_time_is_unavailable(wechat_standin, wechat):
    adapter = WechatClient(wechat_standin.url, DEV_APPID, DEV_SECRET, timeout=0.2)
    wechat.fail_next(delay=1.0)
    with pytest.raises(Unavailable, match="in time"):
        adapter.code_to_session(wechat.mint()["code"])


def test_an_unreachable_wechat_is_unavailable():
    adapter = WechatClient(f"http://127.0.0.1:{free_port()}", DEV_APPID, DEV_SECRET, timeout=2.0)
    with pytest.raises(Unavailable) as caught:
        adapter.code_to_session("any")
    assert caught.value.part == "wechat"
    assert caught.value.__cause__ is None
    assert DEV_SECRET not in str(caught.value)


def test_an_unconfigured_client_is_unavailable_without_calling_wechat(wechat_standin):
    adapter = WechatClient(wechat_standin.url, "", "", timeout=2.0)
    with pytest.raises(Unavailable, match="not configured"):
        adapter.code_to_session("any")


def test_neither_the_secret_nor_the_session_key_reaches_the_logs(wechat_standin, wechat, caplog):
    secret = "s3cr3t-that-must-not-leak"
    server = StandinServer(WechatStandin({"wxLogs": secret})).start()
    try:
        adapter = WechatClient(server.url, "wxLogs", secret, timeout=2.0)
        unreachable = WechatClient(f"http://127.0.0.1:{free_port()}", "wxLogs", secret, 2.0)
        code = server.standin.mint()["code"]
        with caplog.at_level(logging.DEBUG):
            assert adapter.code_to_session(code).openid
            with pytest.raises(ExternalAuthRejected):
                adapter.code_to_session(code)
            with pytest.raises(Unavailable):
                unreachable.code_to_session(code)
    finally:
        server.stop()
    assert "secret=***" in caplog.text  # urllib3 did log the URL...
    assert secret not in caplog.text  # ...without the appsecret
    assert code not in caplog.text
    assert "session_key" not in caplog.text
    assert secret not in repr(adapter)
