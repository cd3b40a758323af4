"""Walk member.md's client flow against a running development stack (``make dev``).

Send a code, read it from the dev outbox, sign in (new user), read /auth/me, refresh, bind a
phone on a WeChat user, log out and see the old tokens refused; then show the person as the
Keycloak admin console does. Exits non-zero at the first step that does not answer as
documented.
"""

from __future__ import annotations

import json
import secrets
import sys

import requests
from keycloak import KeycloakAdmin

FACADE = "http://127.0.0.1:8000"
API = f"{FACADE}/api/v1"


def phone() -> str:
    return f"139{secrets.randbelow(10**8):08d}"


def call(method: str, path: str, body: object = None, token: str | None = None) -> dict:
    headers = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.request(method, API + path, json=body, headers=headers, timeout=10)
    print(f"{method} {path} -> {response.status_code} {response.text[:160]}")
    return {"status": response.status_code, **response.json()}


def expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {what}")


def outbox_code(target: str) -> str:
    messages = requests.get(f"{FACADE}/_dev/outbox", params={"to": target}, timeout=5).json()
    return str(messages["messages"][0]["code"])


def main() -> None:
    mobile = phone()
    expect(
        call("POST", "/auth/sms/send", {"phone": mobile, "code_type": "login"})["code"] == 0,
        "sms/send",
    )
    login = call("POST", "/auth/login/sms", {"phone": mobile, "code": outbox_code(mobile)})
    expect(login["code"] == 0 and login["data"]["is_new_user"] is True, "login/sms new user")
    tokens = login["data"]["token"]
    expect(call("GET", "/auth/me", token=tokens["access_token"])["data"]["phone"] == mobile, "me")
    refreshed = call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    expect(refreshed["code"] == 0, "refresh")

    minted = requests.post(f"{FACADE}/_dev/wechat/codes", json={}, timeout=5).json()
    wechat = call(
        "POST", "/auth/login/wechat", {"code": minted["code"], "nickname": "微信用户", "gender": 1}
    )
    expect(wechat["code"] == 0 and wechat["data"]["user"]["phone"] is None, "login/wechat")
    wechat_token = wechat["data"]["token"]["access_token"]
    bind_to = phone()
    call("POST", "/auth/sms/send", {"phone": bind_to, "code_type": "bind"})
    bound = call(
        "POST", "/auth/bind-phone", {"phone": bind_to, "code": outbox_code(bind_to)}, wechat_token
    )
    expect(bound["code"] == 0, "bind-phone")
    expect(call("GET", "/auth/me", token=wechat_token)["data"]["phone"] == bind_to, "me after bind")

    expect(call("POST", "/auth/logout", token=tokens["access_token"])["code"] == 0, "logout")
    expect(
        call("GET", "/auth/me", token=tokens["access_token"])["status"] == 401, "old access token"
    )
    expect(
        call("POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]})["status"] == 401,
        "old refresh token",
    )

    admin = KeycloakAdmin(
        server_url="http://127.0.0.1:8080/",
        username="admin",
        password="admin",  # noqa: S106  # the development stack's bootstrap administrator
        realm_name="facade",
        user_realm_name="master",
    )
    (person,) = admin.get_users({"q": f"phone_number:{mobile}", "exact": "true"})
    print("keycloak:", person["username"], json.dumps(person["attributes"], ensure_ascii=False))
    print("member flow OK")


if __name__ == "__main__":
    main()
