"""The ``vcode`` contract (vcode.md): parse, call the core once, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.stubs import mount_not_yet
from facade.contracts.vcode.render import render_error
from facade.http.rendering import Rendered

if TYPE_CHECKING:
    from facade.bootstrap import Services

ROUTES = ("/auth/verification-code", "/auth/login/code", "/auth/register", "/auth/login")


class VcodeContract:
    slug = "vcode"
    #: Channels its codes go by; production refuses to start without a sender for each.
    channels = ("sms",)

    def mount(
        self, app: falcon.App[falcon.Request, falcon.Response], prefix: str, services: Services
    ) -> None:
        mount_not_yet(app, prefix, ROUTES)

    def render_error(self, error: Exception, route: str | None) -> Rendered:
        return render_error(error)


contract = VcodeContract()
