"""Every contract against a hostile client: bodies no client app sends, tokens and codes carried
from one contract (or purpose) to another, and a client address spoofed with X-Forwarded-For.

README "All contracts": such a body is the contract's own "invalid parameters" answer (never a
framework page, never a 500, never a code sent); a code is scoped to (contract, purpose, phone);
a token is good only for the contract that issued it; rate limits count the real client.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import Services, build_services
from facade.core.codes import CheckResult
from facade.core.models import Registration
from tests.conftest import random_phone, random_username
from tests.contracts.live import random_ip

Check = Callable[[falcon.testing.Result], bool]


def _body(response: falcon.testing.Result) -> Any:
    return response.json if response.content_type.startswith("application/json") else None


@dataclass(frozen=True)
class Shape:
    """How one contract sends a code and words a refusal."""

    prefix: str
    send_path: str
    send_body: Callable[[str], dict[str, Any]]
    invalid: Check
    rate_limited: Check
    #: A refused bearer or refresh token.
    unauthorized: Check


def _captcha_invalid(r: falcon.testing.Result) -> bool:
    return (r.status_code, _body(r)) == (
        400,
        {
            "code": 400,
            "message": "send login code fail",
            "error_info": "Missing required parameters",
        },
    )


def _account_invalid(r: falcon.testing.Result) -> bool:
    body = _body(r) or {}
    if r.status_code == 400:  # account.md's own 400 for a phone of the wrong format
        return body == {"detail": "Invalid phone number format"}
    items = body.get("detail")
    return (
        r.status_code == 422
        and isinstance(items, list)
        and all(set(item) == {"loc", "msg", "type"} and item["loc"][0] == "body" for item in items)
    )


SHAPES = {
    "captcha": Shape(
        "/captcha",
        "/auth/send_captcha",
        lambda phone: {"identifier": phone, "type": "phone"},
        _captcha_invalid,
        lambda r: r.status_code == 429 and _body(r)["error_info"] == "Too many requests",
        lambda r: r.status_code == 401 and _body(r)["message"] == "Invalid refresh token",
    ),
    "vcode": Shape(
        "/vcode",
        "/auth/verification-code",
        lambda phone: {"phone": phone, "type": "login"},
        lambda r: r.status_code == 400 and _body(r)["error"]["type"] == "VALIDATION_ERROR",
        lambda r: r.status_code == 429 and _body(r)["error"]["type"] == "RATE_LIMITED",
        lambda r: r.status_code == 401 and _body(r)["error"]["type"] == "UNAUTHORIZED",
    ),
    "member": Shape(
        "/api/v1",
        "/auth/sms/send",
        lambda phone: {"phone": phone, "code_type": "login"},
        lambda r: (
            r.status_code == 400
            and _body(r)["code"] == 400
            and _body(r)["data"] is None
            and _body(r)["message"].startswith(("参数错误", "手机号格式错误"))
        ),
        lambda r: r.status_code == 429 and _body(r)["message"] == "发送过于频繁",
        lambda r: r.status_code == 401 and _body(r)["code"] == 401,
    ),
    "customer": Shape(
        "/api/app/customer/v1",
        "/user/verify/sms",
        lambda phone: {"phone": phone, "type": "register"},
        lambda r: (
            (r.status_code, _body(r))
            == (
                200,
                {"code": 10001, "message": "invalid parameters", "data": None},
            )
        ),
        lambda r: r.status_code == 200 and _body(r)["code"] == 10008,
        lambda r: (
            (r.status_code, _body(r))
            == (
                200,
                {"code": 10003, "message": "invalid token", "data": None},
            )
        ),
    ),
    "account": Shape(
        "/account",
        "/send-code",
        lambda phone: {"phone": phone},
        _account_invalid,
        lambda r: (r.status_code, _body(r)) == (429, {"detail": "Too many requests"}),
        lambda r: (r.status_code, _body(r)) == (401, {"detail": "Could not validate credentials"}),
    ),
}
CONTRACTS = sorted(SHAPES)


@dataclass
class Facade:
    http: falcon.testing.TestClient
    services: Services

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        remote_addr: str | None = None,
        forwarded_for: str | None = None,
    ) -> falcon.testing.Result:
        headers = {"X-Forwarded-For": forwarded_for or random_ip()}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.simulate_request(
            method, path, json=body, headers=headers, remote_addr=remote_addr
        )

    def outbox(self, target: str) -> list[dict[str, Any]]:
        response = self.http.simulate_get("/_dev/outbox", params={"to": target})
        assert response.status_code == 200, response.text
        return list(response.json["messages"])


def _facade(settings) -> Facade:
    services = build_services(settings)
    return Facade(falcon.testing.TestClient(create_app(settings, services)), services)


@pytest.fixture
def facade(settings) -> Facade:
    return _facade(settings)


# --- bodies no client app sends ---------------------------------------------------------------


def _hostile_bodies(send_body: dict[str, Any], phone_field: str) -> dict[str, tuple[bytes, Any]]:
    """name -> (raw body, Content-Type): each must be invalid parameters and send nothing."""
    as_json = json.dumps(send_body).encode()

    def with_phone(raw_phone: str) -> bytes:
        # Written by hand: json.dumps would refuse nothing, but keep the escapes as sent.
        text = json.dumps({**send_body, phone_field: "PHONE"})
        return text.replace('"PHONE"', raw_phone).encode()

    deep: Any = "x"
    for _ in range(17):
        deep = [deep]
    return {
        "form_encoded": (
            b"&".join(f"{k}={v}".encode() for k, v in send_body.items()),
            "application/x-www-form-urlencoded",
        ),
        "json_as_text_plain": (as_json, "text/plain"),
        "no_content_type": (as_json, None),
        "over_64_kib": (
            json.dumps({**send_body, "pad": "a" * 70_000}).encode(),
            "application/json",
        ),
        "nested_17_deep": (json.dumps({**send_body, "pad": deep}).encode(), "application/json"),
        "array_not_object": (json.dumps([send_body]).encode(), "application/json"),
        "not_utf8": (as_json.replace(b'"}', b'\xff"}', 1), "application/json"),
        "phone_as_number": (with_phone(send_body[phone_field]), "application/json"),
        "lone_surrogate": (
            with_phone(f'"{send_body[phone_field][:-1]}\\ud800"'),
            "application/json",
        ),
        "trailing_newline": (with_phone(f'"{send_body[phone_field]}\\n"'), "application/json"),
        "nul_character": (with_phone(f'"{send_body[phone_field]}\\u0000"'), "application/json"),
        "right_to_left_override": (
            with_phone(f'"\\u202e{send_body[phone_field]}"'),
            "application/json",
        ),
    }


HOSTILE = sorted(_hostile_bodies({"phone": "13800138000"}, "phone"))


@pytest.mark.parametrize("kind", HOSTILE)
@pytest.mark.parametrize("slug", CONTRACTS)
def test_a_hostile_body_is_the_contracts_invalid_parameters_and_sends_nothing(facade, slug, kind):
    shape = SHAPES[slug]
    phone = random_phone()
    send_body = shape.send_body(phone)
    phone_field = "identifier" if "identifier" in send_body else "phone"
    raw, content_type = _hostile_bodies(send_body, phone_field)[kind]
    headers = {"X-Forwarded-For": random_ip()}
    if content_type:
        headers["Content-Type"] = content_type
    response = facade.http.simulate_post(shape.prefix + shape.send_path, body=raw, headers=headers)
    assert shape.invalid(response), (response.status_code, response.text)
    assert facade.outbox(phone) == []


@pytest.mark.parametrize("typed", ["+86 {a} {b} {c}", "86{a}{b}{c}", "{a}-{b}-{c}"])
@pytest.mark.parametrize("slug", CONTRACTS)
def test_every_contract_takes_a_phone_as_clients_type_it(facade, slug, typed):
    """README: +86 and 86 prefixes and spaces are accepted; the code goes to the one
    canonical phone."""
    shape = SHAPES[slug]
    phone = random_phone()
    as_typed = typed.format(a=phone[:3], b=phone[3:7], c=phone[7:])
    response = facade.call("POST", shape.prefix + shape.send_path, shape.send_body(as_typed))
    assert response.status_code == 200 and not shape.invalid(response), response.text
    assert [message["target"] for message in facade.outbox(phone)] == [phone]


# --- tokens carried to another contract -------------------------------------------------------

#: Endpoints that take an access token (method, path, body).
BEARER_ROUTES: dict[str, list[tuple[str, str, Any]]] = {
    "member": [
        ("GET", "/api/v1/auth/me", None),
        ("POST", "/api/v1/auth/bind-phone", {"phone": "13800138000", "code": "123456"}),
        ("POST", "/api/v1/auth/logout", None),
    ],
    "customer": [("POST", "/api/app/customer/v1/user/logout", None)],
    "account": [
        ("POST", "/account/complete-registration", {"username": "someone", "phone": "13800138000"}),
        ("GET", "/account/users/me", None),
        ("PUT", "/account/users/me/password", {"old_password": "a", "new_password": "secret-2"}),
        ("PUT", "/account/users/me/username", {"new_username": "someone"}),
        ("POST", "/account/users/me/set-password", {"new_password": "secret-2"}),
        ("GET", "/account/users/me/has-password", None),
        ("POST", "/account/logout", None),
    ],
}


def _refresh(facade: Facade, slug: str, token: str) -> falcon.testing.Result | None:
    """The contract's refresh with ``token``; None where the contract has none."""
    if slug == "captcha":  # the refresh token as a bearer header (README "captcha")
        return facade.call("POST", "/captcha/auth/refresh", token=token)
    if slug in ("member", "customer"):
        path = SHAPES[slug].prefix + ("/auth/refresh" if slug == "member" else "/user/refresh")
        return facade.call("POST", path, {"refresh_token": token})
    return None


def _accepted(facade: Facade, slug: str, access: str, refresh: str) -> bool:
    """The issuing contract takes its own tokens (so the refusals are about the contract)."""
    if slug == "vcode":  # no endpoint takes a vcode token; the facade's own check does
        return facade.services.sessions.authenticate("vcode", access).user is not None
    if slug == "account":
        return facade.call("GET", "/account/users/me", token=access).status_code == 200
    response = _refresh(facade, slug, refresh)
    assert response is not None
    return response.status_code == 200 and _body(response)["code"] in (0, 200)


@pytest.mark.parametrize("issuer", CONTRACTS)
def test_a_token_works_only_in_the_contract_that_issued_it_and_only_as_its_kind(facade, issuer):
    user = facade.services.registrar.register(Registration(phone=random_phone()))
    tokens = facade.services.sessions.sign_in_verified(issuer, user)
    for slug in CONTRACTS:
        unauthorized = SHAPES[slug].unauthorized
        # Another contract's tokens are refused as both kinds; its own refresh token is no
        # access token and its own access token no refresh token.
        as_bearer = [tokens.refresh_token] + ([tokens.access_token] if slug != issuer else [])
        as_refresh = [tokens.access_token] + ([tokens.refresh_token] if slug != issuer else [])
        for method, path, body in BEARER_ROUTES.get(slug, []):
            for token in as_bearer:
                response = facade.call(method, path, body, token=token)
                assert unauthorized(response), (issuer, slug, path, response.text)
        for token in as_refresh:
            refreshed = _refresh(facade, slug, token)
            assert refreshed is None or unauthorized(refreshed), (issuer, slug, refreshed.text)
    assert _accepted(facade, issuer, tokens.access_token, tokens.refresh_token)


# --- codes carried to another contract or purpose ---------------------------------------------


@dataclass(frozen=True)
class Consumer:
    """An endpoint that takes a code: which (contract, purpose) codes it accepts, its body and
    its wrong-code answer."""

    contract: str
    purposes: frozenset[str]
    path: str
    body: Callable[[str, str], dict[str, Any]]
    rejected: Check
    bearer: bool = False


_BAD_CAPTCHA = "Invalid or expired verification code"
_ACCOUNT_REJECTED = ("Invalid verification code", "Verification code expired or not found")
CONSUMERS = (
    Consumer(
        "captcha",
        frozenset({"login"}),
        "/captcha/auth/login",
        lambda p, c: {"identifier": p, "type": "phone", "code": c},
        lambda r: r.status_code == 401 and _body(r)["error_info"] == _BAD_CAPTCHA,
    ),
    Consumer(
        "captcha",
        frozenset({"login"}),
        "/captcha/auth/register",
        lambda p, c: {
            "username": random_username("cap"),
            "identifier": p,
            "type": "phone",
            "code": c,
            "password": "password123",
        },
        lambda r: r.status_code == 400 and _body(r)["error_info"] == _BAD_CAPTCHA,
    ),
    *(
        Consumer(
            "vcode",
            frozenset({purpose}),
            path,
            lambda p, c: {
                "phone": p,
                "code": c,
                "password": "Password123",
                "new_password": "Pw1pw1pw",
            },
            lambda r: r.status_code == 400 and _body(r)["error"]["type"] == "INVALID_CODE",
        )
        for purpose, path in (
            ("login", "/vcode/auth/login/code"),
            ("register", "/vcode/auth/register"),
            ("reset_password", "/vcode/auth/reset-password"),
        )
    ),
    Consumer(
        "member",
        frozenset({"login"}),
        "/api/v1/auth/login/sms",
        lambda p, c: {"phone": p, "code": c},
        lambda r: (r.status_code, _body(r)["message"]) == (400, "验证码错误或已过期"),
    ),
    Consumer(
        "member",
        frozenset({"login", "bind"}),
        "/api/v1/auth/bind-phone",
        lambda p, c: {"phone": p, "code": c},
        lambda r: (r.status_code, _body(r)["message"]) == (400, "验证码错误"),
        bearer=True,
    ),
    Consumer(
        "customer",
        frozenset({"register"}),
        "/api/app/customer/v1/user/register",
        lambda p, c: {
            "phone": p,
            "password": "password123",
            "nickname": "新用户",
            "verify_code": c,
        },
        lambda r: r.status_code == 200 and _body(r)["code"] == 10006,
    ),
    Consumer(
        "customer",
        frozenset({"reset_password"}),
        "/api/app/customer/v1/user/password/reset",
        lambda p, c: {"phone": p, "verify_code": c, "new_password": "password123"},
        lambda r: r.status_code == 200 and _body(r)["code"] == 10006,
    ),
    *(
        Consumer(
            "account",
            frozenset({"login"}),
            path,
            lambda p, c: {"phone": p, "code": c},
            lambda r: r.status_code == 401 and _body(r)["detail"] in _ACCOUNT_REJECTED,
        )
        for path in ("/account/login", "/account/phone-login")
    ),
)
#: Every (contract, purpose) a contract's send endpoint issues codes for.
ISSUED = sorted({(c.contract, p) for c in CONSUMERS for p in c.purposes})


@pytest.mark.parametrize(("contract", "purpose"), ISSUED)
def test_a_code_works_only_for_its_own_contract_and_purpose(facade, contract, purpose):
    phone = random_phone()
    sent = facade.services.codes.send(contract, purpose, "sms", phone, random_ip())
    assert sent.code is not None  # development mode
    # A member account without a phone, for bind-phone.
    wechat_user = facade.services.registrar.register(Registration())
    member_token = facade.services.sessions.sign_in_verified("member", wechat_user).access_token
    for consumer in CONSUMERS:
        if consumer.contract == contract and purpose in consumer.purposes:
            continue
        token = member_token if consumer.bearer else None
        response = facade.call("POST", consumer.path, consumer.body(phone, sent.code), token=token)
        assert consumer.rejected(response), (consumer.path, response.status_code, response.text)
    # None of those tries counted against the code: it is still good where it belongs.
    assert facade.services.codes.check(contract, purpose, phone, sent.code) is CheckResult.OK


# --- X-Forwarded-For from a peer that is no trusted proxy -------------------------------------

#: Codes one client address may ask for in a minute (member.md: 1; the default: 10).
SENDS_PER_MINUTE = {"member": 1, "captcha": 10, "vcode": 10, "customer": 10, "account": 10}


@pytest.mark.parametrize("slug", CONTRACTS)
def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_escape_the_ip_limit(
    settings, slug
):
    untrusted = _facade(dataclasses.replace(settings, trusted_proxies=()))
    shape = SHAPES[slug]
    peer = f"198.51.100.{secrets.randbelow(254) + 1}"
    answers = [
        untrusted.call(
            "POST",
            shape.prefix + shape.send_path,
            shape.send_body(random_phone()),
            remote_addr=peer,
            forwarded_for=random_ip(),  # a new address each time, believed by nobody
        )
        for _ in range(SENDS_PER_MINUTE[slug] + 1)
    ]
    assert all(a.status_code == 200 and not shape.rate_limited(a) for a in answers[:-1])
    assert shape.rate_limited(answers[-1]), answers[-1].text
    assert int(answers[-1].headers["Retry-After"]) > 0


@pytest.mark.parametrize("slug", CONTRACTS)
def test_a_phone_gets_one_code_a_minute_whatever_address_asks(facade, slug):
    shape = SHAPES[slug]
    phone = random_phone()
    first, second = (
        facade.call("POST", shape.prefix + shape.send_path, shape.send_body(phone))
        for _ in range(2)
    )
    assert first.status_code == 200 and not shape.rate_limited(first), first.text
    assert shape.rate_limited(second), second.text
    assert len(facade.outbox(phone)) == 1
