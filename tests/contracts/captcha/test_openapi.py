"""The captcha contract's OpenAPI 3.1 document: served, valid, complete, and true to the server."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from facade.contracts.captcha import contract
from facade.contracts.kit.openapi import build_document
from tests.contracts.captcha.conftest import random_email
from tests.contracts.live import operations, served_document, validator_for

FOUR = {
    ("post", "/auth/send_captcha"),
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/refresh"),
}


@pytest.fixture
def document(client) -> dict:
    return served_document(client, "/captcha")


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []


def test_it_lists_exactly_the_four_endpoints_and_is_what_the_server_serves(document):
    assert {(method, path) for method, path, _ in operations(document)} == FOUR
    assert document["servers"] == [{"url": "/captcha"}]
    assert document == build_document(contract, "/captcha")  # what schemathesis tests


def test_swagger_ui_is_served(client):
    response = client.simulate_get("/captcha/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/auth/send_captcha", {"200", "400", "429", "503"}),
        ("/auth/register", {"201", "400", "429", "503"}),
        ("/auth/login", {"200", "401", "429", "503"}),
        ("/auth/refresh", {"200", "401", "503"}),
    ],
)
def test_each_endpoint_documents_every_status_it_can_answer(document, path, statuses):
    (operation,) = document["paths"][path].values()
    assert set(operation["responses"]) == statuses


def test_refresh_takes_the_refresh_token_as_a_bearer_header_and_no_body(document):
    refresh = document["paths"]["/auth/refresh"]["post"]
    assert refresh["security"] == [{"bearerAuth": []}]
    assert "requestBody" not in refresh
    guarded = {path for _, path, op in operations(document) if op.get("security")}
    assert guarded == {"/auth/refresh"}


def test_every_error_body_is_code_message_error_info_with_code_equal_to_the_status(document):
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                continue
            content = response["content"]["application/json"]
            validator = validator_for(document, content["schema"])
            for example in content["examples"].values():
                validator.validate(example["value"])
                assert example["value"]["code"] == int(status)
            with pytest.raises(jsonschema.ValidationError):
                validator.validate({"code": 999, "message": "x", "error_info": "y"})
            if status == "429":
                assert response["headers"]["Retry-After"]["$ref"].endswith("/RetryAfter")


def test_the_documented_error_strings_are_listed(document):
    def infos(path: str, status: str) -> set[str]:
        (operation,) = document["paths"][path].values()
        examples = operation["responses"][status]["content"]["application/json"]["examples"]
        return {example["value"]["error_info"] for example in examples.values()}

    assert infos("/auth/send_captcha", "400") >= {"Missing required parameters"}
    assert infos("/auth/register", "400") >= {
        "Missing required parameters",
        "Invalid or expired verification code",
        "User with this username already exists",
        "User with this phone already exists",
        "User with this email already exists",
    }
    assert infos("/auth/login", "401") >= {
        "Missing required parameters",
        "Invalid or expired verification code",
        "User not found",
        "Invalid password",
    }


def test_the_identifier_shape_follows_its_type(document):
    schemas = document["components"]["schemas"]
    send = schemas["SendCaptchaRequest"]
    assert send["discriminator"]["propertyName"] == "type"
    assert set(send["discriminator"]["mapping"]) == {"phone", "email"}
    assert schemas["PhoneIdentifier"]["properties"]["identifier"]["pattern"].startswith("^")
    assert schemas["EmailIdentifier"]["properties"]["identifier"]["format"] == "email"
    assert set(schemas["RegisterByEmail"]["required"]) == {
        "identifier",
        "type",
        "username",
        "code",
        "password",
    }
    assert set(schemas["LoginByEmail"]["required"]) == {"identifier", "type"}


def test_the_examples_fit_their_own_schemas(document):
    for _, _, operation in operations(document):
        request = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if request:
            validator_for(document, request["schema"]).validate(request["example"])
        status = "201" if "201" in operation["responses"] else "200"
        success = operation["responses"][status]["content"]["application/json"]
        validator_for(document, success["schema"]).validate(success["example"])


def test_real_answers_fit_the_documented_bodies(captcha):
    document = build_document(contract, "/captcha")

    def check(path: str, status: int, response) -> dict:
        assert response.status_code == status, response.text
        documented = document["paths"][path]["post"]["responses"][str(status)]
        schema = documented["content"]["application/json"]["schema"]
        validator_for(document, schema).validate(response.json)
        return response.json

    email = "Doc." + random_email()
    check("/auth/send_captcha", 200, captcha.send(email, "email"))
    code = captcha.outbox_code(email)
    registered = captcha.post(
        "/auth/register",
        {
            "username": "doc" + email.split("@")[0][-12:],
            "identifier": email,
            "type": "email",
            "code": code,
            "password": "password123",
        },
    )
    check("/auth/register", 201, registered)
    captcha.allow_resend(email.lower())
    check("/auth/send_captcha", 200, captcha.send(email, "email"))  # 204 in an HTTP 200
    login = check("/auth/login", 200, captcha.login(email, "email", password="password123"))
    check("/auth/refresh", 200, captcha.post("/auth/refresh", token=login["refresh_token"]))
    check("/auth/refresh", 401, captcha.post("/auth/refresh", token="nope"))
    check("/auth/login", 401, captcha.login(email, "email", password="wrong-password"))
    check("/auth/register", 400, captcha.post("/auth/register", {}))
    check("/auth/send_captcha", 400, captcha.send(email, "phone"))
