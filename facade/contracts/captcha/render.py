"""Errors of the ``captcha`` contract, rendered as captcha.md documents them."""

from __future__ import annotations

import falcon

from facade.contracts.base import http_status_of
from facade.core.errors import (
    AccountDisabled,
    AlreadyExists,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotImplementedYet,
    RateLimited,
    Unavailable,
)
from facade.http.rendering import Rendered


def _body(status: int, message: str, error_info: str) -> dict[str, object]:
    return {"code": status, "message": message, "error_info": error_info}


def render_error(error: Exception) -> Rendered:
    """HTTP status equals body ``code`` (captcha.md; README "captcha")."""
    if isinstance(error, InvalidInput):
        return Rendered(400, _body(400, "invalid parameters", "Missing required parameters"))
    if isinstance(error, AlreadyExists):
        info = f"User with this {error.field} already exists"
        return Rendered(400, _body(400, "register fail", info))
    if isinstance(error, InvalidToken):
        return Rendered(401, _body(401, "Invalid refresh token", error.reason))
    if isinstance(error, InvalidCredentials | AccountDisabled):
        return Rendered(401, _body(401, "login fail", "Invalid credentials"))
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
        return Rendered(429, _body(429, "too many requests", error.detail), headers)
    if isinstance(error, Unavailable):
        return Rendered(503, _body(503, "service unavailable", f"{error.part} unavailable"))
    if isinstance(error, NotImplementedYet):
        return Rendered(501, _body(501, "not implemented", error.detail))
    status = http_status_of(error)
    return Rendered(status, _body(status, falcon.code_to_http_status(status)[4:], "error"))
