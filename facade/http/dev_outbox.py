"""``GET /_dev/outbox?to=<phone or email>``: development mode only, mounted by create_app.

Shows what the development sender "delivered" to one target, newest first, so that a developer
or a client test can read a code without an SMS or email account.
"""

from __future__ import annotations

from dataclasses import asdict

import falcon

from facade.adapters.dev_outbox import RedisOutbox
from facade.core.errors import InvalidInput, Unavailable
from facade.core.targets import canonical_target

ROUTE = "/_dev/outbox"


class DevOutboxResource:
    def __init__(self, outbox: RedisOutbox) -> None:
        self._outbox = outbox

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw = req.get_param("to") or ""
        try:
            target = canonical_target(raw)
        except InvalidInput:
            resp.status = falcon.HTTP_400
            resp.media = {"error": "query parameter 'to' must be a phone number or an email"}
            return
        try:
            entries = self._outbox.recent(target)
        except Unavailable as exc:
            resp.status = falcon.HTTP_503
            resp.media = {"error": exc.detail}
            return
        resp.media = {"to": target, "messages": [asdict(entry) for entry in entries]}


def mount_dev_outbox(
    app: falcon.App[falcon.Request, falcon.Response], outbox: RedisOutbox | None
) -> None:
    if outbox is not None:
        app.add_route(ROUTE, DevOutboxResource(outbox))
