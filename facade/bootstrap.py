"""The composition root: the only place that builds real clients (Keycloak, Redis, senders).

Nothing connects here either: clients connect lazily on first use, inside each gunicorn worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from facade.adapters import redis_store
from facade.adapters.dev_outbox import DevSender, RedisOutbox
from facade.adapters.keycloak import KeycloakGateway
from facade.adapters.redis_codes import RedisCodeStore
from facade.adapters.redis_identity import (
    RedisProfileCache,
    RedisRevocations,
    RedisUidCounter,
    RedisUniqueClaims,
    RedisUserIndex,
)
from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_ratelimit import RedisRateLimiter
from facade.adapters.sms_aliyun import AliyunSms
from facade.adapters.sms_tencent import TencentSms
from facade.adapters.smtp_sender import SmtpSender
from facade.adapters.wechat import WechatClient
from facade.core.accounts import Accounts
from facade.core.codes import CodeService
from facade.core.delivery import CHANNELS, Channel, Delivery, Sender
from facade.core.phone_binding import PhoneBinding
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.users import UserDirectory
from facade.core.verified_sign_in import VerifiedSignIns
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
    limiter: RedisRateLimiter
    codes: CodeService
    #: Development mode only (None in production): what the development sender "sent".
    outbox: RedisOutbox | None
    verified_sign_ins: VerifiedSignIns
    phone_binding: PhoneBinding


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
    limiter = RedisRateLimiter(client, keys, settings.rate_limits)
    outbox = RedisOutbox(client, keys) if settings.is_development else None
    codes = CodeService(
        RedisCodeStore(client, keys),
        limiter,
        Delivery(build_senders(settings, outbox)),
        settings.codes.policy_for,
        settings.secret,
        development=settings.is_development,
    )
    registrar = Registrar(identity, users, claims, RedisUidCounter(client, keys))
    accounts = Accounts(identity, users, sessions, claims)
    wechat = WechatClient.from_settings(settings) if settings.wechat_appid else None
    return Services(
        settings=settings,
        identity=identity,
        redis=client,
        keys=keys,
        users=users,
        registrar=registrar,
        sessions=sessions,
        accounts=accounts,
        limiter=limiter,
        codes=codes,
        outbox=outbox,
        verified_sign_ins=VerifiedSignIns(users, registrar, sessions, codes, wechat),
        phone_binding=PhoneBinding(codes, accounts),
    )


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
