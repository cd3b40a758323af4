"""The ``customer`` contract (customer.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.customer import render
from facade.contracts.kit import KitContract
from facade.contracts.stubs import not_yet_routes

contract = KitContract(
    slug="customer",
    title="customer: 认证模块 API",
    routes=not_yet_routes(
        (
            ("POST", "/user/login"),
            ("POST", "/user/register"),
            ("POST", "/user/logout"),
            ("POST", "/user/verify/sms"),
            ("POST", "/user/refresh"),
            ("POST", "/user/password/reset"),
        )
    ),
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
)
