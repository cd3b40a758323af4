"""The WeChat stand-in over HTTP as WeChat clients see it, and as the development stack runs it."""

from __future__ import annotations

import re

import pytest
import requests

from facade.adapters.wechat import WechatClient
from facade.stack import dev
from facade.stack.processes import free_port, port_open
from facade.stack.wechat_standin import DEV_APPID, DEV_SECRET

RID = re.compile(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")


def exchange(url: str, **overrides: str) -> requests.Response:
    params = {
        "appid": DEV_APPID,
        "secret": DEV_SECRET,
        "js_code": "x",
        "grant_type": "authorization_code",
    }
    params.update(overrides)
    return requests.get(f"{url}/sns/jscode2session", params=params, timeout=5)


def test_a_minted_code_is_answered_like_wechat_does(wechat_standin):
    minted = requests.post(f"{wechat_standin.url}/_standin/codes", json={}, timeout=5).json()
    assert set(minted) == {"code", "openid", "unionid"}
    answer = exchange(wechat_standin.url, js_code=minted["code"])
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    body = answer.json()
    assert body["openid"] == minted["openid"]
    assert body["unionid"] == minted["unionid"]
    assert len(body["session_key"]) == 24


def test_errors_carry_wechats_errcode_and_message_with_a_rid(wechat_standin):
    answer = exchange(wechat_standin.url, js_code="unknown")
    assert answer.status_code == 200
    body = answer.json()
    assert body["errcode"] == 40029
    assert body["errmsg"].startswith("invalid code")
    assert RID.search(body["errmsg"])


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"appid": ""}, 41002),
        ({"appid": "wxSomeoneElse"}, 40013),
        ({"secret": ""}, 41004),
        ({"secret": "wrong"}, 40125),
        ({"grant_type": "client_credential"}, 40002),
        ({"js_code": ""}, 41008),
    ],
)
def test_malformed_requests_are_refused_with_wechats_codes(wechat_standin, overrides, errcode):
    assert exchange(wechat_standin.url, **overrides).json()["errcode"] == errcode


def test_an_explicit_null_unionid_is_an_app_without_unionid(wechat_standin):
    minted = requests.post(
        f"{wechat_standin.url}/_standin/codes",
        json={"openid": "oNoUnion", "unionid": None},
        timeout=5,
    ).json()
    assert minted["unionid"] is None
    assert "unionid" not in exchange(wechat_standin.url, js_code=minted["code"]).json()


def test_an_openid_keeps_its_unionid_across_codes(wechat_standin):
    url = f"{wechat_standin.url}/_standin/codes"
    first = requests.post(url, json={"openid": "oKeeps", "unionid": "uKeeps"}, timeout=5).json()
    again = requests.post(url, json={"openid": "oKeeps"}, timeout=5).json()
    assert again["unionid"] == first["unionid"] == "uKeeps"
    assert again["code"] != first["code"]


def test_failures_and_the_clock_are_controlled_over_http(wechat_standin, wechat):
    base = wechat_standin.url
    code = requests.post(f"{base}/_standin/codes", json={}, timeout=5).json()["code"]
    queued = requests.post(f"{base}/_standin/fail", json={"errcode": 45011, "times": 2}, timeout=5)
    assert queued.json() == {"queued": 2}
    assert [exchange(base, js_code=code).json()["errcode"] for _ in range(2)] == [45011, 45011]
    advanced = requests.post(f"{base}/_standin/clock", json={"advance": 301}, timeout=5)
    assert advanced.status_code == 200
    assert exchange(base, js_code=code).json()["errcode"] == 40029


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_standin/codes", {"openid": 5}),
        ("/_standin/codes", {"appid": "wxUnknown"}),
        ("/_standin/fail", {}),
        ("/_standin/fail", {"errcode": "45011"}),
        ("/_standin/clock", {"advance": -1}),
        ("/_standin/codes", [1]),
    ],
)
def test_control_requests_that_make_no_sense_are_400(wechat_standin, path, body):
    answer = requests.post(f"{wechat_standin.url}{path}", json=body, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_other_paths_are_404(wechat_standin):
    assert requests.get(f"{wechat_standin.url}/cgi-bin/token", timeout=5).status_code == 404
    assert (
        requests.post(f"{wechat_standin.url}/_standin/nope", json={}, timeout=5).status_code == 404
    )


def test_the_stack_starts_the_standin_as_a_process_and_stops_it(tmp_path):
    port = free_port()
    standin = dev.start_wechat_standin(tmp_path, port, "wxStack", "stack-secret")
    assert standin is not None and standin.process is not None
    try:
        assert dev.start_wechat_standin(tmp_path, port, "wxStack", "stack-secret") is None
        code = requests.post(f"{standin.url}/_standin/codes", json={}, timeout=5).json()["code"]
        adapter = WechatClient(standin.url, "wxStack", "stack-secret", timeout=5)
        assert adapter.code_to_session(code).openid
    finally:
        standin.stop()
    assert not port_open(port)
    log = (tmp_path / "wechat.log").read_text()
    assert "GET /sns/jscode2session 200" in log
    assert "stack-secret" not in log


def test_the_stack_refuses_a_port_taken_by_something_else(tmp_path, wechat_standin):
    with pytest.raises(RuntimeError, match="not the WeChat stand-in"):
        dev.start_wechat_standin(tmp_path, wechat_standin.port, "wxOther", "other-secret")


def test_the_stack_points_the_facade_at_its_standin(monkeypatch):
    for name in ("FACADE_WECHAT_API_BASE", "FACADE_WECHAT_APPID", "FACADE_WECHAT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    environment = dev.facade_environment()
    assert environment["FACADE_WECHAT_API_BASE"] == f"http://127.0.0.1:{dev.WECHAT_PORT}"
    assert environment["FACADE_WECHAT_APPID"] == DEV_APPID
    assert environment["FACADE_WECHAT_SECRET"] == DEV_SECRET
