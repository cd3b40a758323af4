"""One OpenAPI 3.1 builder for every contract, from its route declarations and error table.

Request and response schemas come from the pydantic models the server validates with, error
responses from the rows the server renders with, so the document cannot drift from the code.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import falcon
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from facade.contracts.kit.contract import KitContract, Route
from facade.contracts.kit.errors import ErrorRow

Schema = dict[str, Any]
REF_TEMPLATE = "#/components/schemas/{model}"
_RETRY_AFTER = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}


def build_document(contract: KitContract, prefix: str) -> Schema:
    models = _models(contract)
    keyed, definitions = models_json_schema(
        [(model, "validation") for model in models], ref_template=REF_TEMPLATE
    )
    refs = {model: keyed[(model, "validation")] for model in models}
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for route in contract.routes:
        paths[route.path][route.method.lower()] = _operation(contract, route, refs)
    components: Schema = {
        "schemas": {
            "Error": dict(contract.error_schema),
            **{name: dict(schema) for name, schema in contract.error_components.items()},
            **definitions.get("$defs", {}),
        },
        "headers": {
            "RetryAfter": {
                "description": "Seconds until the request may be repeated",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
    if any(route.bearer for route in contract.routes):
        components["securitySchemes"] = {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": contract.title,
            "version": contract.version,
            "description": contract.description,
        },
        "servers": [{"url": prefix or "/"}],
        "paths": dict(paths),
        "components": components,
    }


def _models(contract: KitContract) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for route in contract.routes:
        for model in (route.request, route.response):
            if model is not None and model not in found:
                found.append(model)
    return found


def _operation(contract: KitContract, route: Route, refs: dict[type[BaseModel], Schema]) -> Schema:
    operation: Schema = {
        "operationId": _operation_id(route),
        "summary": route.summary,
        "responses": _responses(contract, route, refs),
    }
    if route.description or route.addition:
        note = "Added by the facade (contracts README); not in the client's document."
        operation["description"] = " ".join(
            part for part in (route.description, note if route.addition else "") if part
        )
    if route.addition:
        operation["x-facade-addition"] = True
    if route.request is not None:
        content: Schema = {"schema": refs[route.request]}
        if route.request_example is not None:
            content["example"] = route.request_example
        operation["requestBody"] = {"required": True, "content": {"application/json": content}}
    if route.bearer:
        operation["security"] = [{"bearerAuth": []}]
    return operation


def _responses(
    contract: KitContract, route: Route, refs: dict[type[BaseModel], Schema]
) -> dict[str, Schema]:
    by_status: dict[int, list[tuple[str, ErrorRow, Any]]] = defaultdict(list)
    for key in route.error_keys():
        variant = key.split(".", 1)[1] if "." in key else None
        row = contract.errors.lookup(key, route.path).resolved(None, variant)
        example = contract.envelope(row, None, route.path)
        if all(example != seen for _, _, seen in by_status[row.status]):
            by_status[row.status].append((key, row, example))

    responses: dict[str, Schema] = {}
    success: Schema = {"description": "Success"}
    if route.response is not None:
        content: Schema = {"schema": refs[route.response]}
        if route.response_example is not None:
            content["example"] = route.response_example
        success["content"] = {"application/json": content}
    responses[str(route.success_status)] = success

    for status, examples in sorted(by_status.items()):
        error_schema = _error_schema(contract, status, [row for _, row, _ in examples])
        named = {key: {"value": value} for key, _, value in examples}
        if status == route.success_status:
            # customer answers every documented outcome with HTTP 200: success or error body.
            existing = success.setdefault("content", {"application/json": {"schema": {}}})
            media = existing["application/json"]
            media["schema"] = {"oneOf": [media.get("schema", {}), error_schema]}
            media.setdefault("examples", {}).update(named)
            if "example" in media:
                media["examples"]["success"] = {"value": media.pop("example")}
            if any(key.split(".", 1)[0] == "rate_limited" for key in named):
                success["headers"] = _RETRY_AFTER  # sent only with the rate-limit body
            continue
        response: Schema = {
            "description": falcon.code_to_http_status(status)[4:],
            "content": {"application/json": {"schema": error_schema, "examples": named}},
        }
        if status == 429:
            response["headers"] = _RETRY_AFTER
        responses[str(status)] = response
    return responses


def _error_schema(contract: KitContract, status: int, rows: list[ErrorRow]) -> Schema:
    """The error body of one status; its body code limited to the codes the rows answer."""
    if status in contract.error_schemas:
        return dict(contract.error_schemas[status])
    reference: Schema = {"$ref": "#/components/schemas/Error"}
    if contract.body_code_field is None:
        return reference
    codes = sorted({row.body_code for row in rows})
    return {"allOf": [reference, {"properties": {contract.body_code_field: {"enum": codes}}}]}


def _operation_id(route: Route) -> str:
    words = [w for w in route.path.replace("-", "/").replace("_", "/").split("/") if w]
    return route.method.lower() + "".join(word.capitalize() for word in words)


class OpenApiDocument:
    """Serves the document built at mount time."""

    def __init__(self, document: Schema) -> None:
        self._document = document

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self._document
