"""Middleware that applies to every request: request ids, client IP, JSON access log."""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import falcon

from facade.observability.context import REQUEST_ID

access_log = logging.getLogger("facade.access")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_ip(remote_addr: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the socket peer, or from X-Forwarded-For through trusted proxies.

    Walks the chain from the right, past every trusted proxy, so that a client cannot spoof its
    address by sending an X-Forwarded-For of its own to a proxy that appends to it.
    """
    if not _trust(remote_addr, trusted) or not forwarded_for:
        return remote_addr
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        trusted_hop = _trust(hop, trusted)
        if trusted_hop is None:
            return remote_addr
        if not trusted_hop:
            return hop
    return hops[0] if hops else remote_addr


@functools.lru_cache(maxsize=4096)
def _trust(address: str, trusted: tuple[Network, ...]) -> bool | None:
    """Whether a trusted proxy has ``address``; None when it is no IP address. Cached: every
    request asks it of the same few proxies (parsing an address is most of this middleware)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in network for network in trusted)


class RequestContext:
    """Gives every request an id and a client IP, and logs one JSON line per response."""

    def __init__(
        self,
        trusted_proxies: tuple[Network, ...],
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._trusted = trusted_proxies
        self._new_id = new_id
        self._clock = clock

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        incoming = req.get_header("X-Request-Id") or ""
        req.context.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else self._new_id()
        REQUEST_ID.set(req.context.request_id)  # for Keycloak calls and log lines
        req.context.client_ip = client_ip(
            req.remote_addr or "", req.get_header("X-Forwarded-For"), self._trusted
        )
        req.context.started = self._clock()

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        resp.set_header("X-Request-Id", req.context.request_id)
        REQUEST_ID.set("")
        if not access_log.isEnabledFor(logging.INFO):
            return
        # Path only: query strings and bodies may carry phone numbers, codes or tokens.
        access_log.info(
            json.dumps(
                {
                    "event": "access",
                    "request_id": req.context.request_id,
                    "method": req.method,
                    "path": req.path,
                    "status": resp.status_code if hasattr(resp, "status_code") else resp.status,
                    "duration_ms": round((self._clock() - req.context.started) * 1000, 2),
                    "client_ip": req.context.client_ip,
                },
                ensure_ascii=False,
            )
        )
