"""Bearer authentication as a Falcon hook, shared by every contract's protected routes."""

from __future__ import annotations

from typing import Any, Protocol, cast

import falcon

from facade.core.errors import InvalidToken
from facade.core.sessions import Sessions
from facade.http.body import bearer_token


class ProtectedResource(Protocol):
    """A resource whose routes need a bearer token of its own contract."""

    contract: str
    sessions: Sessions


def require_bearer(
    req: falcon.Request, resp: falcon.Response, resource: object, params: dict[str, Any]
) -> None:
    """``@falcon.before`` hook: puts the caller's :class:`Principal` on ``req.context``.

    ``resource`` must be a :class:`ProtectedResource` (Falcon types hooks with ``object``).
    """
    protected = cast(ProtectedResource, resource)
    token = bearer_token(req)
    if token is None:
        raise InvalidToken("missing bearer token")
    req.context.principal = protected.sessions.authenticate(protected.contract, token)
