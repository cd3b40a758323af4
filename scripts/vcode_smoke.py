"""Walk vcode.md's examples and error types against a running development stack (``make dev``).

Registers a user by code (after a weak password and an invalid body), signs in by password
(username and phone) and by code, shows the same person in member, resets a password (and
sees member's token of that person refused), and provokes every error type reachable over
HTTP. Codes are read from ``GET /_dev/outbox``. Exits non-zero at the first answer that is
not as documented. A phone takes one vcode code a minute, so phones made by member's SMS
login stand in where a second code would mean waiting.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
from typing import Any

import requests
from keycloak import KeycloakAdmin

PASSWORD = "Password123"  # noqa: S105 - the document's example password


def phone() -> str:
    return f"139{secrets.randbelow(10**8):08d}"


class Smoke:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.request(
            method, self.base + path, json=body, headers=headers, timeout=10
        )
        print(f"{method} {path} -> {response.status_code} {response.text[:160]}")
        answer: dict[str, Any] = {"status": response.status_code, **response.json()}
        if "error" in answer:
            expect(answer["status"] == answer["code"], "HTTP status equals body code")
        if response.status_code == 429:
            expect(int(response.headers["Retry-After"]) > 0, "Retry-After on 429")
        return answer

    def code(self, target: str) -> str:
        outbox = requests.get(f"{self.base}/_dev/outbox", params={"to": target}, timeout=5)
        return str(outbox.json()["messages"][0]["code"])

    def send(self, mobile: str, code_type: str) -> str:
        sent = self.call(
            "POST", "/vcode/auth/verification-code", {"phone": mobile, "type": code_type}
        )
        expect(
            sent
            == {"status": 200, "code": 0, "message": "验证码发送成功", "data": {"expires_in": 300}},
            f"verification-code {code_type}",
        )
        return self.code(mobile)

    def member_user(self, mobile: str) -> dict[str, Any]:
        """Sign in to member by SMS (creating the user if needed): its ``data``."""
        self.call("POST", "/api/v1/auth/sms/send", {"phone": mobile, "code_type": "login"})
        login = self.call(
            "POST", "/api/v1/auth/login/sms", {"phone": mobile, "code": self.code(mobile)}
        )
        expect(login["code"] == 0, "member login/sms")
        return dict(login["data"])


def expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {what}")


def expect_error(answer: dict[str, Any], status: int, error_type: str) -> None:
    expect(
        answer["status"] == status and answer["error"]["type"] == error_type,
        f"{status} {error_type}",
    )


def lifetime(token: str) -> int:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(claims["exp"]) - int(claims["iat"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--keycloak-url", default="http://127.0.0.1:8080")
    args = parser.parse_args()
    smoke = Smoke(args.base_url)
    admin = KeycloakAdmin(
        server_url=args.keycloak_url.rstrip("/") + "/",
        username="admin",
        password="admin",  # noqa: S106  # the development stack's bootstrap administrator
        realm_name="facade",
        user_realm_name="master",
    )

    # 3. 验证码注册, after a weak password and an invalid body (neither spends the code).
    a = phone()
    code = smoke.send(a, "register")
    register = "/vcode/auth/register"
    expect_error(
        smoke.call("POST", register, {"phone": a, "code": code, "password": "weak"}),
        400,
        "WEAK_PASSWORD",
    )
    expect_error(
        smoke.call("POST", register, {"phone": "123", "code": code}), 400, "VALIDATION_ERROR"
    )
    name = f"smoke{secrets.token_hex(4)}"
    registered = smoke.call(
        "POST", register, {"phone": a, "code": code, "password": PASSWORD, "username": name}
    )
    expect(registered["code"] == 0 and registered["message"] == "注册成功", "register")
    user = registered["data"]["user"]
    expect(set(user) == {"id", "username", "nickname", "avatar_url", "role"}, "user fields")
    expect(user["role"] == "user" and lifetime(registered["data"]["token"]) == 86400, "24 h token")
    again = smoke.call("POST", "/vcode/auth/verification-code", {"phone": a, "type": "login"})
    expect_error(again, 429, "RATE_LIMITED")

    # 4. 密码登录 by username and by phone; a wrong password.
    for login in (name, a):
        signed_in = smoke.call(
            "POST", "/vcode/auth/login", {"username": login, "password": PASSWORD}
        )
        expect(
            signed_in["message"] == "登录成功" and signed_in["data"]["user"]["id"] == user["id"],
            login,
        )
    wrong = smoke.call("POST", "/vcode/auth/login", {"username": a, "password": "Wrong1234"})
    expect_error(wrong, 401, "INVALID_CREDENTIALS")

    # The same person in member: member's integer id is the Keycloak user's uid.
    person = admin.get_user(user["id"])
    expect(smoke.member_user(a)["user"]["id"] == int(person["attributes"]["uid"][0]), "member id")

    # Code errors: three wrong tries, an unknown phone, a code of another type.
    b = phone()
    code = smoke.send(b, "login")
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    for expected in ("INVALID_CODE", "INVALID_CODE", "CODE_TOO_MANY_TRIES"):
        answer = smoke.call("POST", "/vcode/auth/login/code", {"phone": b, "code": wrong_code})
        expect_error(answer, 400, expected)
    c = phone()
    answer = smoke.call(
        "POST", "/vcode/auth/login/code", {"phone": c, "code": smoke.send(c, "login")}
    )
    expect_error(answer, 404, "USER_NOT_FOUND")
    d = phone()
    mismatch = {"phone": d, "code": smoke.send(d, "login"), "password": PASSWORD}
    expect_error(smoke.call("POST", register, mismatch), 400, "INVALID_CODE")

    # 2. 验证码登录 of a person member registered; a register code to a registered phone.
    e = phone()
    member_id = smoke.member_user(e)["user"]["id"]
    by_code = smoke.call(
        "POST", "/vcode/auth/login/code", {"phone": e, "code": smoke.send(e, "login")}
    )
    expect(by_code["message"] == "登录成功", "login/code")
    expect(
        admin.get_user(by_code["data"]["user"]["id"])["attributes"]["uid"] == [str(member_id)],
        "same uid",
    )
    f = phone()
    smoke.member_user(f)
    exists = smoke.call(
        "POST", register, {"phone": f, "code": smoke.send(f, "register"), "password": PASSWORD}
    )
    expect_error(exists, 409, "USER_EXISTS")

    # The added reset: member's token of that person is refused afterwards.
    g = phone()
    member_token = smoke.member_user(g)["token"]["access_token"]
    code = smoke.send(g, "reset_password")
    reset = "/vcode/auth/reset-password"
    expect_error(
        smoke.call("POST", reset, {"phone": g, "code": code, "new_password": "short"}),
        400,
        "WEAK_PASSWORD",
    )
    done = smoke.call("POST", reset, {"phone": g, "code": code, "new_password": "NewPass456"})
    expect(done == {"status": 200, "code": 0, "message": "密码重置成功", "data": None}, "reset")
    expect(
        smoke.call("GET", "/api/v1/auth/me", token=member_token)["status"] == 401,
        "reset ends sessions",
    )
    after = smoke.call("POST", "/vcode/auth/login", {"username": g, "password": "NewPass456"})
    expect(after["code"] == 0, "login with the new password")

    # An operator disables the first user.
    admin.update_user(user["id"], {**admin.get_user(user["id"]), "enabled": False})
    disabled = smoke.call("POST", "/vcode/auth/login", {"username": a, "password": PASSWORD})
    expect_error(disabled, 403, "ACCOUNT_DISABLED")

    expect_error(smoke.call("POST", "/vcode/auth/nothing", {}), 404, "NOT_FOUND")
    document = requests.get(f"{smoke.base}/vcode/openapi.json", timeout=5).json()
    expect(
        document["openapi"].startswith("3.1") and "/auth/reset-password" in document["paths"],
        "openapi",
    )
    print("vcode flow OK (SERVICE_UNAVAILABLE and UNAUTHORIZED are covered by the tests only)")


if __name__ == "__main__":
    main()
