"""vcode's OpenAPI 3.1 document: served, valid, complete, and true to the server."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from facade.contracts.kit.openapi import build_document
from facade.contracts.vcode import contract
from tests.contracts.live import operations, served_document, validator_for
from tests.contracts.vcode.conftest import PASSWORD

ENDPOINTS = {
    ("post", "/auth/verification-code"),
    ("post", "/auth/login/code"),
    ("post", "/auth/register"),
    ("post", "/auth/login"),
    ("post", "/auth/reset-password"),
}


@pytest.fixture
def document(client) -> dict:
    return served_document(client, "/vcode")


def test_the_document_is_valid_openapi_3_1_and_the_one_schemathesis_tests(document):
    assert document["openapi"].startswith("3.1")
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    assert document == build_document(contract, "/vcode")
    assert document["servers"] == [{"url": "/vcode"}]


def test_swagger_ui_is_served(client):
    response = client.simulate_get("/vcode/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text


def test_it_lists_the_four_documented_endpoints_and_the_reset_as_an_addition(document):
    assert {(method, path) for method, path, _ in operations(document)} == ENDPOINTS
    added = {path for _, path, op in operations(document) if op.get("x-facade-addition")}
    assert added == {"/auth/reset-password"}
    assert not any(op.get("security") for _, _, op in operations(document))


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/auth/verification-code", {"200", "400", "429", "503"}),
        ("/auth/login/code", {"200", "400", "403", "404", "429", "503"}),
        ("/auth/register", {"200", "400", "403", "409", "429", "503"}),
        ("/auth/login", {"200", "400", "401", "403", "429", "503"}),
        ("/auth/reset-password", {"200", "400", "403", "404", "429", "503"}),
    ],
)
def test_each_endpoint_documents_every_status_it_can_answer(document, path, statuses):
    (operation,) = document["paths"][path].values()
    assert set(operation["responses"]) == statuses
    assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_every_error_example_fits_the_error_format_with_code_equal_to_status(document):
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            if status == "200":
                continue
            content = response["content"]["application/json"]
            validator = validator_for(document, content["schema"])
            for example in content["examples"].values():
                validator.validate(example["value"])
                assert example["value"]["code"] == int(status)
            with pytest.raises(jsonschema.ValidationError):
                validator.validate({"code": 999, "message": "x", "error": {"type": "X"}})


def test_register_and_reset_document_weak_password_and_too_many_tries(document):
    for path in ("/auth/register", "/auth/reset-password"):
        examples = document["paths"][path]["post"]["responses"]["400"]["content"][
            "application/json"
        ]["examples"]
        types = {example["value"]["error"]["type"] for example in examples.values()}
        assert {"VALIDATION_ERROR", "WEAK_PASSWORD", "INVALID_CODE", "CODE_TOO_MANY_TRIES"} <= (
            types
        )


def test_the_password_rule_is_published(document):
    schemas = document["components"]["schemas"]
    for name, field in (("RegisterRequest", "password"), ("ResetPasswordRequest", "new_password")):
        rule = schemas[name]["properties"][field]
        assert rule["minLength"] == 8
        assert "upper-case" in rule["description"]
    assert schemas["RegisterRequest"]["required"] == ["phone", "code", "password"]
    assert schemas["SendCodeRequest"]["properties"]["type"]["enum"] == [
        "register",
        "login",
        "reset_password",
    ]


def test_real_answers_fit_the_documented_bodies(vcode, document):
    def check(path: str, response) -> dict:
        responses = document["paths"][path]["post"]["responses"]
        documented = responses[str(response.status_code)]["content"]["application/json"]
        validator_for(document, documented["schema"]).validate(response.json)
        return response.json

    phone, _ = vcode.register()
    code = vcode.send_code(phone, "login")
    check("/auth/login/code", vcode.post("/auth/login/code", {"phone": phone, "code": code}))
    check("/auth/login", vcode.post("/auth/login", {"username": phone, "password": PASSWORD}))
    reset_code = vcode.send_code(phone, "reset_password")
    body = {"phone": phone, "code": reset_code, "new_password": "Another789"}
    check("/auth/reset-password", vcode.post("/auth/reset-password", body))
    check("/auth/register", vcode.post("/auth/register", {"phone": phone}))
    check("/auth/login", vcode.post("/auth/login", {"username": phone, "password": PASSWORD}))
    vcode.allow_resend(phone)
    sent = vcode.post("/auth/verification-code", {"phone": phone, "type": "login"})
    assert check("/auth/verification-code", sent)["code"] == 0
    limited = vcode.post("/auth/verification-code", {"phone": phone, "type": "login"})
    assert check("/auth/verification-code", limited)["code"] == 429
