"""Walk account.md's client flows against a running development facade (``make dev``).

Register with a phone (stored unverified), sign in by password, read /users/me; then the phone's
real holder signs in by code and the proof wins (the registrant's password and token stop
working); the holder completes registration, sets a password, changes it and the username, and
logs out, after which the token is refused. Then /phone-login refuses an unknown phone and
/login by code creates a phone-only user. Codes come from the development outbox. Exits
non-zero at the first step that does not answer as documented.

    python3 scripts/account_smoke.py --base-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from typing import Any

import requests


class Client:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def call(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.request(
            method, f"{self.base}/account{path}", json=body, headers=headers, timeout=10
        )
        print(f"{method} /account{path} -> {response.status_code} {response.text[:160]}")
        return response.status_code, response.json()

    def code(self, phone: str) -> str:
        status, _ = self.call("POST", "/send-code", {"phone": phone})
        expect(status == 200, "send-code")
        outbox = requests.get(f"{self.base}/_dev/outbox", params={"to": phone}, timeout=5).json()
        return str(outbox["messages"][0]["code"])


def expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    api = Client(parser.parse_args().base_url)
    phone = f"139{secrets.randbelow(10**8):08d}"
    name = f"smoke{secrets.token_hex(4)}"

    status, user = api.call(
        "POST", "/register", {"username": name, "phone": phone, "password": "squat-pw"}
    )
    expect(status == 200 and user["phone_verified"] is False, "register (phone unverified)")
    expect(api.call("POST", "/check-username", {"username": name.upper()})[1]["exists"], "check")
    status, again = api.call(
        "POST", "/register", {"username": name, "phone": phone, "password": "squat-pw"}
    )
    expect(status == 400 and isinstance(again["detail"], str), "register again is 400")
    status, invalid = api.call("POST", "/login", {})
    expect(status == 422 and len(invalid["detail"]) == 4, "login {} lists four missing fields")
    status, signed_in = api.call("POST", "/login", {"username": name, "password": "squat-pw"})
    bearer = signed_in["token_type"] == "bearer"  # noqa: S105  # the token type, no secret
    expect(status == 200 and bearer, "login by password")
    squatter = signed_in["access_token"]
    expect(api.call("GET", "/users/me", token=squatter)[1]["username"] == name, "users/me")

    # The phone's holder proves it by code: the proof wins over the registration.
    status, owner = api.call("POST", "/phone-login", {"phone": phone, "code": api.code(phone)})
    expect(status == 200, "phone-login of the registered phone")
    token = owner["access_token"]
    expect(api.call("GET", "/users/me", token=squatter)[0] == 401, "registrant's token refused")
    status, _ = api.call("POST", "/login", {"username": name, "password": "squat-pw"})
    expect(status == 401, "registrant's password removed")
    time.sleep(1.1)  # Keycloak's brute-force check may refuse a right password right after
    expect(not api.call("GET", "/users/me/has-password", token=token)[1]["has_password"], "has")

    new_name = f"owner{secrets.token_hex(4)}"
    status, completed = api.call(
        "POST",
        "/complete-registration",
        {"username": new_name, "phone": phone, "email": f"{new_name}@example.com"},
        token,
    )
    expect(status == 200 and completed["email_verified"] is False, "complete-registration")
    status, _ = api.call("POST", "/users/me/set-password", {"new_password": "owner-pw"}, token)
    expect(status == 200, "set-password")
    status, _ = api.call(
        "PUT",
        "/users/me/password",
        {"old_password": "owner-pw", "new_password": "owner-pw2"},
        token,
    )
    expect(status == 200, "change password")
    final = f"final{secrets.token_hex(4)}"
    expect(api.call("PUT", "/users/me/username", {"new_username": final}, token)[0] == 200, "name")
    status, _ = api.call("POST", "/login", {"username": phone, "password": "owner-pw2"})
    expect(status == 200, "login by phone and the new password")
    status, other = api.call("POST", "/login", {"username": final, "password": "owner-pw2"})
    expect(status == 200, "login by the new username")
    expect(api.call("POST", "/logout", token=token)[0] == 200, "logout")
    expect(api.call("GET", "/users/me", token=token)[0] == 401, "token refused after logout")
    expect(api.call("GET", "/users/me", token=other["access_token"])[0] == 200, "other session")

    fresh = f"139{secrets.randbelow(10**8):08d}"
    status, _ = api.call("POST", "/phone-login", {"phone": fresh, "code": api.code(fresh)})
    expect(status == 404, "phone-login never creates a user")
    newcomer = f"139{secrets.randbelow(10**8):08d}"
    status, created = api.call("POST", "/login", {"phone": newcomer, "code": api.code(newcomer)})
    expect(status == 200, "login by code creates a phone-only user")
    status, me = api.call("GET", "/users/me", token=created["access_token"])
    expect(me["username"] == newcomer and me["has_password"] is False, "phone-only user")
    print("account flow OK")


if __name__ == "__main__":
    main()
