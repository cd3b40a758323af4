"""The ``account`` contract (account.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.account import render
from facade.contracts.kit import KitContract
from facade.contracts.stubs import not_yet_routes

contract = KitContract(
    slug="account",
    title="account: 认证模块 API",
    routes=not_yet_routes(
        (
            ("POST", "/register"),
            ("POST", "/send-code"),
            ("POST", "/check-username"),
            ("POST", "/login"),
            ("POST", "/phone-login"),
            ("POST", "/complete-registration"),
            ("GET", "/users/me"),
            ("PUT", "/users/me/password"),
            ("PUT", "/users/me/username"),
            ("POST", "/users/me/set-password"),
            ("GET", "/users/me/has-password"),
            ("POST", "/logout"),
        )
    ),
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
    error_schemas={422: render.VALIDATION_ERROR_SCHEMA},
    body_code_field=None,
)
