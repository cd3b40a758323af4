"""Development mode only: a sender that delivers nowhere but an outbox a developer can read.

The outbox lives in Redis (capped, expiring) rather than in memory because the development
stack runs several gunicorn workers: the worker that answers ``GET /_dev/outbox`` is seldom the
one that sent. Production never builds either class (see :func:`facade.bootstrap`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import redis

from facade.adapters.redis_keys import RedisKeys
from facade.adapters.redis_store import redis_errors
from facade.core.delivery import Channel, Message
from facade.core.messages import dev_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxEntry:
    target: str
    channel: str
    purpose: str
    code: str
    text: str
    time: str
    contract: str


class RedisOutbox:
    """The latest messages per target, newest first."""

    def __init__(
        self, client: redis.Redis, keys: RedisKeys, keep: int = 50, ttl: int = 86400
    ) -> None:
        self._client = client
        self._keys = keys
        self._keep = keep
        self._ttl = ttl

    def put(self, entry: OutboxEntry) -> None:
        key = self._keys.dev_outbox(entry.target)
        with redis_errors("dev outbox"):
            pipe = self._client.pipeline(transaction=True)
            pipe.lpush(key, json.dumps(asdict(entry), ensure_ascii=False))
            pipe.ltrim(key, 0, self._keep - 1)
            pipe.expire(key, self._ttl)
            pipe.execute()

    def recent(self, target: str) -> list[OutboxEntry]:
        with redis_errors("dev outbox"):
            raw = self._client.lrange(self._keys.dev_outbox(target), 0, self._keep - 1)
        return [OutboxEntry(**json.loads(item)) for item in raw]


class DevSender:
    """Logs the whole message (codes included: development mode only) and keeps it."""

    name = "development"

    def __init__(
        self, channel: Channel, outbox: RedisOutbox, clock: Callable[[], float] = time.time
    ) -> None:
        self.channel = channel
        self._outbox = outbox
        self._clock = clock

    def send(self, message: Message) -> None:
        text = dev_text(message)
        sent_at = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="milliseconds")
        self._outbox.put(
            OutboxEntry(
                target=message.target,
                channel=message.channel,
                purpose=message.purpose,
                code=message.code,
                text=text,
                time=sent_at.replace("+00:00", "Z"),
                contract=message.contract,
            )
        )
        log.info("development %s to %s: %s", message.channel, message.target, text)
