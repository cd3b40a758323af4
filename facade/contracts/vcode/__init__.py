"""The ``vcode`` contract (vcode.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.kit import KitContract
from facade.contracts.stubs import not_yet_routes
from facade.contracts.vcode import render

contract = KitContract(
    slug="vcode",
    title="vcode: 认证系统 API",
    routes=not_yet_routes(
        (
            ("POST", "/auth/verification-code"),
            ("POST", "/auth/login/code"),
            ("POST", "/auth/register"),
            ("POST", "/auth/login"),
            ("POST", "/auth/reset-password"),
        )
    ),
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
)
