"""``POST /_dev/wechat/codes``: WeChat codes for client developers, in development mode only."""

from __future__ import annotations

import falcon.testing
import pytest

from facade.adapters.wechat import WechatClient
from facade.app import create_app
from facade.stack.processes import free_port


def test_development_mints_a_code_that_wechat_login_accepts_once(client, settings):
    response = client.simulate_post("/_dev/wechat/codes", json={})
    assert response.status_code == 200
    minted = response.json
    assert set(minted) == {"code", "openid", "unionid"}
    adapter = WechatClient.from_settings(settings)
    session = adapter.code_to_session(minted["code"])
    assert (session.openid, session.unionid) == (minted["openid"], minted["unionid"])


def test_the_caller_chooses_openid_and_may_ask_for_no_unionid(client):
    response = client.simulate_post(
        "/_dev/wechat/codes", json={"openid": "oDevChosen", "unionid": None}
    )
    assert response.json["openid"] == "oDevChosen"
    assert response.json["unionid"] is None


def test_an_empty_body_is_accepted(client):
    response = client.simulate_post("/_dev/wechat/codes")
    assert response.status_code == 200
    assert response.json["code"]


@pytest.mark.parametrize("body", [{"openid": 7}, {"unionid": ""}, [1]])
def test_a_body_that_makes_no_sense_is_400(client, body):
    response = client.simulate_post("/_dev/wechat/codes", json=body)
    assert response.status_code == 400
    assert response.json["error"]


def test_a_standin_that_does_not_answer_is_503(settings):
    gone = settings.with_changes(wechat_api_base=f"http://127.0.0.1:{free_port()}")
    response = falcon.testing.TestClient(create_app(gone)).simulate_post("/_dev/wechat/codes")
    assert response.status_code == 503
    assert "stand-in" in response.json["error"]


def test_production_has_no_such_route(settings):
    # No contract mounted: production would otherwise also demand real SMS/email providers.
    production = settings.with_changes(env="production", secret="p" * 40, prefixes={})
    response = falcon.testing.TestClient(create_app(production)).simulate_post(
        "/_dev/wechat/codes", json={}
    )
    assert response.status_code == 404


def test_a_wechat_base_that_is_no_standin_is_502(settings):
    elsewhere = settings.with_changes(wechat_api_base=settings.keycloak_url)
    response = falcon.testing.TestClient(create_app(elsewhere)).simulate_post("/_dev/wechat/codes")
    assert response.status_code == 502
    assert "not a WeChat stand-in" in response.json["error"]
