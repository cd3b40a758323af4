"""Building the code service on the real Redis with the senders a test chooses."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence

import redis

from facade.adapters.dev_outbox import DevSender, RedisOutbox
from facade.adapters.redis_codes import RedisCodeStore
from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_ratelimit import RedisRateLimiter
from facade.adapters.sms_aliyun import AliyunSms
from facade.core.codes import CodeService
from facade.core.delivery import Delivery, Sender
from facade.core.limits import CodePolicy, RateRule
from facade.stack.processes import free_port
from tests.standins.fixtures import aliyun_config

SECRET = "test-server-secret-of-at-least-32-chars"


def unreachable_aliyun() -> AliyunSms:
    """A real Aliyun sender whose endpoint has nothing listening: a provider that is down."""
    return AliyunSms(aliyun_config(f"http://127.0.0.1:{free_port()}"), timeout=2)


def code_service(
    client: redis.Redis,
    prefix: str,
    *,
    sms: Sequence[Sender] | None = None,
    email: Sequence[Sender] | None = None,
    policy: CodePolicy | None = None,
    policies: Mapping[str, CodePolicy] | None = None,
    rules: Mapping[str, tuple[RateRule, ...]] | None = None,
    development: bool = True,
    new_code: Callable[[], str] | None = None,
) -> tuple[CodeService, RedisOutbox]:
    """A code service whose channels default to the development sender and the outbox."""
    keys = RedisKeys(prefix)
    outbox = RedisOutbox(client, keys)
    senders: dict[str, list[Sender]] = {
        "sms": list(sms) if sms is not None else [DevSender("sms", outbox)],
        "email": list(email) if email is not None else [DevSender("email", outbox)],
    }
    default = policy or CodePolicy()
    overrides = dict(policies or {})
    service = CodeService(
        RedisCodeStore(client, keys),
        RedisRateLimiter(client, keys, rules or {}),
        Delivery(senders),  # type: ignore[arg-type]
        lambda contract: overrides.get(contract, default),
        SECRET,
        development=development,
        **({"new_code": new_code} if new_code else {}),
    )
    return service, outbox


def random_phone() -> str:
    return "13" + str(secrets.randbelow(10)) + f"{secrets.randbelow(10**8):08d}"


def random_email() -> str:
    return f"u{secrets.token_hex(5)}@example.com"


def wrong(code: str) -> str:
    """A code that differs from ``code`` in its last digit."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)
