"""The account OpenAPI 3.1 document: served, valid, FastAPI-shaped, true to the server."""

from __future__ import annotations

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from facade.contracts.account import contract
from facade.contracts.kit.openapi import build_document
from tests.conftest import random_phone, random_username
from tests.contracts.live import operations, served_document, validator_for

TWELVE = {
    ("post", "/register"),
    ("post", "/send-code"),
    ("post", "/check-username"),
    ("post", "/login"),
    ("post", "/phone-login"),
    ("post", "/complete-registration"),
    ("get", "/users/me"),
    ("put", "/users/me/password"),
    ("put", "/users/me/username"),
    ("post", "/users/me/set-password"),
    ("get", "/users/me/has-password"),
    ("post", "/logout"),
}
GUARDED = {
    "/complete-registration",
    "/users/me",
    "/users/me/password",
    "/users/me/username",
    "/users/me/set-password",
    "/users/me/has-password",
    "/logout",
}


@pytest.fixture
def document(client) -> dict:
    return served_document(client, "/account")


def test_the_document_is_valid_openapi_3_1_and_is_what_schemathesis_tests(document):
    assert document["openapi"].startswith("3.1")
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    assert document == build_document(contract, "/account")
    assert document["servers"] == [{"url": "/account"}]


def test_it_lists_exactly_the_twelve_endpoints(document):
    assert {(method, path) for method, path, _ in operations(document)} == TWELVE


def test_bearer_auth_guards_exactly_the_documented_routes(document):
    guarded = {path for _, path, op in operations(document) if op.get("security")}
    assert guarded == GUARDED
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for _, path, operation in operations(document):
        if path in GUARDED:
            assert "401" in operation["responses"]


def test_every_body_taking_route_documents_fastapis_422(document):
    schemas = document["components"]["schemas"]
    assert schemas["HTTPValidationError"]["properties"]["detail"]["items"] == {
        "$ref": "#/components/schemas/ValidationError"
    }
    assert schemas["ValidationError"]["required"] == ["loc", "msg", "type"]
    for _, _, operation in operations(document):
        if "requestBody" in operation:
            invalid = operation["responses"]["422"]["content"]["application/json"]
            assert invalid["schema"] == {"$ref": "#/components/schemas/HTTPValidationError"}
        else:
            assert "422" not in operation["responses"]


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/register", {"200", "400", "422", "429", "503"}),
        ("/send-code", {"200", "400", "422", "429", "503"}),
        ("/check-username", {"200", "422", "503"}),
        ("/login", {"200", "400", "401", "422", "429", "503"}),
        ("/phone-login", {"200", "400", "401", "404", "422", "429", "503"}),
        ("/complete-registration", {"200", "400", "401", "422", "503"}),
        ("/users/me", {"200", "401", "503"}),
        ("/users/me/password", {"200", "400", "401", "422", "503"}),
        ("/users/me/username", {"200", "400", "401", "422", "503"}),
        ("/users/me/set-password", {"200", "400", "401", "422", "503"}),
        ("/users/me/has-password", {"200", "401", "503"}),
        ("/logout", {"200", "401", "503"}),
    ],
)
def test_each_endpoint_documents_every_status_it_can_answer(document, path, statuses):
    (operation,) = document["paths"][path].values()
    assert set(operation["responses"]) == statuses


def test_examples_fit_their_own_schemas(document):
    for _, _, operation in operations(document):
        request = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if request:
            validator_for(document, request["schema"]).validate(request["example"])
        for response in operation["responses"].values():
            content = response["content"]["application/json"]
            validator = validator_for(document, content["schema"])
            for example in [content.get("example"), *content.get("examples", {}).values()]:
                if example is not None:
                    validator.validate(example.get("value", example))


def test_the_user_object_is_documented_without_any_secret(document):
    user = document["components"]["schemas"]["User"]
    assert set(user["properties"]) == {
        "id",
        "username",
        "phone",
        "email",
        "phone_verified",
        "email_verified",
        "has_password",
    }
    assert user["properties"]["id"]["type"] == "string"
    login = document["components"]["schemas"]["LoginRequest"]
    assert login["anyOf"] == [
        {"$ref": "#/components/schemas/PasswordLogin"},
        {"$ref": "#/components/schemas/CodeLogin"},
    ]


def test_real_answers_fit_the_documented_bodies(account, document):
    def check(method: str, path: str, response, status: int = 200) -> dict:
        assert response.status_code == status, response.text
        documented = document["paths"][path][method]["responses"][str(status)]
        schema = documented["content"]["application/json"]["schema"]
        validator_for(document, schema).validate(response.json)
        return response.json

    body = {"username": random_username(), "phone": random_phone(), "password": "secret-1"}
    user = check("post", "/register", account.post("/register", body))
    token = check("post", "/login", account.login(user["username"]))["access_token"]
    check("get", "/users/me", account.get("/users/me", token=token))
    check("get", "/users/me/has-password", account.get("/users/me/has-password", token=token))
    check("post", "/register", account.post("/register", {}), 422)
    check("post", "/login", account.login(user["username"], "wrong-pw"), 401)
    check("post", "/logout", account.post("/logout", token=token))


def test_swagger_ui_is_served_beside_the_document(client):
    response = client.simulate_get("/account/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.text
