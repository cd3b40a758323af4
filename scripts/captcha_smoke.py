"""Walk captcha.md's client flow against a running development stack (``make dev``).

Reproduces every example of the document, each documented error included: codes by phone and
by email (read from the dev outbox), registration, password and code login, refresh (with a
member token refused), and the same person signing in to member by SMS with the same id.
Exits non-zero at the first step that does not answer as documented.

    python3 scripts/captcha_smoke.py [--base-url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

import requests
from keycloak import KeycloakAdmin

PASSWORD = "password123"  # noqa: S105  # the document's own example password
WRONG_PASSWORD = PASSWORD + "-wrong"
NOT_A_TOKEN = "not-a-token"  # noqa: S105


class Walk:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def call(self, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
        headers = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.post(self.base + path, json=body, headers=headers, timeout=10)
        print(f"POST {path} -> {response.status_code} {response.text[:150]}")
        return {"http": response.status_code, **response.json()}

    def captcha(self, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
        answer = self.call("/captcha" + path, body, token)
        # captcha.md: HTTP status equals the body code, except 204 (carried in HTTP 200).
        expect(answer["http"] == (200 if answer["code"] == 204 else answer["code"]), "status")
        return answer

    def outbox_code(self, target: str) -> str:
        url = f"{self.base}/_dev/outbox"
        messages = requests.get(url, params={"to": target}, timeout=5).json()["messages"]
        return str(messages[0]["code"])

    def send(self, identifier: str, kind: str) -> dict[str, Any]:
        return self.captcha("/auth/send_captcha", {"identifier": identifier, "type": kind})

    def register(self, identifier: str, kind: str, code: str, username: str) -> dict[str, Any]:
        body = {
            "username": username,
            "identifier": identifier,
            "type": kind,
            "code": code,
            "password": PASSWORD,
        }
        return self.captcha("/auth/register", body)

    def login(self, identifier: str, kind: str, **proof: str) -> dict[str, Any]:
        return self.captcha("/auth/login", {"identifier": identifier, "type": kind, **proof})

    def member_login(self, phone: str) -> dict[str, Any]:
        sent = self.call("/api/v1/auth/sms/send", {"phone": phone, "code_type": "login"})
        expect(sent["code"] == 0, "member sms/send")
        login = self.call(
            "/api/v1/auth/login/sms", {"phone": phone, "code": self.outbox_code(phone)}
        )
        expect(login["code"] == 0, "member login/sms")
        return dict(login["data"])


def phone() -> str:
    return f"139{secrets.randbelow(10**8):08d}"


def email() -> str:
    return f"smoke.{secrets.token_hex(4)}@Example.com"


def username() -> str:
    return f"smoke{secrets.token_hex(4)}"


def expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {what}")


def fail(message: str, info: str, code: int) -> dict[str, Any]:
    return {"http": code, "code": code, "message": message, "error_info": info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--keycloak-url", default="http://127.0.0.1:8080")
    args = parser.parse_args()
    walk = Walk(args.base_url)
    missing = "Missing required parameters"
    bad_code = "Invalid or expired verification code"

    # 1. send_captcha: first use (phone), documented 400.
    mobile = phone()
    first = walk.send(mobile, "phone")
    expect(first["code"] == 200 and first["message"] == "phone first use", "first use")
    expect(first["is_first_use"] is True and first["captcha"] == walk.outbox_code(mobile), "code")
    expect(walk.send("", "phone") == fail("send login code fail", missing, 400), "send 400")

    # 2. register: success, missing parameters, wrong code, user exists (username).
    name = username()
    created = walk.register(mobile, "phone", first["captcha"], name)
    expect(created["code"] == 201 and created["message"] == "create user success", "register")
    user_id = created["user_id"]
    expect(isinstance(user_id, int), "user_id is an integer")
    expect(
        walk.captcha("/auth/register", {"identifier": mobile})
        == fail("create user fail", missing, 400),
        "register 400 missing",
    )
    other = phone()
    code = walk.send(other, "phone")["captcha"]
    taken = walk.register(other, "phone", code, name)
    expect(taken == fail("create user fail", "User with this username already exists", 400), "name")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    expect(
        walk.register(other, "phone", wrong, username()) == fail("create user fail", bad_code, 400),
        "register wrong code",
    )
    expect(walk.register(other, "phone", code, username())["code"] == 201, "code still usable")

    # Email: first use, register with a mixed-case address, password login in another case.
    address = email()
    sent = walk.send(address, "email")
    expect(sent["message"] == "email first use", "email first use")
    by_email = walk.register(address, "email", walk.outbox_code(address.lower()), username())
    expect(by_email["code"] == 201, "register by email")
    login = walk.login(address.upper(), "email", password=PASSWORD)
    expect(login["message"] == "user login success", "email login")
    expect(login["user_id"] == by_email["user_id"], "email login user_id")

    # 3. login: by password, and each documented error.
    login = walk.login(mobile, "phone", password=PASSWORD)
    expect(login["code"] == 200 and login["user_id"] == user_id, "password login")
    expect(
        walk.login(phone(), "phone", password=PASSWORD)
        == fail("user login fail", "User not found", 401),
        "login unknown",
    )
    expect(
        walk.login(mobile, "phone", password=WRONG_PASSWORD)
        == fail("user login fail", "Invalid password", 401),
        "login wrong password",
    )
    expect(walk.login(mobile, "phone") == fail("user login fail", missing, 401), "login missing")

    # 4. refresh: rotates; an invalid token and a member token are refused.
    refreshed = walk.captcha("/auth/refresh", token=login["refresh_token"])
    expect(refreshed["message"] == "token refreshed", "refresh")
    expect(refreshed["refresh_token"] != login["refresh_token"], "refresh rotates")
    invalid = walk.captcha("/auth/refresh", token=NOT_A_TOKEN)
    expect(invalid["code"] == 401 and invalid["message"] == "Invalid refresh token", "refresh 401")

    # The same person in member: SMS sign-in finds the captcha user, with the same integer id.
    member = walk.member_login(mobile)
    expect(member["is_new_user"] is False and member["user"]["id"] == user_id, "member same id")
    foreign = walk.captcha("/auth/refresh", token=member["token"]["refresh_token"])
    expect(foreign["message"] == "Invalid refresh token", "member token refused")

    # A member user: captcha sees it as known (204), a wrong code then the right one signs in.
    known = phone()
    member_user = walk.member_login(known)
    again = walk.send(known, "phone")
    expect(again["code"] == 204 and "is_first_use" not in again, "204 for a known phone")
    code = walk.outbox_code(known)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    expect(
        walk.login(known, "phone", code=wrong) == fail("user login fail", bad_code, 401),
        "login wrong code",
    )
    by_code = walk.login(known, "phone", code=code)
    expect(by_code["user_id"] == member_user["user"]["id"], "code login, same id as member")

    # Code login never creates a user.
    stranger = phone()
    walk.send(stranger, "phone")
    expect(
        walk.login(stranger, "phone", code=walk.outbox_code(stranger))
        == fail("user login fail", "User not found", 401),
        "code login of an unknown phone",
    )

    # User exists, by phone (a member user) and by email (made in the admin console).
    taken_phone = phone()
    walk.member_login(taken_phone)
    code = walk.send(taken_phone, "phone")["captcha"]
    expect(
        walk.register(taken_phone, "phone", code, username())
        == fail("create user fail", "User with this phone already exists", 400),
        "phone exists",
    )
    admin = KeycloakAdmin(
        server_url=args.keycloak_url.rstrip("/") + "/",
        username="admin",
        password="admin",  # noqa: S106  # the development stack's bootstrap administrator
        realm_name="facade",
        user_realm_name="master",
    )
    console_email = email().lower()
    admin.create_user(
        {"username": username(), "email": console_email, "emailVerified": True, "enabled": True}
    )
    code = walk.send(console_email, "email")["captcha"]
    expect(
        walk.register(console_email, "email", code, username())
        == fail("create user fail", "User with this email already exists", 400),
        "email exists",
    )

    openapi = requests.get(f"{walk.base}/captcha/openapi.json", timeout=5)
    expect(openapi.status_code == 200 and openapi.json()["openapi"] == "3.1.0", "openapi.json")
    print("captcha flow OK")


if __name__ == "__main__":
    main()
