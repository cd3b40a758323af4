"""Verification codes: issue, deliver, check; the same rules for every contract.

A code is 6 digits from :mod:`secrets`, stored only as an HMAC keyed by the server secret and
bound to its scope (contract, purpose, target), so a Redis dump reveals no code and a code sent
for one purpose or contract cannot be replayed for another. The store does the counting in
single atomic steps (resend interval and daily cap when sending; tries when checking), so the
rules hold under concurrent requests and across processes.

Sending reserves the target's interval and daily slot first, delivers, and only then stores the
code (replacing the previous one); a failed delivery gives the slot back and leaves the previous
code as it was, so nothing undelivered is ever usable.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from facade.core.delivery import CHANNELS, Channel, Delivery, Message
from facade.core.errors import CodeRejected, FacadeError, InvalidInput
from facade.core.limits import CodePolicy, RateLimiter
from facade.core.targets import canonical_email, canonical_phone, canonical_target

#: Purposes every contract may use; a contract picks the ones its document names.
PURPOSES: frozenset[str] = frozenset({"register", "login", "reset_password", "bind"})
#: The rate-limit group every send goes through, as ``"<contract>.send_code"``.
SEND_GROUP = "send_code"
CODE_DIGITS = 6


class CheckResult(StrEnum):
    """The outcome of one check.

    ``wrong``: no match, tries remain. ``too_many_tries``: the code is burned, also by the very
    try that used up the last allowance, so the client learns at once that it needs a new code.
    ``expired``: no live code (expired, used, or never sent: a client cannot tell them apart).
    """

    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    TOO_MANY_TRIES = "too_many_tries"


@dataclass(frozen=True)
class CodeScope:
    contract: str
    purpose: str
    target: str


@dataclass(frozen=True)
class Reservation:
    """A target's resend-interval and daily slot, held while its code is being delivered."""

    contract: str
    target: str
    token: str


@dataclass(frozen=True)
class SentCode:
    """What a contract may tell its client; ``code`` only in development mode."""

    target: str
    expires_in: int
    code: str | None = field(default=None, repr=False)


class CodeStore(Protocol):
    """Atomic storage of code hashes and of the per-target send counters."""

    def reserve(self, contract: str, target: str, policy: CodePolicy, token: str) -> Reservation:
        """Take the target's resend interval and one of its daily sends, or raise
        :class:`~facade.core.errors.RateLimited` (rule ``resend_interval`` or ``daily_cap``)."""

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose code was never delivered."""

    def save(self, scope: CodeScope, code_hash: str, policy: CodePolicy) -> None:
        """Store a delivered code, replacing the scope's previous one, with fresh tries."""

    def check(
        self, scopes: Sequence[CodeScope], code_hashes: Sequence[str], keep: bool = False
    ) -> CheckResult:
        """Check against the first scope that holds a live code, in one atomic step: a match
        deletes it (with ``keep``: leaves it for :meth:`spend`), a miss counts a try and burns
        it at the policy's maximum."""

    def spend(self, scopes: Sequence[CodeScope], code_hashes: Sequence[str]) -> bool:
        """Delete the first live code that still has its hash; False when none does (a
        concurrent use spent it, a new code replaced it, wrong tries burned it)."""

    def issued_at(self, scope: CodeScope) -> float | None:
        """When the scope's live code was issued (Unix seconds), or None without one."""


def random_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class CodeService:
    """``send`` and ``check`` for every contract; contracts only parse and render."""

    def __init__(
        self,
        store: CodeStore,
        limiter: RateLimiter,
        delivery: Delivery,
        policy_for: Callable[[str], CodePolicy],
        secret: str,
        *,
        development: bool,
        new_code: Callable[[], str] = random_code,
        new_token: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._delivery = delivery
        self._policy_for = policy_for
        self._key = secret.encode()
        self._development = development
        self._new_code = new_code
        self._new_token = new_token

    def send(
        self, contract: str, purpose: str, channel: Channel, target: str, client_ip: str
    ) -> SentCode:
        """Issue a code for ``target`` and deliver it over ``channel``.

        Raises InvalidInput (purpose, channel, target), RateLimited (the contract's
        ``send_code`` rules, the resend interval, the daily cap), DeliveryFailed (and then no
        new code exists and the interval and daily slot are given back), or Unavailable.
        """
        _check_purpose(purpose)
        if channel not in CHANNELS:
            raise InvalidInput("channel", "must be sms or email")
        canonical = canonical_phone(target) if channel == "sms" else canonical_email(target)
        policy = self._policy_for(contract)
        self._limiter.hit(f"{contract}.{SEND_GROUP}", ip=client_ip or None, target=canonical)
        reservation = self._store.reserve(contract, canonical, policy, self._new_token())
        code = self._new_code()
        message = Message(channel, contract, purpose, canonical, code, policy.ttl)
        try:
            self._delivery.deliver(message)
        except BaseException:
            with contextlib.suppress(FacadeError):
                self._store.release(reservation)
            raise
        scope = CodeScope(contract, purpose, canonical)
        self._store.save(scope, self._hash(scope, code), policy)
        return SentCode(canonical, policy.ttl, code if self._development else None)

    def issued_at(self, contract: str, purpose: str, target: str) -> float | None:
        """When the live code of (contract, purpose, canonical target) was issued."""
        return self._store.issued_at(CodeScope(contract, purpose, target))

    def check(
        self, contract: str, purposes: str | Sequence[str], target: str, code: str
    ) -> CheckResult:
        """Check ``code`` against the live code of the first of ``purposes`` that has one.

        Several purposes serve endpoints that accept codes sent for either (member's bind-phone
        takes ``login`` or ``bind``); one try is counted, on the code the check applies to.
        """
        return self._store.check(*self._scopes(contract, purposes, target, code))

    def _scopes(
        self, contract: str, purposes: str | Sequence[str], target: str, code: str
    ) -> tuple[list[CodeScope], list[str]]:
        wanted = (purposes,) if isinstance(purposes, str) else tuple(purposes)
        if not wanted:
            raise InvalidInput("purpose", "at least one purpose is required")
        for purpose in wanted:
            _check_purpose(purpose)
        canonical = canonical_target(target)
        scopes = [CodeScope(contract, purpose, canonical) for purpose in wanted]
        submitted = code.strip() if isinstance(code, str) else ""
        return scopes, [self._hash(scope, submitted) for scope in scopes]

    def verify(self, contract: str, purposes: str | Sequence[str], target: str, code: str) -> None:
        """:meth:`check`, raising :class:`CodeRejected` with the result unless it is ok."""
        result = self.check(contract, purposes, target, code)
        if result is not CheckResult.OK:
            raise CodeRejected(result.value)

    @contextlib.contextmanager
    def held(
        self, contract: str, purposes: str | Sequence[str], target: str, code: str
    ) -> Iterator[None]:
        """:meth:`verify`, spending the code only when the block succeeds.

        A block that fails (Keycloak or Redis gone mid-way through a sign-in) leaves the code
        as it was, so its holder retries at once instead of waiting out the resend interval
        for a new one. Of concurrent blocks with one code only the first to finish spends it;
        the others fail as ``expired`` once done (their work must be safe to repeat).
        """
        scopes, hashes = self._scopes(contract, purposes, target, code)
        result = self._store.check(scopes, hashes, keep=True)
        if result is not CheckResult.OK:
            raise CodeRejected(result.value)
        yield
        if not self._store.spend(scopes, hashes):
            raise CodeRejected(CheckResult.EXPIRED.value)

    def _hash(self, scope: CodeScope, code: str) -> str:
        material = "\x1f".join(("code-v1", scope.contract, scope.purpose, scope.target, code))
        return hmac.new(self._key, material.encode(), hashlib.sha256).hexdigest()


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise InvalidInput("purpose", f"must be one of {', '.join(sorted(PURPOSES))}")
