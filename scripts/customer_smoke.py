"""Walk customer.md's client flow against a running development stack (``make dev``).

Every example of customer.md in order (send a register code, register, log in, refresh, log
out, reset a password) plus one answer of each business error code a client can provoke, all
as HTTP 200 with ``{code, message, data}``. Codes come from ``GET /_dev/outbox``. The reset is
done for a person who signed up through member's app, which shows the shared ``user_id`` too.
Exits non-zero at the first step that does not answer as documented.

    python3 scripts/customer_smoke.py --base-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

import requests

PREFIX = "/api/app/customer/v1"
PASSWORD = "password123"  # noqa: S105 - the document's example password


def random_phone() -> str:
    return f"139{secrets.randbelow(10**8):08d}"


class Smoke:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")

    def post(self, path: str, body: object = None, token: str | None = None) -> dict[str, Any]:
        """A customer call from an address of its own; every documented answer is HTTP 200."""
        headers = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = self.base + (path if path.startswith("/api/v1") else PREFIX + path)
        response = requests.post(url, json=body, headers=headers, timeout=15)
        print(f"POST {path} -> {response.status_code} {response.text[:150]}")
        expect(response.status_code == 200, f"{path} answered HTTP {response.status_code}")
        answer: dict[str, Any] = response.json()
        return answer

    def code(self, phone: str) -> str:
        outbox = requests.get(f"{self.base}/_dev/outbox", params={"to": phone}, timeout=5)
        expect(outbox.status_code == 200, "GET /_dev/outbox (is the facade in development mode?)")
        return str(outbox.json()["messages"][0]["code"])

    def refused(self, path: str, body: object, code: int, token: str | None = None) -> None:
        answer = self.post(path, body, token)
        expect(answer["code"] == code and answer["data"] is None, f"{path} answers {code}")


def expect(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"FAILED: {what}")


def session_data(answer: dict[str, Any], what: str) -> dict[str, Any]:
    expect(answer["code"] == 0 and answer["message"] == "success", what)
    data: dict[str, Any] = answer["data"]
    expect(set(data) == {"token", "user_id", "expires_in", "refresh_token"}, f"{what} data")
    expect(isinstance(data["user_id"], int) and data["expires_in"] == 86400, f"{what} values")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    smoke = Smoke(parser.parse_args().base_url)

    openapi = requests.get(f"{smoke.base}{PREFIX}/openapi.json", timeout=5)
    expect(openapi.status_code == 200 and openapi.json()["openapi"] == "3.1.0", "openapi.json")

    # 四、发送短信验证码 and 二、用户注册
    phone = random_phone()
    sent = smoke.post("/user/verify/sms", {"phone": phone, "type": "register"})
    expect(sent == {"code": 0, "message": "success", "data": {"expires_in": 300}}, "verify/sms")
    smoke.refused("/user/verify/sms", {"phone": phone, "type": "register"}, 10008)
    code = smoke.code(phone)
    body = {"phone": phone, "password": PASSWORD, "nickname": "新用户", "verify_code": code}
    smoke.refused(
        "/user/register", {**body, "verify_code": "000000" if code != "000000" else "1" * 6}, 10006
    )
    registered = session_data(smoke.post("/user/register", body), "register")
    smoke.refused("/user/register", body, 10006)  # the code was used
    smoke.refused("/user/register", {**body, "nickname": "新"}, 10001)

    # 一、用户登录
    login = session_data(smoke.post("/user/login", {"phone": phone, "password": PASSWORD}), "login")
    expect(login["user_id"] == registered["user_id"], "login is the registered user")
    smoke.refused("/user/login", {"phone": phone, "password": "wrong-password"}, 10002)
    smoke.refused("/user/login", {"phone": random_phone(), "password": PASSWORD}, 10004)
    smoke.refused("/user/login", {"phone": "12800138000", "password": PASSWORD}, 10001)

    # 五、刷新令牌 and 三、用户登出
    refreshed = smoke.post("/user/refresh", {"refresh_token": login["refresh_token"]})
    expect(refreshed["code"] == 0, "refresh")
    expect(set(refreshed["data"]) == {"token", "refresh_token", "expires_in"}, "refresh data")
    out = smoke.post("/user/logout", token=refreshed["data"]["token"])
    expect(out == {"code": 0, "message": "success", "data": None}, "logout")
    smoke.refused("/user/logout", None, 10003, token=refreshed["data"]["token"])
    smoke.refused("/user/refresh", {"refresh_token": refreshed["data"]["refresh_token"]}, 10003)

    # 六、忘记密码, for a person who signed up with member's app: the same user_id here.
    other = random_phone()
    smoke.refused("/user/verify/sms", {"phone": other, "type": "reset_password"}, 10004)
    smoke.post("/api/v1/auth/sms/send", {"phone": other, "code_type": "login"})
    member = smoke.post("/api/v1/auth/login/sms", {"phone": other, "code": smoke.code(other)})
    expect(member["code"] == 0, "member sign-up")
    smoke.refused("/user/verify/sms", {"phone": other, "type": "register"}, 10007)
    reset_sent = smoke.post("/user/verify/sms", {"phone": other, "type": "reset_password"})
    expect(reset_sent["code"] == 0, "verify/sms reset_password")
    reset = {"phone": other, "verify_code": smoke.code(other), "new_password": "newpass123"}
    expect(smoke.post("/user/password/reset", reset)["data"] is None, "password/reset")
    again = smoke.post("/user/login", {"phone": other, "password": "newpass123"})
    expect(
        session_data(again, "login after reset")["user_id"] == member["data"]["user"]["id"],
        "shared user_id",
    )
    smoke.refused("/user/login", {"phone": other, "password": PASSWORD}, 10002)
    print("customer flow OK")


if __name__ == "__main__":
    main()
