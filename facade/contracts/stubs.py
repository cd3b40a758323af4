"""Routes of a mounted contract whose own issue has not landed: they answer 501 in its format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import falcon

from facade.core.errors import NotImplementedYet
from facade.http.rendering import Rendered

if TYPE_CHECKING:
    from facade.bootstrap import Services


class NotYetResource:
    """Raises :class:`NotImplementedYet` so the contract renders its own 501."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint

    def _refuse(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise NotImplementedYet(f"{self._endpoint} is not served yet")

    on_get = on_post = on_put = _refuse


def mount_not_yet(
    app: falcon.App[falcon.Request, falcon.Response], prefix: str, routes: tuple[str, ...]
) -> None:
    for route in routes:
        app.add_route(prefix + route, NotYetResource(route))


@dataclass(frozen=True)
class PlaceholderContract:
    """A contract mounted before its issue lands: its documented routes, each answering 501
    in the contract's own error format, so clients already see the right shape of error."""

    slug: str
    routes: tuple[str, ...]
    render: Callable[[Exception], Rendered]
    #: Channels its codes go by; production refuses to start without a sender for each.
    channels: tuple[str, ...] = ("sms",)

    def mount(
        self, app: falcon.App[falcon.Request, falcon.Response], prefix: str, services: Services
    ) -> None:
        mount_not_yet(app, prefix, self.routes)

    def render_error(self, error: Exception, route: str | None) -> Rendered:
        return self.render(error)
