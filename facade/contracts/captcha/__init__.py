"""The ``captcha`` contract (captcha.md) at ``/captcha``: phone or email codes, registration,
password or code login, refresh by header."""

from __future__ import annotations

from facade.contracts.captcha import render
from facade.contracts.captcha.routes import ROUTES
from facade.contracts.kit import KitContract

contract = KitContract(
    slug="captcha",
    title="captcha: Auth 模块接口",
    description="captcha.md, served by keycloak-facade over the shared Keycloak realm.",
    routes=ROUTES,
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
    channels=("sms", "email"),
)
