"""Error tables as data: from the core's typed errors to a contract's documented answers.

A table maps error keys to rows. An error's keys go from the most specific to the most general:
``already_exists.phone`` then ``already_exists`` for a :class:`FacadeError` (``kind.variant``,
then ``kind``), ``http.404`` then ``http`` for Falcon's own errors, ``internal`` for anything
unexpected. A route may override any key where its document words an error differently. The
OpenAPI builder reads the same rows, so the documented errors and the served ones are one list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import falcon

from facade.core.errors import DeliveryFailed, FacadeError, RateLimited

INTERNAL = "internal"


@dataclass(frozen=True)
class ErrorRow:
    """One documented answer.

    ``code`` is the body code where it differs from the HTTP status (customer's 100xx, vcode's
    upper-case types go to ``info``); ``info`` is a second documented string (captcha's
    ``error_info``, vcode's ``error.type``).
    """

    #: HTTP status; 0 takes the status of Falcon's own error (404, 405, ...).
    status: int
    #: May name the error's fields: ``{detail}``, ``{field}``, ``{part}``, ``{reason}``,
    #: ``{code}``, and ``{title}`` (the HTTP reason phrase).
    message: str
    code: int | None = None
    info: str | None = None
    #: Headers this answer always carries (``WWW-Authenticate`` on a FastAPI-style 401).
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def body_code(self) -> int:
        return self.status if self.code is None else self.code

    def resolved(self, error: BaseException | None, variant: str | None = None) -> ErrorRow:
        """The row with the status and the error's own words filled in; for the document,
        samples (with the key's ``variant`` as its field, part or reason)."""
        status = self.status or (_http_status(error) if error is not None else 400)
        if error is None:
            samples = dict(_SAMPLES)
            if variant:
                samples.update(field=variant, part=variant, reason=variant)
            fields = _Fields(samples)
        else:
            fields = _Fields(vars(error))
        fields["title"] = falcon.code_to_http_status(status)[4:]
        return replace(
            self,
            status=status,
            message=self.message.format_map(fields),
            info=self.info.format_map(fields) if self.info is not None else None,
        )


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


#: What the document's examples show for an error's own words.
_SAMPLES = {
    "detail": "phone: invalid mainland China mobile number",
    "field": "phone",
    "part": "keycloak",
    "reason": "invalid_code",
    "code": "40029",
}


def _http_status(error: BaseException) -> int:
    return int(error.status_code) if isinstance(error, falcon.HTTPError) else 500


def error_keys(error: BaseException) -> list[str]:
    """The table keys of ``error``, most specific first."""
    if isinstance(error, FacadeError):
        variant = error.variant
        return [f"{error.kind}.{variant}", error.kind] if variant else [error.kind]
    if isinstance(error, falcon.HTTPError):
        return [f"http.{error.status_code}", "http"]
    return [INTERNAL]


def all_error_kinds() -> set[str]:
    """The ``kind`` of every :class:`FacadeError` subtype: each table must cover them all."""
    kinds: set[str] = set()
    pending: list[type[FacadeError]] = [FacadeError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not FacadeError:
            kinds.add(cls.kind)
    return kinds


@dataclass(frozen=True)
class ErrorTable:
    rows: Mapping[str, ErrorRow]
    #: route (below the prefix) -> key -> row, where a document words one error differently.
    routes: Mapping[str, Mapping[str, ErrorRow]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = {INTERNAL, "http"} - set(self.rows)
        if missing:
            raise ValueError(f"an error table needs rows for {sorted(missing)}")

    def row_for(self, error: BaseException, route: str | None) -> ErrorRow:
        overrides = self.routes.get(route or "", {})
        for key in error_keys(error):
            row = overrides.get(key) or self.rows.get(key)
            if row is not None:
                return row
        return self.rows[INTERNAL]

    def lookup(self, key: str, route: str | None = None) -> ErrorRow:
        """The row of ``key`` as a route would answer it (for documents and tests)."""
        overrides = self.routes.get(route or "", {})
        kind = key.split(".", 1)[0]
        for candidate in (key, kind):
            row = overrides.get(candidate) or self.rows.get(candidate)
            if row is not None:
                return row
        return self.rows[INTERNAL]

    def missing_kinds(self) -> set[str]:
        """Error kinds without a row: they would fall through to the internal error."""
        return {kind for kind in all_error_kinds() if kind not in self.rows}

    def keys(self) -> Iterator[str]:
        yield from self.rows


def protocol_headers(error: BaseException) -> dict[str, str]:
    """Headers that belong to an error whatever the contract: when to retry."""
    if isinstance(error, RateLimited):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, DeliveryFailed) and error.reason == "throttled":
        return {"Retry-After": "60"}
    return {}
