"""The member contract's OpenAPI 3.1 document: served, valid, complete, and true to the server."""

from __future__ import annotations

import falcon.testing
import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from facade.app import create_app
from facade.contracts.kit.openapi import build_document as build
from facade.contracts.member import contract
from tests.contracts.live import operations, served_document, validator_for


def build_document(prefix: str = "/api/v1") -> dict:
    return build(contract, prefix)


SEVEN = {
    ("post", "/auth/sms/send"),
    ("post", "/auth/login/sms"),
    ("post", "/auth/login/wechat"),
    ("post", "/auth/refresh"),
    ("get", "/auth/me"),
    ("post", "/auth/bind-phone"),
    ("post", "/auth/logout"),
}


@pytest.fixture
def document(client) -> dict:
    return served_document(client, "/api/v1")


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    assert errors == []


def test_it_lists_exactly_the_seven_endpoints_under_the_documented_base_url(document):
    assert {(method, path) for method, path, _ in operations(document)} == SEVEN
    assert document["servers"] == [{"url": "/api/v1"}]
    assert document == build_document("/api/v1")  # what schemathesis tests is what is served


def test_the_server_url_follows_the_mount_prefix(settings):
    moved = settings.with_changes(prefixes={"member": "/m"})
    response = falcon.testing.TestClient(create_app(moved)).simulate_get("/m/openapi.json")
    assert response.json["servers"] == [{"url": "/m"}]


def test_bearer_auth_guards_me_bind_phone_and_logout_only(document):
    guarded = {path for _, path, op in operations(document) if op.get("security")}
    assert guarded == {"/auth/me", "/auth/bind-phone", "/auth/logout"}
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in guarded:
        assert "401" in next(op for _, p, op in operations(document) if p == path)["responses"]


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/auth/sms/send", {"200", "400", "429", "503"}),
        ("/auth/login/sms", {"200", "400", "403", "429", "503"}),
        ("/auth/login/wechat", {"200", "400", "403", "429", "503"}),
        ("/auth/refresh", {"200", "400", "401", "503"}),
        ("/auth/me", {"200", "401", "503"}),
        ("/auth/bind-phone", {"200", "400", "401", "409", "503"}),
        ("/auth/logout", {"200", "401", "503"}),
    ],
)
def test_each_endpoint_documents_every_status_it_can_answer(document, path, statuses):
    (operation,) = document["paths"][path].values()
    assert set(operation["responses"]) == statuses


def test_sms_send_and_logins_answer_429_with_a_retry_after_header(document):
    limited = set()
    for _, path, operation in operations(document):
        too_many = operation["responses"].get("429")
        if too_many is not None:
            limited.add(path)
            assert too_many["headers"]["Retry-After"]["$ref"] == "#/components/headers/RetryAfter"
    assert limited == {"/auth/sms/send", "/auth/login/sms", "/auth/login/wechat"}
    header = document["components"]["headers"]["RetryAfter"]
    assert header["schema"] == {"type": "integer", "minimum": 1}


def test_every_error_body_is_the_common_format_with_code_equal_to_the_status(document):
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            if status == "200":
                continue
            content = response["content"]["application/json"]
            validator = validator_for(document, content["schema"])
            for example in content["examples"].values():
                validator.validate(example["value"])
            with pytest.raises(jsonschema.ValidationError):
                validator.validate({"code": 999, "message": "x", "data": None})


def test_field_names_and_types_are_member_mds(document):
    schemas = document["components"]["schemas"]
    user = schemas["User"]["properties"]
    assert user["id"]["type"] == "integer"
    assert {"type": "string"} in user["phone"]["anyOf"]
    assert {"type": "null"} in user["phone"]["anyOf"]
    assert {"type": "null"} in user["avatar"]["anyOf"]
    assert user["gender"]["enum"] == [0, 1, 2]
    assert schemas["Token"]["properties"]["expires_at"]["type"] == "integer"
    assert schemas["LoginResult"]["properties"]["is_new_user"]["type"] == "boolean"
    sent = document["paths"]["/auth/sms/send"]["post"]["responses"]["200"]
    assert sent["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SentCodeResponse"
    }
    assert schemas["SentCode"]["required"] == ["expire_in"]
    assert schemas["SmsLoginRequest"]["required"] == ["phone", "code"]
    assert schemas["WechatLoginRequest"]["required"] == ["code"]
    for name in ("SmsSendRequest", "SmsLoginRequest", "WechatLoginRequest", "BindPhoneRequest"):
        assert schemas[name]["additionalProperties"] is True


def test_the_examples_fit_their_own_schemas(document):
    for _, _, operation in operations(document):
        request = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if request:
            validator_for(document, request["schema"]).validate(request["example"])
        success = operation["responses"]["200"]["content"]["application/json"]
        validator_for(document, success["schema"]).validate(success["example"])


def test_the_server_answers_errors_as_documented(client, document):
    unauthorized = client.simulate_get("/api/v1/auth/me")
    schema = document["paths"]["/auth/me"]["get"]["responses"]["401"]
    assert unauthorized.status_code == 401
    validator_for(document, schema["content"]["application/json"]["schema"]).validate(
        unauthorized.json
    )
    invalid = client.simulate_post("/api/v1/auth/sms/send", json={"phone": "13800138000"})
    schema = document["paths"]["/auth/sms/send"]["post"]["responses"]["400"]
    assert invalid.status_code == 400
    validator_for(document, schema["content"]["application/json"]["schema"]).validate(invalid.json)


def test_real_success_answers_fit_the_documented_bodies(member):
    document = build_document()

    def check(path: str, method: str, response) -> dict:
        assert response.status_code == 200, response.text
        documented = document["paths"][path][method]["responses"]["200"]
        schema = documented["content"]["application/json"]["schema"]
        validator_for(document, schema).validate(response.json)
        return response.json["data"]

    login = member.post("/auth/login/wechat", {"code": member.wechat_code()["code"], "gender": 2})
    tokens = check("/auth/login/wechat", "post", login)["token"]
    check("/auth/me", "get", member.get("/auth/me", token=tokens["access_token"]))
    refreshed = member.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    new_tokens = check("/auth/refresh", "post", refreshed)
    check("/auth/logout", "post", member.post("/auth/logout", token=new_tokens["access_token"]))
