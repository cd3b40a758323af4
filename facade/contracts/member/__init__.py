"""The ``member`` contract (member.md): parse, call the core once, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.member.render import render_error
from facade.contracts.stubs import mount_not_yet
from facade.http.rendering import Rendered

if TYPE_CHECKING:
    from facade.bootstrap import Services

ROUTES = (
    "/auth/sms/send",
    "/auth/login/sms",
    "/auth/login/wechat",
    "/auth/refresh",
    "/auth/me",
    "/auth/bind-phone",
    "/auth/logout",
)


class MemberContract:
    slug = "member"

    def mount(self, app: falcon.App, prefix: str, services: Services) -> None:
        mount_not_yet(app, prefix, ROUTES)

    def render_error(self, error: Exception) -> Rendered:
        return render_error(error)


contract = MemberContract()
