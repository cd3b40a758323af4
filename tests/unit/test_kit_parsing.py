"""``parse(req, Model)``: JSON bodies into declared models, every failure one InvalidInput."""

from __future__ import annotations

import json
from typing import Annotated, Literal

import falcon
import falcon.testing
import pytest

from facade.contracts.kit import parse
from facade.contracts.kit.fields import Bounded, Code, Email, HttpUrl, Phone, RequestModel, Rule
from facade.contracts.kit.parsing import MAX_BODY_BYTES, MAX_DEPTH
from facade.core.errors import InvalidInput
from facade.core.passwords import STRONG_RULE


class Body(RequestModel):
    phone: Phone
    code: Code
    email: Email | None = None
    nickname: Annotated[str, Bounded(8, 2)] | None = None
    avatar: HttpUrl | None = None
    password: Annotated[str, Rule(STRONG_RULE)] | None = None
    kind: Literal["login", "bind"] = "login"


class Echo:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            resp.media = {"ok": parse(req, Body).model_dump()}
        except InvalidInput as error:
            resp.status = falcon.HTTP_400
            resp.media = {"field": error.field, "errors": list(error.errors)}


@pytest.fixture
def client() -> falcon.testing.TestClient:
    app = falcon.App()
    app.add_route("/echo", Echo())
    return falcon.testing.TestClient(app)


def post(client, body=None, **kwargs):
    return client.simulate_post("/echo", json=body, **kwargs)


def test_a_valid_body_is_canonicalised(client):
    response = post(
        client, {"phone": "+86 138 0013 8000", "code": "123456", "email": "A@Example.COM"}
    )
    assert response.status_code == 200, response.text
    assert response.json["ok"]["phone"] == "13800138000"
    assert response.json["ok"]["email"] == "a@example.com"


def test_every_failing_field_is_listed_in_pydantic_shape(client):
    response = post(client, {"phone": "12345", "code": 123456, "kind": "other"})
    assert response.status_code == 400
    errors = {tuple(e["loc"]): e for e in response.json["errors"]}
    assert set(errors) == {("phone",), ("code",), ("kind",)}
    assert errors[("code",)]["type"] == "string_type"  # strict: a number is not a code
    assert all(set(e) == {"loc", "msg", "type"} for e in response.json["errors"])
    missing = post(client, {})
    assert {e["type"] for e in missing.json["errors"]} == {"missing"}
    assert missing.json["errors"][0]["msg"] == "Field required"


def test_a_form_encoded_body_is_invalid_never_a_sign_in(client):
    response = client.simulate_post(
        "/echo",
        body="phone=13800138000&code=123456",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json["errors"][0]["type"] == "content_type"


@pytest.mark.parametrize(
    ("raw", "error_type"),
    [
        ("", "missing"),
        ("not json", "json_invalid"),
        ("[1, 2]", "model_type"),
        ('"text"', "model_type"),
        ("[" * 30_000 + "]" * 30_000, "json_invalid"),  # RecursionError inside json.loads
        ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "too_deep"),
    ],
)
def test_malformed_and_hostile_json_is_invalid_input_not_a_500(client, raw, error_type):
    response = client.simulate_post("/echo", body=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json["errors"][0]["type"] == error_type


def test_an_oversized_body_is_refused_before_it_is_parsed(client):
    raw = '{"phone": "' + "1" * MAX_BODY_BYTES + '"}'
    response = client.simulate_post("/echo", body=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["errors"][0]["type"] == "too_large"


@pytest.mark.parametrize("nickname", ["ab\ud800", "ab\x00c", "a\x1bb"])
def test_lone_surrogates_and_control_characters_are_refused(client, nickname):
    raw = json.dumps({"phone": "13800138000", "code": "123456", "nickname": nickname})
    response = client.simulate_post("/echo", body=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["field"] == "nickname"


def test_length_counts_utf16_units_as_keycloak_does(client):
    fits = post(client, {"phone": "13800138000", "code": "123456", "nickname": "😀😀😀😀"})
    assert fits.status_code == 200  # 4 emoji = 8 UTF-16 units
    too_long = post(client, {"phone": "13800138000", "code": "123456", "nickname": "😀😀😀😀a"})
    assert too_long.status_code == 400
    assert too_long.json["errors"][0]["type"] == "string_length"


@pytest.mark.parametrize(
    "avatar", ["javascript:alert(1)", "https://a b", "https://a\x00b", "ftp://x"]
)
def test_urls_must_be_http_without_whitespace_or_nul(client, avatar):
    response = post(client, {"phone": "13800138000", "code": "123456", "avatar": avatar})
    assert response.status_code == 400
    assert response.json["field"] == "avatar"


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Password123", True),
        ("password123", False),
        ("PASSWORD123", False),
        ("Passwordxx", False),
        ("Pa1", False),
    ],
)
def test_a_password_rule_is_a_field_type(client, password, accepted):
    response = post(client, {"phone": "13800138000", "code": "123456", "password": password})
    assert (response.status_code == 200) is accepted, response.text
    if not accepted:
        assert response.json["errors"][0]["type"] == "weak_password"
