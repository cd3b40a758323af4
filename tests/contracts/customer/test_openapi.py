"""The customer contract's OpenAPI 3.1 document: served, valid, complete, and true to the server.

Every documented outcome is HTTP 200, so each operation has one response whose schema is
``oneOf`` the success body and the error body narrowed to the codes that endpoint answers.
"""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from facade.contracts.customer import contract
from facade.contracts.kit.openapi import build_document
from tests.conftest import random_phone
from tests.contracts.customer.conftest import PREFIX
from tests.contracts.live import operations, served_document, validator_for

SIX = {
    ("post", "/user/login"),
    ("post", "/user/register"),
    ("post", "/user/logout"),
    ("post", "/user/verify/sms"),
    ("post", "/user/refresh"),
    ("post", "/user/password/reset"),
}
CODES = {
    "/user/login": {10001, 10002, 10004, 10005, 10008, 10009},
    "/user/register": {10001, 10005, 10006, 10007, 10008, 10009},
    "/user/logout": {10003, 10009},
    "/user/verify/sms": {10001, 10004, 10007, 10008, 10009},
    "/user/refresh": {10001, 10003, 10009},
    "/user/password/reset": {10001, 10004, 10005, 10006, 10008, 10009},
}


@pytest.fixture
def document(client) -> dict:
    return served_document(client, PREFIX)


def only_response(operation: dict) -> dict:
    assert set(operation["responses"]) == {"200"}
    return operation["responses"]["200"]["content"]["application/json"]


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []


def test_it_lists_the_six_endpoints_under_the_documented_base_url(document):
    assert {(method, path) for method, path, _ in operations(document)} == SIX
    assert document["servers"] == [{"url": PREFIX}]
    assert document == build_document(contract, PREFIX)  # what schemathesis tests is served


def test_swagger_ui_is_served_beside_the_document(client):
    page = client.simulate_get(f"{PREFIX}/docs")
    assert page.status_code == 200
    assert f"{PREFIX}/openapi.json" in page.text


def test_only_logout_needs_a_bearer_token(document):
    guarded = {path for _, path, op in operations(document) if op.get("security")}
    assert guarded == {"/user/logout"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize(("path", "codes"), sorted(CODES.items()))
def test_every_answer_is_http_200_with_the_codes_of_that_endpoint(document, path, codes):
    media = only_response(document["paths"][path]["post"])
    success, failure = media["schema"]["oneOf"]
    assert success["$ref"].startswith("#/components/schemas/")
    reference, narrowed = failure["allOf"]
    assert reference == {"$ref": "#/components/schemas/Error"}
    assert set(narrowed["properties"]["code"]["enum"]) == codes
    shown = {example["value"]["code"] for example in media["examples"].values()}
    assert shown == {0, *codes}


def test_every_example_fits_exactly_one_branch(document):
    for _, _, operation in operations(document):
        media = only_response(operation)
        whole = validator_for(document, media["schema"])
        success = validator_for(document, media["schema"]["oneOf"][0])
        for name, example in media["examples"].items():
            whole.validate(example["value"])
            assert success.is_valid(example["value"]) == (name == "success"), name
        request = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if request:
            validator_for(document, request["schema"]).validate(request["example"])


def test_undocumented_codes_and_shapes_are_refused_by_the_schema(document):
    media = only_response(document["paths"]["/user/logout"]["post"])
    validator = validator_for(document, media["schema"])
    for body in (
        {"code": 10001, "message": "invalid parameters", "data": None},  # logout takes no body
        {"code": 0, "message": "success", "data": {"token": "x"}},
        {"code": 500, "message": "internal error", "data": None},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(body)


def test_the_additions_are_described_as_additions(document):
    description = document["info"]["description"]
    for code in ("10003", "10008", "10009"):
        line = next(line for line in description.splitlines() if line.startswith(f"| {code} "))
        assert "added by the facade" in line
    for code in ("10001", "10002", "10004", "10005", "10006", "10007"):
        line = next(line for line in description.splitlines() if line.startswith(f"| {code} "))
        assert "added" not in line
    schemas = document["components"]["schemas"]
    assert "Added by the facade" in schemas["Session"]["properties"]["refresh_token"]["description"]
    assert (
        "10008 too many requests (added by the facade)"
        in (schemas["Error"]["properties"]["code"]["description"])
    )


def test_rate_limited_endpoints_document_retry_after(document):
    limited = {
        path
        for _, path, operation in operations(document)
        if "headers" in operation["responses"]["200"]
    }
    assert limited == {path for path, codes in CODES.items() if 10008 in codes}
    header = document["paths"]["/user/login"]["post"]["responses"]["200"]["headers"]
    assert header["Retry-After"] == {"$ref": "#/components/headers/RetryAfter"}


def test_field_names_and_types_are_customer_mds(document):
    schemas = document["components"]["schemas"]
    session = schemas["Session"]
    assert session["required"] == ["token", "user_id", "expires_in", "refresh_token"]
    assert session["properties"]["user_id"] == {
        "type": "integer",
        "format": "int64",
        "title": "User Id",
        "description": session["properties"]["user_id"]["description"],
    }
    assert schemas["Tokens"]["required"] == ["token", "refresh_token", "expires_in"]
    assert schemas["SentCode"]["required"] == ["expires_in"]
    assert schemas["LoginRequest"]["required"] == ["phone", "password"]
    assert schemas["RegisterRequest"]["required"] == [
        "phone",
        "password",
        "nickname",
        "verify_code",
    ]
    assert schemas["ResetPasswordRequest"]["required"] == ["phone", "verify_code", "new_password"]
    assert schemas["VerifySmsRequest"]["properties"]["type"]["enum"] == [
        "register",
        "reset_password",
    ]
    for name in ("LoginRequest", "RegisterRequest"):
        password = schemas[name]["properties"]["password"]
        assert (password["minLength"], password["maxLength"]) == (6, 20)
    nickname = schemas["RegisterRequest"]["properties"]["nickname"]
    assert (nickname["minLength"], nickname["maxLength"]) == (2, 20)


def test_real_answers_fit_the_documented_bodies(customer):
    document = build_document(contract, PREFIX)

    def check(path: str, body=None, **kwargs) -> dict:
        answer = customer.call(path, body, **kwargs)
        media = only_response(document["paths"][path]["post"])
        validator_for(document, media["schema"]).validate(answer)
        return answer

    phone = random_phone()
    assert check("/user/verify/sms", {"phone": phone, "type": "register"})["code"] == 0
    code = customer.latest_code(phone)
    body = {"phone": phone, "password": "password123", "nickname": "新用户", "verify_code": code}
    data = check("/user/register", body)["data"]
    assert check("/user/register", body)["code"] == 10006
    assert check("/user/verify/sms", {"phone": phone, "type": "register"})["code"] == 10007
    login = check("/user/login", {"phone": phone, "password": "password123"})["data"]
    assert check("/user/login", {"phone": phone, "password": "wrong-pass"})["code"] == 10002
    assert check("/user/login", {"phone": "1380013800", "password": "x"})["code"] == 10001
    refreshed = check("/user/refresh", {"refresh_token": login["refresh_token"]})["data"]
    assert check("/user/logout", token=refreshed["token"])["code"] == 0
    assert check("/user/logout", token=refreshed["token"])["code"] == 10003
    customer.allow_resend(phone)
    check("/user/verify/sms", {"phone": phone, "type": "reset_password"})
    reset = {"phone": phone, "verify_code": customer.latest_code(phone), "new_password": "abcdef"}
    assert check("/user/password/reset", reset) == {"code": 0, "message": "success", "data": None}
    assert check("/user/refresh", {"refresh_token": data["refresh_token"]})["code"] == 10003
