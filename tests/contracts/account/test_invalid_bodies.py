"""Invalid bodies get FastAPI's 422: ``detail`` lists every failing field as pydantic words it."""

from __future__ import annotations

import pytest

from tests.conftest import random_phone


def missing(*fields: str) -> list[dict]:
    return [{"loc": ["body", f], "msg": "Field required", "type": "missing"} for f in fields]


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/register", ("username", "phone", "password")),
        ("/send-code", ("phone",)),
        ("/check-username", ("username",)),
        ("/login", ("username", "password", "phone", "code")),
        ("/phone-login", ("phone", "code")),
    ],
)
def test_an_empty_object_lists_every_missing_field(account, path, fields):
    response = account.post(path, {})
    assert (response.status_code, response.json) == (422, {"detail": missing(*fields)})


def test_login_lists_what_the_chosen_shape_misses(account):
    assert account.post("/login", {"username": "bob"}).json == {"detail": missing("password")}
    assert account.post("/login", {"phone": random_phone()}).json == {"detail": missing("code")}
    by_code = account.post("/login", {"code": "12"}).json["detail"]
    assert by_code == [
        *missing("phone"),
        {"loc": ["body", "code"], "msg": "Value error, must be 6 digits", "type": "value_error"},
    ]


def test_wrong_types_and_rules_are_each_listed(account):
    response = account.post("/register", {"username": 7, "phone": "123", "password": "short"})
    assert response.status_code == 422
    assert response.json == {
        "detail": [
            {
                "loc": ["body", "username"],
                "msg": "Input should be a valid string",
                "type": "string_type",
            },
            {
                "loc": ["body", "phone"],
                "msg": "Value error, invalid mainland China mobile number",
                "type": "value_error",
            },
            {
                "loc": ["body", "password"],
                "msg": "Value error, must be 6 to 128 characters",
                "type": "value_error",
            },
        ]
    }


@pytest.mark.parametrize(
    ("body", "content_type", "item"),
    [
        ("", "application/json", {"loc": ["body"], "msg": "Field required", "type": "missing"}),
        (
            '{"phone": ',
            "application/json",
            {"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"},
        ),
        (
            "[1, 2]",
            "application/json",
            {
                "loc": ["body"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "type": "model_attributes_type",
            },
        ),
        (
            "phone=13800138000",
            "application/x-www-form-urlencoded",
            {
                "loc": ["body"],
                "msg": "request body must be application/json",
                "type": "content_type",
            },
        ),
    ],
)
def test_a_body_that_is_no_json_object_is_a_422_at_body(account, body, content_type, item):
    response = account.http.simulate_post(
        "/account/send-code", body=body, headers={"Content-Type": content_type}
    )
    assert (response.status_code, response.json) == (422, {"detail": [item]})


def test_control_characters_and_overlong_text_are_refused(account):
    response = account.post("/check-username", {"username": "a\x00b"})
    assert response.status_code == 422
    assert response.json["detail"][0]["loc"] == ["body", "username"]
    too_long = account.post("/check-username", {"username": "a" * 256})
    assert too_long.status_code == 422


def test_unknown_paths_and_methods_answer_in_fastapis_words(account):
    unknown = account.get("/nope")
    assert (unknown.status_code, unknown.json) == (404, {"detail": "Not Found"})
    wrong_method = account.get("/register")
    assert (wrong_method.status_code, wrong_method.json) == (405, {"detail": "Method Not Allowed"})
    assert "POST" in wrong_method.headers["Allow"]
