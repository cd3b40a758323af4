"""Errors of the ``account`` contract, rendered as account.md documents them."""

from __future__ import annotations

import falcon

from facade.contracts.base import http_status_of
from facade.core.errors import (
    AccountDisabled,
    AlreadyExists,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
    NotImplementedYet,
    RateLimited,
    Unavailable,
)
from facade.http.rendering import Rendered


def render_error(error: Exception) -> Rendered:
    """FastAPI style: ``{"detail": ...}``; 422 lists what is wrong with the body (account.md)."""
    if isinstance(error, InvalidInput):
        loc = ["body", error.field] if error.field else ["body"]
        return Rendered(422, {"detail": [{"loc": loc, "msg": error.reason, "type": "value_error"}]})
    if isinstance(error, AlreadyExists):
        return Rendered(400, {"detail": f"{error.field.capitalize()} already registered"})
    if isinstance(error, NotFound):
        return Rendered(404, {"detail": "User not found"})
    if isinstance(error, InvalidCredentials | AccountDisabled):
        return Rendered(401, {"detail": "Incorrect username or password"})
    if isinstance(error, InvalidToken):
        return Rendered(
            401, {"detail": "Could not validate credentials"}, {"WWW-Authenticate": "Bearer"}
        )
    if isinstance(error, RateLimited):
        return Rendered(
            429, {"detail": "Too many requests"}, {"Retry-After": str(error.retry_after)}
        )
    if isinstance(error, Unavailable):
        return Rendered(503, {"detail": "Service unavailable"})
    if isinstance(error, NotImplementedYet):
        return Rendered(501, {"detail": "Not implemented"})
    status = http_status_of(error)
    return Rendered(status, {"detail": falcon.code_to_http_status(status)[4:]})
