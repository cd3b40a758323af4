"""The composition root: the only place that builds real clients (Keycloak, Redis, senders).

Nothing connects here either: clients connect lazily on first use, inside each gunicorn worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from facade.adapters import redis_store
from facade.adapters.keycloak import KeycloakGateway
from facade.adapters.redis_keys import RedisKeys
from facade.settings import Settings


@dataclass
class Services:
    """Everything the contracts call, built once per process."""

    settings: Settings
    identity: KeycloakGateway
    redis: redis.Redis
    keys: RedisKeys


def build_services(settings: Settings) -> Services:
    return Services(
        settings=settings,
        identity=KeycloakGateway(settings),
        redis=redis_store.connect(settings.redis_url),
        keys=RedisKeys(settings.redis_prefix),
    )
