"""The ``account`` contract (account.md) at ``/account``: FastAPI-style account API with
phone-code sign-in, complete registration, password and username changes."""

from __future__ import annotations

from facade.contracts.account import render
from facade.contracts.account.routes import ROUTES
from facade.contracts.kit import KitContract

contract = KitContract(
    slug="account",
    title="account: 认证模块 API",
    description="account.md, served by keycloak-facade over the shared Keycloak realm.",
    routes=ROUTES,
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
    error_schemas={422: render.VALIDATION_ERROR_SCHEMA},
    error_components=render.ERROR_COMPONENTS,
    body_code_field=None,
    channels=("sms",),
)
