"""Routes of a mounted contract whose own issue has not landed: they answer 501 in its format."""

from __future__ import annotations

import falcon

from facade.core.errors import NotImplementedYet


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
