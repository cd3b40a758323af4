"""One poll of the admin-event follower, as `facade identities follow` makes it in a
deployment, handling only the users a test made: other tests' users share the realm and are
not this test's to settle (dropping their cached profiles is harmless)."""

from __future__ import annotations

from facade.adapters.keycloak_admin_events import KeycloakAdminEvents
from facade.bootstrap import Services
from facade.core.admin_event_follower import CURSOR_KEY, AdminEventFollower, Cursor
from facade.core.admin_events import AdminEvent


class OnlyTheseUsers(AdminEventFollower):
    def __init__(self, services: Services, user_ids: set[str]) -> None:
        super().__init__(
            services.ledger,
            KeycloakAdminEvents(services.identity, services.settings.keycloak_realm),
            profiles=services.stores.cache,
            revocations=services.stores.revocations,
            revocation_ttl=services.settings.revocation_ttl,
        )
        self.mine = user_ids

    def handle(self, event: AdminEvent) -> None:
        if event.user_id in self.mine:
            super().handle(event)


def follow_operator_edits(services: Services, *user_ids: str, since_ms: int) -> int:
    """Poll the admin events since ``since_ms`` once; returns how many were handled."""
    services.ledger.store.set_meta(CURSOR_KEY, Cursor(since_ms).dump())
    return OnlyTheseUsers(services, set(user_ids)).poll()
