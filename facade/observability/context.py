"""The id of the request a thread is serving, for calls it makes and lines it logs.

``RequestContext`` (facade/http/middleware.py) sets it; the Keycloak transport sends it as
``X-Request-Id`` (Keycloak's access log can show it) and every log line names it, so one id
follows a request through nginx, the facade and Keycloak.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("facade_request_id", default="")


def current_request_id() -> str:
    return REQUEST_ID.get()


class RequestIdFormatter(logging.Formatter):
    """The message, followed by ``request_id=...`` when a request is being served (JSON lines,
    such as the access log, carry the id already and stay as they are)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = REQUEST_ID.get()
        if request_id and not line.startswith("{"):
            return f"{line} request_id={request_id}"
        return line
