"""Request bodies into declared models, or one :class:`InvalidInput` listing every failure.

Bodies must be ``application/json`` (so a cross-site form can neither send SMS nor sign anyone
in), at most :data:`MAX_BODY_BYTES`, and nested no deeper than :data:`MAX_DEPTH`. The error
list is pydantic's, in the ``{"loc", "msg", "type"}`` shape FastAPI answers with in a 422.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import falcon
from pydantic import BaseModel, ValidationError

from facade.core.errors import InvalidInput

Model = TypeVar("Model", bound=BaseModel)

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 16


def parse(req: falcon.Request, model: type[Model]) -> Model:
    """The body of ``req`` as ``model``; :class:`InvalidInput` for anything else."""
    return validate(read_json(req), model)


def validate(body: Any, model: type[Model]) -> Model:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise invalid_input(exc) from None


def invalid_input(exc: ValidationError) -> InvalidInput:
    errors = tuple(
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return InvalidInput(field, str(first["msg"]), errors)


def read_json(req: falcon.Request) -> Any:
    """The parsed JSON body; the media type, size and depth are checked first."""
    media_type = (req.content_type or "").split(";", 1)[0].strip().lower()
    length = req.content_length
    if not length and media_type != "application/json":
        raise body_error("missing", "request body is required")
    if media_type != "application/json":
        raise body_error("content_type", "request body must be application/json")
    if length is not None and length > MAX_BODY_BYTES:
        raise too_large()
    raw = _body_bytes(req)
    if len(raw) > MAX_BODY_BYTES:
        raise too_large()
    if not raw.strip():
        raise body_error("missing", "request body is required")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise body_error("json_invalid", "request body is not valid JSON") from None
    if _depth_exceeds(body, MAX_DEPTH):
        raise body_error("too_deep", f"request body is nested deeper than {MAX_DEPTH}")
    if not isinstance(body, dict):
        raise body_error("model_type", "request body must be a JSON object")
    return body


def _body_bytes(req: falcon.Request) -> bytes:
    """At most one byte over the limit, whether the body has a length or comes in chunks.

    A chunked body has no Content-Length, so Falcon's bounded stream reads it as empty; the
    server marks the input as ending at the body's end (``wsgi.input_terminated``, set by
    gunicorn), which makes reading the raw stream safe.
    """
    if req.content_length is None and req.env.get("wsgi.input_terminated"):
        return bytes(req.stream.read(MAX_BODY_BYTES + 1))
    return bytes(req.bounded_stream.read(MAX_BODY_BYTES + 1))


def too_large() -> InvalidInput:
    """A body over :data:`MAX_BODY_BYTES`: what the facade raises and what nginx, which stops
    such a body first, answers in its place (``facade nginx errors``)."""
    return body_error("too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")


def body_error(error_type: str, message: str) -> InvalidInput:
    """A fault of the body as a whole (no field to name), in pydantic's error shape."""
    return InvalidInput(None, message, ({"loc": [], "msg": message, "type": error_type},))


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Iterative, so a hostile body cannot exhaust the interpreter's stack here either."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False
