"""The ``vcode`` contract (vcode.md) at ``/vcode``: phone codes with purposes, code and
password login, registration, and the added password reset."""

from __future__ import annotations

from facade.contracts.kit import KitContract
from facade.contracts.vcode import render
from facade.contracts.vcode.routes import ROUTES

contract = KitContract(
    slug="vcode",
    title="vcode: 认证系统 API",
    description="vcode.md, served by keycloak-facade over the shared Keycloak realm. The token "
    "is a Keycloak access token valid 24 h; there is no refresh, so signing in again starts a "
    "new session. A password reset or an operator disabling the user ends it at once.",
    routes=ROUTES,
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
    channels=("sms",),
)
