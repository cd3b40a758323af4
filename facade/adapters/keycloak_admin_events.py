"""Keycloak's admin events on users (``GET /admin/realms/{realm}/admin-events``), and users'
own changes to themselves (``GET /admin/realms/{realm}/events``, user events).

Read through the gateway's own admin client, so the calls carry its timeouts and circuit
breaker and its error translation. Needs the service account's ``view-events`` role, the
realm's admin events with representation and its stored user events (all three in
``keycloak-realm/facade-realm.json`` and ``facade realm apply``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jwt
from keycloak.exceptions import KeycloakGetError, raise_error_from_response

from facade.adapters.keycloak import KeycloakGateway, _translated
from facade.core.admin_events import AdminEvent
from facade.core.errors import Unavailable

#: Events on users: the console's and the admin API's (``USER``), and the users of a partial
#: import (``REALM``, with the user's own resource path).
USER_EVENT_TYPES = ("USER", "REALM", "USER_SESSION")
#: Keycloak's user events in which a user changes or deletes themselves: exactly the types the
#: realm stores (``enabledEventTypes`` in ``keycloak-realm/facade-realm.json``; sign-ins and
#: refreshes are not stored, so they cost Keycloak no write).
ACCOUNT_EVENT_TYPES = ("UPDATE_PROFILE", "UPDATE_EMAIL", "VERIFY_EMAIL", "DELETE_ACCOUNT")


class KeycloakAdminEvents:
    """:class:`facade.core.admin_events.AdminEventSource` over the Keycloak gateway."""

    def __init__(self, gateway: KeycloakGateway, realm: str) -> None:
        self._gateway = gateway
        self._path = f"admin/realms/{realm}/admin-events"
        self._account_path = f"admin/realms/{realm}/events"
        self._own: str | None = None

    def user_events(
        self, since_ms: int, first: int, count: int, user_id: str | None = None
    ) -> list[AdminEvent]:
        query: dict[str, str | list[str]] = {
            "resourceTypes": list(USER_EVENT_TYPES),
            "dateFrom": str(since_ms),
            "direction": "asc",
            "first": str(first),
            "max": str(count),
        }
        if user_id is not None:
            query["resourcePath"] = f"users/{user_id}"
        return [_event_from(raw) for raw in self._get(query)]

    def account_events(self, since_ms: int, first: int, count: int) -> list[AdminEvent]:
        found = self._get(
            {
                "type": list(ACCOUNT_EVENT_TYPES),
                "dateFrom": str(since_ms),
                "direction": "asc",
                "first": str(first),
                "max": str(count),
            },
            self._account_path,
        )
        return [event for event in map(_account_event_from, found) if event is not None]

    def latest_user_event(self, user_id: str) -> AdminEvent | None:
        found = self._get(
            {
                "resourceTypes": list(USER_EVENT_TYPES),
                "resourcePath": f"users/{user_id}",
                "max": "1",
            }
        )
        return _event_from(found[0]) if found else None

    def own_author_id(self) -> str:
        """The ``sub`` of the service account's own token: its user id in the realm."""
        if self._own is None:
            admin = self._gateway._admin()
            with _translated("read the service account"):
                connection = admin.connection
                if not connection.token:
                    connection.get_token()
                token_set = connection.token or {}
                token = str(token_set.get("access_token", ""))
            claims = jwt.decode(token, options={"verify_signature": False})
            self._own = str(claims["sub"])
        return self._own

    def _get(
        self, query: Mapping[str, str | list[str]], path: str | None = None
    ) -> list[Mapping[str, Any]]:
        admin = self._gateway._admin()
        with _translated("read admin events"):
            response = admin.connection.raw_get(path or self._path, **query)
            found = raise_error_from_response(response, KeycloakGetError)
        if not isinstance(found, list):
            raise Unavailable("keycloak", "read admin events: unexpected answer")
        return found


def _event_from(raw: Mapping[str, Any]) -> AdminEvent:
    representation: Mapping[str, Any] | None = None
    text = raw.get("representation")
    if isinstance(text, str) and text:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        representation = parsed if isinstance(parsed, dict) else None
    return AdminEvent(
        id=str(raw.get("id") or f"{raw.get('time')}:{raw.get('resourcePath')}"),
        time_ms=int(raw.get("time") or 0),
        operation=str(raw.get("operationType", "")),
        resource_path=str(raw.get("resourcePath", "")),
        author_id=(raw.get("authDetails") or {}).get("userId"),
        representation=representation,
    )


def _account_event_from(raw: Mapping[str, Any]) -> AdminEvent | None:
    """A user event as an event on its user (None without one): a deletion is ``DELETE``,
    anything else an ``UPDATE`` the follower settles by reading the user as it is now."""
    user_id = raw.get("userId")
    if not isinstance(user_id, str) or not user_id:
        return None
    kind = str(raw.get("type", ""))
    return AdminEvent(
        id=str(raw.get("id") or f"{raw.get('time')}:{kind}:{user_id}"),
        time_ms=int(raw.get("time") or 0),
        operation="DELETE" if kind == "DELETE_ACCOUNT" else "UPDATE",
        resource_path=f"users/{user_id}",
        author_id=user_id,
    )
