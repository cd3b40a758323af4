"""A contract declared as data: its routes, its error table and its envelope.

Mounting adds each route's resource, the OpenAPI document built from the same declarations
(``<prefix>/openapi.json``) and, when enabled, Swagger UI (``<prefix>/docs``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import falcon
from pydantic import BaseModel

from facade.contracts.kit.errors import ErrorRow, ErrorTable, protocol_headers
from facade.http.contract import Rendered
from facade.http.docs import mount_docs

if TYPE_CHECKING:
    from facade.bootstrap import Services

Method = Literal["GET", "POST", "PUT", "DELETE"]
#: Builds a route's resource from the services, handing it only the use cases it calls.
ResourceFactory = Callable[["Services"], object]
#: The body of an error answer: the row, the error (None when building the document's
#: examples) and the route below the prefix (None before routing).
Envelope = Callable[[ErrorRow, BaseException | None, str | None], Any]


@dataclass(frozen=True)
class Route:
    """One documented endpoint: how it is served and how it is documented."""

    method: Method
    path: str
    resource: ResourceFactory
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    success_status: int = 200
    #: Error keys this endpoint can answer, beyond those every endpoint can (see
    #: :func:`Route.error_keys`).
    errors: tuple[str, ...] = ()
    bearer: bool = False
    #: Not in the client's document: an addition the contracts README settles.
    addition: bool = False
    description: str = ""
    request_example: Any = None
    response_example: Any = None

    def error_keys(self) -> tuple[str, ...]:
        implied: list[str] = []
        if self.request is not None:
            implied.append("invalid_input")
        if self.bearer:
            implied.append("invalid_token")
        implied.append("unavailable")
        return tuple(dict.fromkeys([*implied, *self.errors]))


@dataclass(frozen=True)
class KitContract:
    slug: str
    title: str
    routes: tuple[Route, ...]
    errors: ErrorTable
    envelope: Envelope
    #: JSON schema of an error body, and per-status exceptions (FastAPI's 422 list).
    error_schema: Mapping[str, Any]
    error_schemas: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    #: Named schemas added to the document's components, for ``error_schemas`` to reference
    #: (FastAPI's ``HTTPValidationError`` and ``ValidationError``).
    error_components: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The body field that carries the error's code (``code``), None where there is none.
    body_code_field: str | None = "code"
    channels: tuple[str, ...] = ("sms",)
    description: str = ""
    version: str = "1.0.0"

    def mount(
        self, app: falcon.App[falcon.Request, falcon.Response], prefix: str, services: Services
    ) -> None:
        from facade.contracts.kit.openapi import OpenApiDocument, build_document

        for route in self.routes:
            app.add_route(prefix + route.path, route.resource(services))
        document = build_document(self, prefix)
        app.add_route(f"{prefix}/openapi.json", OpenApiDocument(document))
        if services.settings.api_docs:
            mount_docs(app, prefix, title=self.title)

    def render_error(self, error: Exception, route: str | None) -> Rendered:
        row = self.errors.row_for(error, route).resolved(error)
        headers = {**row.headers, **protocol_headers(error)}
        return Rendered(row.status, self.envelope(row, error, route), headers)
