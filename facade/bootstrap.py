"""The composition root: the only place that builds real clients (Keycloak, Redis, senders).

Nothing connects here either: clients connect lazily on first use, inside each gunicorn worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import redis

from facade.adapters import redis_store
from facade.adapters.dev_outbox import DevSender, RedisOutbox
from facade.adapters.identity_store import SqlIdentityStore
from facade.adapters.keycloak import KeycloakGateway
from facade.adapters.keycloak_admin_events import KeycloakAdminEvents
from facade.adapters.redis_codes import RedisCodeStore
from facade.adapters.redis_generation import RedisGenerationMarker
from facade.adapters.redis_identity import (
    RedisProfileCache,
    RedisRevocations,
    RedisUidCounter,
    RedisUniqueClaims,
    RedisUserIndex,
)
from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_ratelimit import RedisRateLimiter
from facade.adapters.redis_tracking import TrackedMirror, tracking_connection_factory
from facade.adapters.sms_aliyun import AliyunSms
from facade.adapters.sms_tencent import TencentSms
from facade.adapters.smtp_sender import SmtpSender
from facade.adapters.wechat import WechatClient
from facade.core.accounts import Accounts
from facade.core.codes import CodeService, CodeStore
from facade.core.delivery import CHANNELS, Channel, Delivery, Sender
from facade.core.enrolment import Enrolment
from facade.core.generations import RedisLossWatch
from facade.core.identity_ledger import IdentityLedger
from facade.core.limits import RateLimiter
from facade.core.phone_binding import PhoneBinding
from facade.core.ports import (
    IdentityProvider,
    ProfileCache,
    Revocations,
    UidCounter,
    UniqueClaims,
    UserIndex,
    WechatSessions,
)
from facade.core.profile_writes import ProfileWriter
from facade.core.registration import Registrar, new_invite_code
from facade.core.sessions import Sessions
from facade.core.users import UserDirectory
from facade.core.verified_sign_in import VerifiedSignIns
from facade.migration.legacy_passwords import StoredLegacyPasswords
from facade.settings import Settings


@dataclass(frozen=True)
class Stores:
    """The ports kept in Redis (what may be lost: codes, limits, caches, claims)."""

    codes: CodeStore
    limiter: RateLimiter
    index: UserIndex
    cache: ProfileCache
    revocations: Revocations
    claims: UniqueClaims
    uids: UidCounter
    ping: Callable[[], None]
    #: Development mode only: what the development sender "sent".
    outbox: RedisOutbox | None = None
    #: The client behind them, for the tests and benchmarks that reach into Redis.
    redis: redis.Redis | None = None
    keys: RedisKeys | None = None
    #: Notices Redis losing data (None for in-memory stores, which cannot lose any).
    redis_loss: RedisLossWatch | None = None


@dataclass
class Services:
    """Everything the contracts call, built once per process."""

    settings: Settings
    identity: IdentityProvider
    stores: Stores
    users: UserDirectory
    registrar: Registrar
    sessions: Sessions
    accounts: Accounts
    codes: CodeService
    verified_sign_ins: VerifiedSignIns
    phone_binding: PhoneBinding
    enrolment: Enrolment
    #: The durable identity records (uids, phones, WeChat ids, invite codes).
    ledger: IdentityLedger | None = None

    @property
    def redis(self) -> redis.Redis:
        assert self.stores.redis is not None, "these services run on in-memory stores"
        return self.stores.redis

    @property
    def keys(self) -> RedisKeys:
        assert self.stores.keys is not None, "these services run on in-memory stores"
        return self.stores.keys

    @property
    def outbox(self) -> RedisOutbox | None:
        return self.stores.outbox

    @property
    def limiter(self) -> RateLimiter:
        return self.stores.limiter


def redis_stores(settings: Settings, durable: SqlIdentityStore | None = None) -> Stores:
    """Every Redis-backed port on one lazily connecting client; with a ``durable`` store,
    a loss of Redis data is noticed (:mod:`facade.core.generations`)."""
    client = redis_store.connect(settings.redis_url, settings.redis_timeout)
    keys = RedisKeys(settings.redis_prefix, cluster=redis_store.is_cluster(client))
    watch = None
    if durable is not None and durable.url:  # no store configured: nothing durable to compare
        watch = RedisLossWatch(RedisGenerationMarker(client, keys), durable)
    mirror = None
    if settings.local_mirror and not redis_store.is_cluster(client):
        mirror = TrackedMirror(
            tracking_connection_factory(client),
            keys.bearer_state_prefixes(),
            drop_all_on=[keys.generation()],
        )
    cache = RedisProfileCache(
        client, keys, settings.profile_cache_ttl, mirror, hold_seconds=profile_hold(settings)
    )
    return Stores(
        codes=RedisCodeStore(client, keys, watch),
        limiter=RedisRateLimiter(client, keys, settings.rate_limits),
        index=RedisUserIndex(client, keys),
        cache=cache,
        # Reads the cached profile with the revocation state: one round trip per bearer check.
        revocations=RedisRevocations(client, keys, watch, profiles=cache, mirror=mirror),
        claims=RedisUniqueClaims(client, keys),
        uids=RedisUidCounter(client, keys),
        ping=lambda: redis_store.ping(client),
        outbox=RedisOutbox(client, keys) if settings.is_development else None,
        redis=client,
        keys=keys,
        redis_loss=watch,
    )


def build_services(
    settings: Settings,
    *,
    identity: IdentityProvider | None = None,
    stores: Stores | None = None,
    senders: Mapping[Channel, list[Sender]] | None = None,
    wechat: WechatSessions | None = None,
    identity_store: SqlIdentityStore | None = None,
) -> Services:
    """The use cases over real clients, or over the ports a test passes in (a test that
    passes its own in-memory ``stores`` gets an in-memory identity store with them)."""
    identity = identity or KeycloakGateway(settings)
    if identity_store is None:
        identity_store = SqlIdentityStore(
            "sqlite://" if stores else settings.database_url,
            timeout=settings.database_timeout,
            # A digest: the URL may carry a password, which has no place in the database.
            redis_namespace=hashlib.sha256(
                f"{settings.redis_url}#{settings.redis_prefix}".encode()
            ).hexdigest()[:16],
        )
    stores = stores or redis_stores(settings, identity_store)
    ledger = IdentityLedger(
        identity_store,
        identity,
        new_invite_code,
        stale_after=max(30.0, 3 * settings.keycloak_timeout),
        writer=profile_writer(identity, identity_store, settings),
    )
    users = UserDirectory(identity, stores.index, stores.cache, ledger)
    sessions = Sessions(
        identity,
        users,
        stores.revocations,
        settings.revocation_ttl,
        stores.limiter,
        redis_loss=stores.redis_loss,
        # Migrated users' legacy hashes (``facade import``), where a store is configured.
        legacy_passwords=StoredLegacyPasswords(identity_store) if identity_store.url else None,
    )
    codes = CodeService(
        stores.codes,
        stores.limiter,
        Delivery(dict(senders) if senders is not None else build_senders(settings, stores.outbox)),
        settings.codes.policy_for,
        settings.secret,
        development=settings.is_development,
    )
    registrar = Registrar(identity, users, stores.claims, stores.uids, ledger=ledger)
    accounts = Accounts(identity, users, sessions, stores.claims, ledger=ledger)
    if wechat is None and settings.wechat_appid:
        wechat = WechatClient.from_settings(settings)
    return Services(
        settings=settings,
        identity=identity,
        stores=stores,
        users=users,
        registrar=registrar,
        sessions=sessions,
        accounts=accounts,
        codes=codes,
        verified_sign_ins=VerifiedSignIns(
            users,
            registrar,
            sessions,
            codes,
            accounts,
            wechat,
            profile_from_id_token=settings.sign_in_id_token,
        ),
        phone_binding=PhoneBinding(codes, accounts),
        enrolment=Enrolment(identity, users, registrar, sessions, accounts, codes),
        ledger=ledger,
    )


def profile_hold(settings: Settings) -> float:
    """Seconds a change keeps users read before it out of the profile cache: longer than a
    read from Keycloak (connect and read timeouts) and the write to Redis can take."""
    return max(10.0, 2 * settings.keycloak_timeout + settings.redis_timeout + 2)


def profile_writer(
    identity: IdentityProvider, store: SqlIdentityStore, settings: Settings
) -> ProfileWriter:
    """User writes serialised per user on the store, checked against Keycloak's admin events
    (plain writes when the provider is not the Keycloak gateway, as in the fast tests)."""
    if not isinstance(identity, KeycloakGateway) or not store.url:
        return ProfileWriter(identity)
    return ProfileWriter(identity, store, KeycloakAdminEvents(identity, settings.keycloak_realm))


def build_senders(settings: Settings, outbox: RedisOutbox | None) -> dict[Channel, list[Sender]]:
    """The real senders of each channel in the configured order; in development mode, a channel
    without one gets the development sender, so the stack runs with no provider account while a
    developer can still try a real provider by configuring it."""
    delivery = settings.delivery
    senders: dict[Channel, list[Sender]] = {channel: [] for channel in CHANNELS}
    for provider in delivery.sms_providers:
        if provider == "aliyun" and delivery.aliyun:
            senders["sms"].append(AliyunSms(delivery.aliyun, delivery.timeout))
        elif provider == "tencent" and delivery.tencent:
            senders["sms"].append(TencentSms(delivery.tencent, delivery.timeout))
    if delivery.smtp:
        senders["email"].append(SmtpSender(delivery.smtp, delivery.timeout))
    if outbox is not None:
        for channel, chain in senders.items():
            if not chain:
                chain.append(DevSender(channel, outbox))
    return senders
