"""Reading request bodies into plain values, with typed errors instead of framework pages."""

from __future__ import annotations

from typing import Any

import falcon

from facade.core.errors import InvalidInput


def json_object(req: falcon.Request) -> dict[str, Any]:
    """The body as a JSON object; anything else is the contract's "invalid parameters"."""
    try:
        body = req.get_media()
    except falcon.MediaNotFoundError:
        raise InvalidInput(None, "request body is required") from None
    except falcon.MediaMalformedError:
        raise InvalidInput(None, "request body is not valid JSON") from None
    except falcon.HTTPUnsupportedMediaType:
        raise InvalidInput(None, "request body must be application/json") from None
    if not isinstance(body, dict):
        raise InvalidInput(None, "request body must be a JSON object")
    return body


def required_str(body: dict[str, Any], name: str, *, allow_empty: bool = False) -> str:
    value = body.get(name)
    if value is None:
        raise InvalidInput(name, "field required")
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string")
    if not allow_empty and not value.strip():
        raise InvalidInput(name, "must not be empty")
    return value


def optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string")
    return value


def optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(name, "must be an integer")
    return value


def bearer_token(req: falcon.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None when absent or malformed."""
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
