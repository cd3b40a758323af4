"""Codes that open accounts: sending them, registering with them, resetting passwords with them.

Every method is one contract endpoint's whole job, so that a contract only parses and renders.
Checks that cost the user nothing come before the code is spent (the rate limit, a username
already taken, a disabled account); facts only the phone's or email's holder may learn (that
an account exists) come after it.

A registration holds its code and spends it only when it succeeds. One whose answer was lost
(Keycloak made the user, then the request failed: a timeout, a dead facade, Redis gone before
the code was spent) therefore leaves the code live, and the client's retry with the same code,
password and username completes it instead of being told the account exists: a holder made
after the live code was issued, whose password is the one given, is taken to be that
registration. Nobody else can take that path, since it needs the live code of the phone or email.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from facade.core.accounts import Accounts
from facade.core.codes import CodeService, SentCode
from facade.core.delivery import Channel
from facade.core.errors import AccountDisabled, AlreadyExists, InvalidCredentials, NotFound
from facade.core.models import Registered, Registration, TokenSet, User
from facade.core.ports import IdentityProvider
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.users import UserDirectory

#: What a send should refuse: a target that has a user, or one that has none.
Refusal = Literal["registered", "unregistered"]
FIELD_OF: dict[Channel, str] = {"sms": "phone", "email": "email"}


@dataclass(frozen=True)
class CodeSent:
    """A delivered code, and whether the phone or email already belongs to a user."""

    sent: SentCode
    registered: bool


class Enrolment:
    def __init__(
        self,
        identity: IdentityProvider,
        directory: UserDirectory,
        registrar: Registrar,
        sessions: Sessions,
        accounts: Accounts,
        codes: CodeService,
    ) -> None:
        self._identity = identity
        self._directory = directory
        self._registrar = registrar
        self._sessions = sessions
        self._accounts = accounts
        self._codes = codes

    def send_code(
        self,
        contract: str,
        purpose: str,
        channel: Channel,
        target: str,
        client_ip: str | None,
        *,
        refuse: Refusal | None = None,
    ) -> CodeSent:
        """Send a code to a canonical phone or email and say whether it has a user.

        ``refuse="registered"`` answers AlreadyExists instead of sending (customer's 10007);
        ``refuse="unregistered"`` answers NotFound (nothing to reset). Both are checked before
        any rate-limit slot is taken.
        """
        holder = self._directory.find_by_target(channel, target)
        if refuse == "registered" and holder is not None and _proven(holder, channel):
            # An unproven holder (a phone typed at account's /register) does not block the
            # person who can prove it: their registration claims it (see register_with_code).
            raise AlreadyExists(FIELD_OF[channel])
        if refuse == "unregistered" and holder is None:
            raise NotFound("user")
        sent = self._codes.send(contract, purpose, channel, target, client_ip or "")
        return CodeSent(sent, holder is not None)

    def register_with_code(
        self,
        contract: str,
        channel: Channel,
        target: str,
        code: str,
        *,
        password: str,
        username: str | None = None,
        attributes: Mapping[str, str] | None = None,
        client_ip: str | None = None,
        purpose: str = "register",
        sign_in: bool = True,
    ) -> Registered:
        """Register the holder of a proven phone or email, with a password.

        An existing holder is AlreadyExists, unless it holds that phone or email without proof:
        then the proof wins (see :meth:`Accounts.accept_proof`) and the registration's password
        and username go to that user. With ``sign_in`` the contract's tokens come back too.
        """
        self._sessions.limit_attempt(contract, client_ip)
        proof = (contract, purpose, channel, target)
        if username is not None:
            named = self._identity.find_by_username(username)
            if named is not None and not self._maybe_retried(proof, named):
                raise AlreadyExists("username")
        with self._codes.held(contract, purpose, target, code):
            holder = self._directory.find_by_target(channel, target)
            if holder is not None and self._maybe_retried(proof, holder):
                return self._completed_retry(contract, holder, channel, password, username, sign_in)
            if holder is not None:
                user = self._claim_unproven(holder, channel, password, username)
            else:
                user = self._registrar.register(
                    Registration(
                        username=username,
                        phone=target if channel == "sms" else None,
                        phone_verified=channel == "sms",
                        email=target if channel == "email" else None,
                        email_verified=channel == "email",
                        password=password,
                        attributes=dict(attributes or {}),
                    )
                )
            tokens = self._sessions.sign_in_verified(contract, user) if sign_in else None
            return Registered(user, tokens)

    def _maybe_retried(self, proof: tuple[str, str, Channel, str], user: User) -> bool:
        """Whether ``user`` may be this registration made by an earlier try whose answer was
        lost: it holds the target proven and was made after the live code was issued (a
        deliberate second registration needs a new code, issued after the first user)."""
        contract, purpose, channel, target = proof
        holds = user.attr("phone_number") == target if channel == "sms" else user.email == target
        if not holds or not _proven(user, channel):
            return False
        issued = self._codes.issued_at(contract, purpose, target)
        return issued is not None and user.created_at_ms / 1000 >= issued

    def _completed_retry(
        self,
        contract: str,
        holder: User,
        channel: Channel,
        password: str,
        username: str | None,
        sign_in: bool,
    ) -> Registered:
        """The earlier try's user, if this try names the same username and password; else the
        target is taken, as for any registered holder."""
        if username is not None and username.lower() != holder.username:
            raise AlreadyExists(FIELD_OF[channel])
        if not holder.enabled:
            raise AccountDisabled("account disabled")
        tokens: TokenSet | None = None
        try:
            if sign_in:
                tokens = self._sessions.password_tokens(contract, holder, password)
            else:
                self._sessions.verify_password(contract, holder, password)
        except InvalidCredentials:
            # As without the retry: a taken username is told before the phone or email.
            raise AlreadyExists("username" if username else FIELD_OF[channel]) from None
        return Registered(self._registrar.ensure_identifiers(holder), tokens)

    def _claim_unproven(
        self, holder: User, channel: Channel, password: str, username: str | None
    ) -> User:
        if _proven(holder, channel):
            raise AlreadyExists(FIELD_OF[channel])
        if not holder.enabled:
            raise AccountDisabled("account disabled")
        user = self._accounts.accept_proof(holder, channel)
        self._identity.set_password(user.id, password)
        if username is not None and username.lower() != user.username:
            user = self._accounts.change_username(user, username)
        return self._registrar.ensure_identifiers(user)

    def reset_password_with_code(
        self,
        contract: str,
        channel: Channel,
        target: str,
        code: str,
        new_password: str,
        *,
        client_ip: str | None = None,
        purpose: str = "reset_password",
    ) -> User:
        """A new password for the holder of a proven phone or email; every session ends.

        An unknown holder is NotFound, told only after the code checks.
        """
        self._sessions.limit_attempt(contract, client_ip)
        self._codes.verify(contract, purpose, target, code)
        user = self._directory.find_by_target(channel, target)
        if user is None:
            raise NotFound("user")
        if not user.enabled:
            raise AccountDisabled("account disabled")
        user = self._accounts.accept_proof(user, channel)
        self._accounts.reset_password(user, new_password)
        return user


def _proven(holder: User, channel: Channel) -> bool:
    """Whether the holder's phone or email was proven; only an explicit ``false`` marks an
    unproven phone (users an operator made with a phone count as proven)."""
    if channel == "sms":
        return holder.attr("phone_number_verified") != "false"
    return holder.email_verified
