"""The cache of already verified access tokens trusts nothing beyond what was verified."""

from __future__ import annotations

from facade.adapters.keycloak import VerifiedTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_until_the_token_expires():
    clock = Clock()
    cache = VerifiedTokens(clock=clock)
    cache.put("token-a", {"exp": 1060, "sub": "u"})
    assert cache.get("token-a") == {"exp": 1060, "sub": "u"}
    clock.now = 1060
    assert cache.get("token-a") is None


def test_an_entry_lives_at_most_max_age_even_for_a_long_token():
    clock = Clock()
    cache = VerifiedTokens(max_age=300, clock=clock)
    cache.put("token-a", {"exp": 1000 + 86400})
    clock.now = 1299
    assert cache.get("token-a") is not None
    clock.now = 1300
    assert cache.get("token-a") is None


def test_only_the_byte_identical_token_is_trusted():
    cache = VerifiedTokens(clock=Clock())
    cache.put("header.payload.signature", {"exp": 2000})
    assert cache.get("header.payload.signaturX") is None
    assert cache.get("header.payload.signature ") is None


def test_the_oldest_entries_go_first_when_full():
    cache = VerifiedTokens(max_entries=2, clock=Clock())
    for name in ("a", "b", "c"):
        cache.put(name, {"exp": 2000})
    assert cache.get("a") is None
    assert cache.get("b") is not None and cache.get("c") is not None
