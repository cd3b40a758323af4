"""The chain of senders of a channel, with hand-written senders (pure core logic)."""

from __future__ import annotations

import pytest

from facade.core.delivery import Delivery, Message, SendFailure
from facade.core.errors import DeliveryFailed
from facade.core.messages import dev_text, email_content, sms_text

MESSAGE = Message("sms", "member", "login", "13800138000", "246810")


class Recording:
    channel = "sms"

    def __init__(self, name: str, failure: str | None = None) -> None:
        self.name = name
        self.failure = failure
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        if self.failure:
            raise SendFailure(self.failure, f"{self.name} {self.failure}")  # type: ignore[arg-type]
        self.sent.append(message)


def test_the_first_sender_that_accepts_delivers():
    first, second = Recording("a"), Recording("b")
    assert Delivery({"sms": [first, second]}).deliver(MESSAGE) == "a"
    assert first.sent == [MESSAGE] and not second.sent


@pytest.mark.parametrize("reason", ["provider_down", "throttled"])
def test_a_down_or_throttled_sender_falls_over_to_the_next(reason):
    first, second = Recording("a", reason), Recording("b")
    assert Delivery({"sms": [first, second]}).deliver(MESSAGE) == "b"
    assert second.sent == [MESSAGE]


def test_a_rejected_target_stops_the_chain():
    first, second = Recording("a", "target_rejected"), Recording("b")
    with pytest.raises(DeliveryFailed) as failed:
        Delivery({"sms": [first, second]}).deliver(MESSAGE)
    assert (failed.value.channel, failed.value.reason) == ("sms", "target_rejected")
    assert not second.sent


def test_when_all_fail_throttling_wins_over_down():
    chain = [Recording("a", "provider_down"), Recording("b", "throttled")]
    with pytest.raises(DeliveryFailed) as failed:
        Delivery({"sms": chain}).deliver(MESSAGE)
    assert failed.value.reason == "throttled"
    with pytest.raises(DeliveryFailed) as failed:
        Delivery({"sms": [Recording("a", "provider_down")]}).deliver(MESSAGE)
    assert failed.value.reason == "provider_down"


def test_a_channel_without_senders_cannot_deliver():
    with pytest.raises(DeliveryFailed) as failed:
        Delivery({}).deliver(MESSAGE)
    assert failed.value.reason == "provider_down"


def test_a_message_keeps_its_code_out_of_repr():
    assert "246810" not in repr(MESSAGE)


def test_texts_name_the_purpose_and_the_lifetime():
    assert "登录验证码是246810，5分钟内有效" in sms_text(MESSAGE)
    email = email_content(Message("email", "captcha", "bind", "a@example.com", "246810", 600))
    assert email.subject == "绑定验证码 / Your account binding code"
    assert "10分钟内有效" in email.text and "expires in 10 minutes" in email.text
    assert "<strong>246810</strong>" in email.html
    assert dev_text(MESSAGE) == sms_text(MESSAGE)
