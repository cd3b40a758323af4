"""The ``member`` contract (member.md): parse, call the core once, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from facade.contracts.member import routes
from facade.contracts.member.openapi import OpenApiDocument
from facade.contracts.member.render import render_error
from facade.http.rendering import Rendered

if TYPE_CHECKING:
    from facade.bootstrap import Services


class MemberContract:
    slug = "member"
    channels = ("sms",)

    def mount(
        self, app: falcon.App[falcon.Request, falcon.Response], prefix: str, services: Services
    ) -> None:
        routes.add_routes(app, prefix, services)
        app.add_route(f"{prefix}/openapi.json", OpenApiDocument(prefix))

    def render_error(self, error: Exception, route: str | None) -> Rendered:
        return render_error(error, route)


contract = MemberContract()
