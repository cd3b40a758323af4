"""Bearer authentication for one contract's protected routes."""

from __future__ import annotations

import falcon

from facade.core.errors import InvalidToken
from facade.core.models import Principal
from facade.core.sessions import Sessions


def bearer_token(req: falcon.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``, or None when absent or malformed."""
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class BearerAuth:
    """The caller behind a bearer access token issued to this contract's client."""

    def __init__(self, contract: str, sessions: Sessions) -> None:
        self._contract = contract
        self._sessions = sessions

    def __call__(self, req: falcon.Request) -> Principal:
        token = bearer_token(req)
        if token is None:
            raise InvalidToken("missing bearer token")
        return self._sessions.authenticate(self._contract, token)
