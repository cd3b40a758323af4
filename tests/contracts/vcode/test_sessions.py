"""vcode has no refresh and no logout: its 24 h access token is the whole session. A password
reset or an operator disabling the user must end it at once, and the user is one person across
the contracts."""

from __future__ import annotations

import time

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import build_services
from facade.core.errors import InvalidToken
from tests.contracts.live import random_ip
from tests.contracts.vcode.conftest import PASSWORD, VcodeClient
from tests.following import follow_operator_edits


@pytest.fixture
def uncached(settings) -> VcodeClient:
    """A facade that reads the user from Keycloak on every authentication."""
    fresh = settings.with_changes(profile_cache_ttl=0)
    services = build_services(fresh)
    return VcodeClient(falcon.testing.TestClient(create_app(fresh, services)), services)


def disable(operator, user_id: str) -> None:
    """As an operator does in the admin console."""
    operator.update_user(user_id, {**operator.get_user(user_id), "enabled": False})


def test_an_operator_disabling_the_user_refuses_its_token_at_once(uncached, operator):
    _, data = uncached.register()
    sessions = uncached.services.sessions
    assert sessions.authenticate("vcode", data["token"]).user.id == data["user"]["id"]
    disable(operator, data["user"]["id"])
    with pytest.raises(InvalidToken, match="account disabled"):
        sessions.authenticate("vcode", data["token"])


def test_with_the_profile_cache_a_disabled_users_token_dies_at_the_followers_next_poll(
    vcode, operator
):
    _, data = vcode.register()
    sessions = vcode.services.sessions
    sessions.authenticate("vcode", data["token"])  # cached for profile_cache_ttl seconds
    since = int(time.time() * 1000) - 1000
    disable(operator, data["user"]["id"])
    sessions.authenticate("vcode", data["token"])  # the cached profile still says enabled
    assert follow_operator_edits(vcode.services, data["user"]["id"], since_ms=since) >= 1
    with pytest.raises(InvalidToken, match="account disabled"):
        sessions.authenticate("vcode", data["token"])


def test_without_the_follower_a_disabled_users_token_dies_within_the_cache_ttl(settings, operator):
    short = settings.with_changes(profile_cache_ttl=1)
    services = build_services(short)
    client = VcodeClient(falcon.testing.TestClient(create_app(short, services)), services)
    _, data = client.register()
    services.sessions.authenticate("vcode", data["token"])  # cached for one second
    disable(operator, data["user"]["id"])
    time.sleep(1.2)
    with pytest.raises(InvalidToken, match="account disabled"):
        services.sessions.authenticate("vcode", data["token"])


def test_a_password_reset_refuses_every_earlier_token_at_once(vcode):
    phone, data = vcode.register()
    again = vcode.post("/auth/login", {"username": phone, "password": PASSWORD})
    tokens = [data["token"], again.json["data"]["token"]]  # two sessions of one user
    sessions = vcode.services.sessions
    for token in tokens:
        assert sessions.authenticate("vcode", token).user.id == data["user"]["id"]
    code = vcode.send_code(phone, "reset_password")
    reset = vcode.post(
        "/auth/reset-password", {"phone": phone, "code": code, "new_password": "Changed789"}
    )
    assert reset.status_code == 200, reset.text
    for token in tokens:
        with pytest.raises(InvalidToken):
            sessions.authenticate("vcode", token)


def test_a_user_registered_here_is_the_same_person_in_member(vcode, operator):
    phone, data = vcode.register()
    vcode.allow_resend(phone)
    vcode.services.redis.delete(vcode.services.keys.code_resend("member", phone))
    headers = {"X-Forwarded-For": random_ip()}
    sent = vcode.http.simulate_post(
        "/api/v1/auth/sms/send", json={"phone": phone, "code_type": "login"}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    member = vcode.http.simulate_post(
        "/api/v1/auth/login/sms",
        json={"phone": phone, "code": vcode.latest_code(phone)},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert member.status_code == 200, member.text
    assert member.json["data"]["is_new_user"] is False
    person = operator.get_user(data["user"]["id"])
    assert member.json["data"]["user"]["id"] == int(person["attributes"]["uid"][0])
    assert member.json["data"]["user"]["phone"] == phone


def test_a_user_registered_here_signs_in_to_captcha_by_password(vcode):
    phone, data = vcode.register()
    signed_in = vcode.services.sessions.sign_in_password("captcha", phone, PASSWORD)
    assert signed_in.user.id == data["user"]["id"]
    principal = vcode.services.sessions.authenticate("captcha", signed_in.tokens.access_token)
    assert principal.claims.client_id == "facade-captcha"
