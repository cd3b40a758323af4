"""Routes of a contract whose own issue has not landed: they answer 501 in its format."""

from __future__ import annotations

import falcon

from facade.contracts.kit import Route
from facade.contracts.kit.contract import Method, ResourceFactory
from facade.core.errors import NotImplementedYet


class NotYetResource:
    """Raises :class:`NotImplementedYet` so the contract renders its own 501."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint

    def _refuse(self, req: falcon.Request, resp: falcon.Response) -> None:
        raise NotImplementedYet(f"{self._endpoint} is not served yet")

    on_get = on_post = on_put = _refuse


def not_yet_routes(endpoints: tuple[tuple[Method, str], ...]) -> tuple[Route, ...]:
    def factory(path: str) -> ResourceFactory:
        return lambda services: NotYetResource(path)

    return tuple(
        Route(
            method,
            path,
            factory(path),
            f"{method} {path} (not served yet)",
            errors=("not_implemented",),
        )
        for method, path in endpoints
    )
