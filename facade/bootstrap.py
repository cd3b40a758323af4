"""The composition root: the only place that builds real clients (Keycloak, Redis, senders).

Nothing connects here either: clients connect lazily on first use, inside each gunicorn worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from facade.adapters import redis_store
from facade.adapters.keycloak import KeycloakGateway
from facade.adapters.redis_identity import (
    RedisProfileCache,
    RedisRevocations,
    RedisUidCounter,
    RedisUniqueClaims,
    RedisUserIndex,
)
from facade.adapters.redis_keys import RedisKeys
from facade.core.accounts import Accounts
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.users import UserDirectory
from facade.settings import Settings


@dataclass
class Services:
    """Everything the contracts call, built once per process."""

    settings: Settings
    identity: KeycloakGateway
    redis: redis.Redis
    keys: RedisKeys
    users: UserDirectory
    registrar: Registrar
    sessions: Sessions
    accounts: Accounts


def build_services(settings: Settings) -> Services:
    identity = KeycloakGateway(settings)
    client = redis_store.connect(settings.redis_url)
    keys = RedisKeys(settings.redis_prefix)
    claims = RedisUniqueClaims(client, keys)
    users = UserDirectory(
        identity,
        RedisUserIndex(client, keys),
        RedisProfileCache(client, keys, settings.profile_cache_ttl),
    )
    sessions = Sessions(identity, users, RedisRevocations(client, keys), settings.revocation_ttl)
    return Services(
        settings=settings,
        identity=identity,
        redis=client,
        keys=keys,
        users=users,
        registrar=Registrar(identity, users, claims, RedisUidCounter(client, keys)),
        sessions=sessions,
        accounts=Accounts(identity, users, sessions, claims),
    )
