"""Errors of the ``customer`` contract, rendered as customer.md documents them."""

from __future__ import annotations

import falcon

from facade.contracts.base import http_status_of
from facade.core.errors import (
    InvalidInput,
    InvalidToken,
    NotImplementedYet,
    RateLimited,
    Unavailable,
)
from facade.http.rendering import Rendered


def _body(code: int, message: str) -> dict[str, object]:
    return {"code": code, "message": message, "data": None}


def render_error(error: Exception) -> Rendered:
    """Every outcome is HTTP 200 with a business ``code`` (customer.md; README "customer")."""
    if isinstance(error, InvalidInput):
        return Rendered(200, _body(10001, "invalid parameters"))
    if isinstance(error, InvalidToken):
        return Rendered(200, _body(10003, "invalid token"))
    if isinstance(error, RateLimited):
        return Rendered(
            200, _body(10008, "send too frequently"), {"Retry-After": str(error.retry_after)}
        )
    if isinstance(error, Unavailable):
        return Rendered(200, _body(10009, "service unavailable"))
    if isinstance(error, NotImplementedYet):
        return Rendered(501, _body(501, "not implemented"))
    status = http_status_of(error)
    return Rendered(status, _body(status, falcon.code_to_http_status(status)[4:]))
