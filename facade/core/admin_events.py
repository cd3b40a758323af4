"""Keycloak's admin events on users, as the core reads them (behind a port, like every other
Keycloak call): the follower settles operators' changes from them, and the facade's profile
writes notice an operator's write that landed in their window. Users' own changes (Keycloak's
user events) come through the same port, shaped as events on the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class AdminEvent:
    """One of Keycloak's admin events on a user (``representation``: what the caller sent)."""

    id: str
    time_ms: int
    operation: str
    resource_path: str
    author_id: str | None = None
    representation: Mapping[str, Any] | None = None

    @property
    def user_id(self) -> str | None:
        """The user the event is about, for events on the user itself (not its sub-resources:
        credentials, role mappings, groups and sessions carry no identifier the store keeps)."""
        parts = self.resource_path.split("/")
        return parts[1] if len(parts) == 2 and parts[0] == "users" and parts[1] else None

    @property
    def ended_session(self) -> str | None:
        """The session an operator signed out (the console's Sessions tab, one session)."""
        parts = self.resource_path.split("/")
        if self.operation == "DELETE" and len(parts) == 2 and parts[0] == "sessions":
            return parts[1] or None
        return None

    @property
    def signed_out_user(self) -> str | None:
        """The user an operator signed out of every session (the console's "Sign out")."""
        parts = self.resource_path.split("/")
        if self.operation == "ACTION" and len(parts) == 3 and parts[::2] == ["users", "logout"]:
            return parts[1] or None
        return None


class AdminEventSource(Protocol):
    """Keycloak's admin events, as the follower and the profile writes read them."""

    def user_events(
        self, since_ms: int, first: int, count: int, user_id: str | None = None
    ) -> list[AdminEvent]:
        """Events on users at or after ``since_ms`` (a partial import's too), oldest first;
        ``user_id``: that user's only."""
        ...

    def account_events(self, since_ms: int, first: int, count: int) -> list[AdminEvent]:
        """Users' own changes to themselves at or after ``since_ms`` (the account console,
        required actions: Keycloak's user events that change a profile or delete the user),
        oldest first, as events on ``users/<id>`` authored by that user."""
        ...

    def latest_user_event(self, user_id: str) -> AdminEvent | None:
        """The newest event on one user, if any."""
        ...

    def own_author_id(self) -> str:
        """The facade's service-account user: the events it authored are the facade's writes."""
        ...
