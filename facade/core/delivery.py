"""Delivering a code: senders tried in order per channel, failures typed, codes never logged.

Adapters (Aliyun, Tencent, SMTP, the development sender) implement :class:`Sender` and report
a failure as :class:`SendFailure` with one of three reasons. The chain falls over to the next
sender of the channel when one is down or throttled; a rejected target stops it, because the
next provider would be asked to deliver to the same bad number or address.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from facade.core.errors import DeliveryFailed
from facade.core.targets import mask_target
from facade.observability import metrics

log = logging.getLogger(__name__)

Channel = Literal["sms", "email"]
CHANNELS: tuple[Channel, ...] = ("sms", "email")
FailureReason = Literal["provider_down", "throttled", "target_rejected"]


@dataclass(frozen=True)
class Message:
    """One verification code to deliver; ``code`` stays out of ``repr`` and so out of logs."""

    channel: Channel
    contract: str
    purpose: str
    target: str
    code: str = field(repr=False)
    ttl: int = 300


class SendFailure(Exception):
    """A sender could not deliver. ``detail`` names the provider's error code, never the
    message, the code or a URL (SDK errors may carry the signed query string)."""

    def __init__(self, reason: FailureReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: FailureReason = reason
        self.detail = detail


class Sender(Protocol):
    """One provider of one channel."""

    name: str
    channel: Channel

    def send(self, message: Message) -> None:
        """Deliver or raise :class:`SendFailure`."""


class Delivery:
    """The configured senders of each channel, tried in order."""

    def __init__(self, senders: Mapping[Channel, Sequence[Sender]]) -> None:
        self._senders = {channel: tuple(chain) for channel, chain in senders.items()}

    def senders(self, channel: Channel) -> tuple[Sender, ...]:
        return self._senders.get(channel, ())

    def deliver(self, message: Message) -> str:
        """Deliver through the first sender that accepts; returns its name.

        Raises :class:`DeliveryFailed`: ``target_rejected`` as soon as a provider refuses the
        target, else ``throttled`` if any provider throttled, else ``provider_down``.
        """
        chain = self.senders(message.channel)
        if not chain:
            raise DeliveryFailed(message.channel, "provider_down", "no sender configured")
        throttled = False
        for sender in chain:
            try:
                sender.send(message)
            except SendFailure as failure:
                log.warning(
                    "%s delivery via %s failed: %s (%s) to %s for %s/%s",
                    message.channel,
                    sender.name,
                    failure.reason,
                    failure.detail,
                    mask_target(message.target),
                    message.contract,
                    message.purpose,
                )
                metrics.delivery_failover(message.channel, sender.name, failure.reason)
                if failure.reason == "target_rejected":
                    raise DeliveryFailed(message.channel, "target_rejected") from None
                throttled = throttled or failure.reason == "throttled"
                continue
            metrics.code_sent(message.channel, sender.name)
            return sender.name
        raise DeliveryFailed(message.channel, "throttled" if throttled else "provider_down")
