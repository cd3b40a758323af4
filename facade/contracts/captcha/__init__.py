"""The ``captcha`` contract (captcha.md): parse, call the core once, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.captcha.render import render_error
from facade.contracts.stubs import mount_not_yet
from facade.http.rendering import Rendered

if TYPE_CHECKING:
    from facade.bootstrap import Services

ROUTES = ("/auth/send_captcha", "/auth/register", "/auth/login", "/auth/refresh")


class CaptchaContract:
    slug = "captcha"
    #: Channels its codes go by; production refuses to start without a sender for each.
    channels = ("sms", "email")

    def mount(
        self, app: falcon.App[falcon.Request, falcon.Response], prefix: str, services: Services
    ) -> None:
        mount_not_yet(app, prefix, ROUTES)

    def render_error(self, error: Exception, route: str | None) -> Rendered:
        return render_error(error)


contract = CaptchaContract()
