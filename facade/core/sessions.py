"""Sign-in, refresh, authentication and logout, the same for every contract.

Keycloak issues and refreshes the tokens; the facade adds what local token verification alone
cannot give: a logged-out session's tokens are refused by every contract at once (a revocation
record in Redis for as long as its tokens can live), and tokens of a user whose password was
reset or who was disabled by an operator stop working.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from facade.core.errors import (
    AccountDisabled,
    ExchangeRefused,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
)
from facade.core.generations import RedisLossWatch
from facade.core.limits import RateLimiter
from facade.core.models import Principal, SignIn, TokenClaims, TokenSet, User
from facade.core.ports import IdentityProvider, Revocations
from facade.core.users import UserDirectory

#: The rate-limit group of every sign-in, registration and reset, as ``"<contract>.login"``.
LOGIN_GROUP = "login"
#: What a sign-in's token exchange hands back: the tokens, or the tokens and the user.
_Issued = TypeVar("_Issued", TokenSet, SignIn)

log = logging.getLogger(__name__)


class LegacyPasswords(Protocol):
    """Password hashes of migrated users that Keycloak cannot verify (``facade import``)."""

    def check(self, user_id: str, password: str) -> bool | None:
        """None when the user has no legacy hash, else whether the password matches it."""
        ...

    def forget(self, user_id: str) -> None: ...

    def pending(self, user_id: str) -> bool:
        """Whether the user has a kept hash not yet moved into Keycloak."""
        ...


class Sessions:
    def __init__(
        self,
        identity: IdentityProvider,
        directory: UserDirectory,
        revocations: Revocations,
        revocation_ttl: int,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.time,
        redis_loss: RedisLossWatch | None = None,
        legacy_passwords: LegacyPasswords | None = None,
    ) -> None:
        self._legacy = legacy_passwords
        self._redis_loss = redis_loss
        self._limiter = limiter
        self._identity = identity
        self._directory = directory
        self._revocations = revocations
        self._revocation_ttl = revocation_ttl
        self._clock = clock

    def limit_attempt(self, contract: str, client_ip: str | None) -> None:
        """Count one attempt to prove who one is (sign-in, registration, reset) from an IP."""
        self._limiter.hit(f"{contract}.{LOGIN_GROUP}", ip=client_ip or None, target=None)

    def sign_in_password(
        self, contract: str, login: str, password: str, *, client_ip: str | None = None
    ) -> SignIn:
        """Password sign-in by username, email or phone (in any form a client types).

        Raises NotFound for an unknown login (contracts that must not tell the two apart
        render it like InvalidCredentials), AccountDisabled, or RateLimited.
        """
        self.limit_attempt(contract, client_ip)
        user = self._directory.find_by_login(login)
        if user is None:
            raise NotFound("user")
        if not user.enabled:
            raise AccountDisabled("account disabled")
        return SignIn(user, self._password_grant(contract, user, password))

    def password_tokens(self, contract: str, user: User, password: str) -> TokenSet:
        """Tokens for a user already found, by their password (a registration's retry)."""
        return self._password_grant(contract, user, password)

    def verify_password(self, contract: str, user: User, password: str) -> None:
        """Proof of the current password (Keycloak's, or a migrated user's kept hash, which
        then moves into Keycloak), leaving no session behind."""
        proof = self._password_grant(contract, user, password)
        self._identity.logout(contract, proof.refresh_token)

    def _password_grant(self, contract: str, user: User, password: str) -> TokenSet:
        try:
            return self._identity.password_grant(contract, user.username, password)
        except InvalidCredentials:
            if self._legacy is None:
                raise
            return self._sign_in_legacy(contract, user, password)

    def has_password(self, user_id: str) -> bool:
        """A password in Keycloak, or a migrated user's kept hash waiting for its first use."""
        if self._identity.has_password(user_id):
            return True
        return self._legacy is not None and self._legacy.pending(user_id)

    def forget_legacy_password(self, user_id: str) -> None:
        """A migrated user's kept hash stops counting (their password was removed or reset)."""
        if self._legacy is not None:
            self._legacy.forget(user_id)

    def _sign_in_legacy(self, contract: str, user: User, password: str) -> TokenSet:
        """A migrated user's first password sign-in, after Keycloak's grant has failed (and
        counted as a failure by its brute-force detection, so a wrong legacy password counts
        like any other): a matching legacy hash moves into Keycloak, hashed the realm's way,
        and is deleted. A password set in Keycloak since the import (reset, change, operator)
        supersedes the legacy hash."""
        assert self._legacy is not None
        matches = self._legacy.check(user.id, password)
        if matches is None:
            raise InvalidCredentials()
        if self._identity.has_password(user.id):
            self._legacy.forget(user.id)
            raise InvalidCredentials()
        if not matches:
            raise InvalidCredentials()
        try:
            self._identity.set_password(user.id, password)
        except InvalidInput:
            # The realm's password policy refuses the old password: the hash stays, and the
            # person signs in by code or resets the password.
            log.warning("legacy password of %s refused by the realm's policy", user.id)
            raise InvalidCredentials() from None
        self._legacy.forget(user.id)
        # Keycloak judges again (a user its brute-force detection locked stays locked).
        return self._identity.password_grant(contract, user.username, password)

    def sign_in_verified(self, contract: str, user: User) -> TokenSet:
        """Tokens for a user whose phone, email or WeChat the facade has just verified: one
        Keycloak call, for a ``user`` that may come from a cache.

        Keycloak refuses the exchange of a disabled or deleted user (with the 403 of a missing
        permission); only then is the user read fresh to tell which: AccountDisabled, NotFound
        for a user gone from Keycloak (its identity record retired), else the refusal stands.
        """
        return self._judged_exchange(
            user.id, lambda: self._identity.exchange_for_user(contract, user.id)
        )

    def sign_in_verified_id(self, contract: str, user_id: str) -> SignIn:
        """:meth:`sign_in_verified` for a user known only by id (an identity store binding):
        the same one call brings the user, as Keycloak issued the tokens to them."""
        return self._judged_exchange(
            user_id, lambda: self._identity.exchange_with_profile(contract, user_id)
        )

    def discard(self, contract: str, tokens: TokenSet) -> None:
        """End a session just made whose tokens will not be handed out (a check after the
        exchange failed): tokens nobody holds must not stay alive."""
        self._identity.logout(contract, tokens.refresh_token)

    def _judged_exchange(self, user_id: str, exchange: Callable[[], _Issued]) -> _Issued:
        """``exchange``, its refusal explained (:meth:`sign_in_verified`)."""
        try:
            return exchange()
        except ExchangeRefused:
            current = self._directory.recheck(user_id)
            if current is None:
                raise NotFound("user") from None
            if not current.enabled:
                raise AccountDisabled("account disabled") from None
            log.error(
                "keycloak refused to impersonate enabled user %s: is the contract client in "
                "the realm's users.impersonate policy (facade realm apply)?",
                user_id,
            )
            raise

    def refresh(self, contract: str, refresh_token: str) -> TokenSet:
        claims = self._identity.verify_refresh_token(contract, refresh_token)
        self._refuse_revoked(claims, self._revocations.state(claims.session_id, claims.subject))
        try:
            # Keycloak itself refuses a disabled ("User disabled") or deleted user's refresh.
            return self._identity.refresh(contract, refresh_token)
        except AccountDisabled as exc:
            raise InvalidToken("account disabled") from exc

    def authenticate(self, contract: str, access_token: str) -> Principal:
        """The user behind a bearer token of this contract, or a typed refusal."""
        claims = self._identity.verify_access_token(contract, access_token)
        revoked, not_before, cached = self._revocations.state_with_profile(
            claims.session_id, claims.subject
        )
        self._refuse_revoked(claims, (revoked, not_before))
        # The cache was just read with the revocation state: a miss goes to Keycloak.
        user = cached or self._directory.get(claims.subject, fresh=True)
        if user is None:
            raise InvalidToken("user no longer exists")
        if not user.enabled:
            # Re-enabling the user later must not revive the tokens of this moment: this
            # session by id, the user's other tokens by a not-before time.
            if claims.session_id:
                self._revocations.revoke_session(claims.session_id, self._revocation_ttl)
            self._revocations.set_not_before(user.id, int(self._clock()), self._revocation_ttl)
            raise InvalidToken("account disabled")
        return Principal(user, claims)

    def logout(self, contract: str, claims: TokenClaims, refresh_token: str | None = None) -> None:
        """Refuse the session's tokens everywhere at once, then end it in Keycloak."""
        if claims.session_id:
            self._revocations.revoke_session(claims.session_id, self._revocation_ttl)
            if refresh_token:
                self._identity.logout(contract, refresh_token)
            else:
                self._identity.end_session(claims.session_id)

    def revoke_all(self, user_id: str) -> None:
        """Refuse every token issued to the user until now (password reset).

        Each current session is revoked by id; the not-before time (whole seconds, like
        ``iat``) also catches a session that starts while this runs.
        """
        for session_id in self._identity.session_ids(user_id):
            self._revocations.revoke_session(session_id, self._revocation_ttl)
        self._revocations.set_not_before(user_id, int(self._clock()), self._revocation_ttl)

    def _refuse_revoked(self, claims: TokenClaims, state: tuple[bool, int]) -> None:
        """``state``: the session's revocation and the user's not-before time, as just read."""
        session_revoked, not_before = state
        if session_revoked:
            raise InvalidToken("session ended")
        if claims.issued_at < not_before:
            raise InvalidToken("token revoked")
        # Redis lost data: a logout or reset before the loss may be forgotten there, but both
        # ended the Keycloak session. Until every token of that time has expired, such tokens
        # count only while their session still exists.
        lost_at = self._redis_loss.lost_at() if self._redis_loss is not None else None
        if (
            lost_at is not None
            and claims.issued_at <= lost_at + 1
            and self._clock() < lost_at + self._revocation_ttl
            and (
                claims.session_id is None
                or claims.session_id not in self._identity.session_ids(claims.subject)
            )
        ):
            raise InvalidToken("session ended")
