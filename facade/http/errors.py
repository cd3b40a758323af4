"""The one error handler: the contract mounted at the request's path renders every error."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import falcon

from facade.core.errors import FacadeError
from facade.http.contract import Contract, http_status_of

log = logging.getLogger(__name__)


def compact_json(value: Any) -> str:
    """JSON as the facade writes every body (the app's media handler, and nginx's own error
    pages rendered by ``facade nginx errors``, which must be byte for byte the same)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ContractErrorHandler:
    """Finds the contract by longest matching prefix and lets it choose status and body.

    Matching by prefix (not by the matched resource) also covers errors raised before routing,
    such as an unknown path under a contract's prefix, which must still be in its format.
    """

    def __init__(self, mounts: Iterable[tuple[str, Contract]]) -> None:
        self._mounts = sorted(mounts, key=lambda mount: len(mount[0]), reverse=True)

    def contract_for(self, path: str) -> Contract | None:
        mount = self._mount_for(path)
        return mount[1] if mount else None

    def _mount_for(self, path: str) -> tuple[str, Contract] | None:
        for prefix, contract in self._mounts:
            if prefix == "" or path == prefix or path.startswith(prefix + "/"):
                return prefix, contract
        return None

    def _route_below(self, req: falcon.Request) -> str | None:
        template = req.uri_template
        mount = self._mount_for(req.path)
        if not template or mount is None:
            return None
        return template[len(mount[0]) :] if template.startswith(mount[0]) else template

    def __call__(
        self, req: falcon.Request, resp: falcon.Response, error: Exception, params: Any
    ) -> None:
        if not isinstance(error, FacadeError | falcon.HTTPError):
            log.exception(
                "unhandled error", extra={"request_id": getattr(req.context, "request_id", "")}
            )
        if isinstance(error, falcon.HTTPError):
            # Falcon's own headers carry protocol facts (Allow on a 405) that must survive.
            resp.set_headers(error.headers or {})
        contract = self.contract_for(req.path)
        if contract is None:
            status = http_status_of(error)
            resp.status = status
            resp.media = {"error": falcon.code_to_http_status(status)}
            return
        rendered = contract.render_error(error, self._route_below(req))
        resp.status = rendered.status
        resp.media = rendered.body
        for name, value in rendered.headers.items():
            resp.set_header(name, value)
