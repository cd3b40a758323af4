"""The ``member`` contract (member.md) at ``/api/v1``: SMS and WeChat sign-in, member profile."""

from __future__ import annotations

from facade.contracts.kit import KitContract
from facade.contracts.member import render
from facade.contracts.member.routes import ROUTES

contract = KitContract(
    slug="member",
    title="member: 会员认证 API",
    description="member.md, served by keycloak-facade over the shared Keycloak realm.",
    routes=ROUTES,
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
    channels=("sms",),
)
