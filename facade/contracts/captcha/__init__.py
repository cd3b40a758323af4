"""The ``captcha`` contract (captcha.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.captcha import render
from facade.contracts.kit import KitContract
from facade.contracts.stubs import not_yet_routes

contract = KitContract(
    slug="captcha",
    title="captcha: Auth 模块接口",
    routes=not_yet_routes(
        (
            ("POST", "/auth/send_captcha"),
            ("POST", "/auth/register"),
            ("POST", "/auth/login"),
            ("POST", "/auth/refresh"),
        )
    ),
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
    channels=("sms", "email"),
)
