"""Sign-in of users the facade verifies itself: by a code sent to a phone, or by WeChat.

Both may register the user on the way (a contract says whether), both record an inviter for a
new user, and both end in a Keycloak token exchange for the contract's client. An unknown
invite code is refused before the verification code is consumed, so the user can retry.

A known phone or WeChat id signs in with one Keycloak call, the exchange: the holder comes from
the identity store's binding (:meth:`UserDirectory.signing_in`, whose module docstring states
the trade), the user from the profile cache or else from the exchange's own ID token, and
Keycloak's refusal to impersonate a disabled or deleted user stands in for the enabled check.
A user the ID token brings is checked as a read would have been (still holds the identifier,
uid and invite code the store's, no proof to apply); should a check fail (an operator's edit
not yet followed, a phone stored unproven), the session just made is ended and the holder found
afresh, as before. Only a refusal, or a proof that changes the user, reads the user fresh:
disabled is AccountDisabled with the code kept, deleted is "no such user" (registered anew
where the contract registers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TypeVar

from facade.core.accounts import Accounts, proof_changes
from facade.core.delivery import Channel
from facade.core.errors import AccountDisabled, AlreadyExists, InvalidInput, NotFound, Unavailable
from facade.core.models import Registration, User, VerifiedSignIn
from facade.core.ports import CodeVerifier, WechatSessions
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.users import Binding, UserDirectory

_R = TypeVar("_R")
#: Finds the holder again when a concurrent sign-in registered it first.
_FindAgain = Callable[[], User | None]
#: A lookup by (attribute, value).
_Find = Callable[[str, str], User | None]


class VerifiedSignIns:
    def __init__(
        self,
        directory: UserDirectory,
        registrar: Registrar,
        sessions: Sessions,
        codes: CodeVerifier,
        accounts: Accounts,
        wechat: WechatSessions | None,
        *,
        profile_from_id_token: bool = False,
    ) -> None:
        self._from_id_token = profile_from_id_token
        self._accounts = accounts
        self._directory = directory
        self._registrar = registrar
        self._sessions = sessions
        self._codes = codes
        self._wechat = wechat

    def by_code(
        self,
        contract: str,
        channel: Channel,
        target: str,
        code: str,
        *,
        client_ip: str | None = None,
        purpose: str = "login",
        register: bool = True,
        new_user_attributes: Mapping[str, str] | None = None,
        invite_code: str | None = None,
    ) -> VerifiedSignIn:
        """Sign in the holder of a canonical phone (``sms``) or email proven by ``code``.

        With ``register`` an unknown phone gets a new user; without, it is NotFound, told
        only after the code checks (only the holder learns whether an account exists). An
        unknown invite code is refused before the code checks, a disabled user after it checks
        and before it is spent. A
        holder whose phone or email was given without proof loses its password and sessions
        to this proof (contracts README: the proof wins).
        """
        return self._by_code(
            (contract, channel, target, code, purpose),
            client_ip=client_ip,
            register=register,
            new_user_attributes=new_user_attributes,
            invite_code=invite_code,
            finish=partial(self._sign_in, contract, channel),
            defer=self._from_id_token,
        )

    def holder_by_code(
        self,
        contract: str,
        channel: Channel,
        target: str,
        code: str,
        *,
        client_ip: str | None = None,
        purpose: str = "login",
        register: bool = True,
        new_user_attributes: Mapping[str, str] | None = None,
    ) -> User:
        """:meth:`by_code` without the token step: the proven holder (registered on the way),
        for a sign-in completed elsewhere (Keycloak's login page, through ``facade/oidc``)."""
        return self._by_code(
            (contract, channel, target, code, purpose),
            client_ip=client_ip,
            register=register,
            new_user_attributes=new_user_attributes,
            invite_code=None,
            finish=self._proven_holder,
        )

    def _by_code(
        self,
        proof: tuple[str, Channel, str, str, str],
        *,
        client_ip: str | None,
        register: bool,
        new_user_attributes: Mapping[str, str] | None,
        invite_code: str | None,
        finish: Callable[[User | Binding | None, Registration | None, _FindAgain], _R],
        defer: bool = False,
    ) -> _R:
        """The checks and code of :meth:`by_code`; ``finish`` ends it while the code is held.
        With ``defer`` a store binding is handed to ``finish`` unread (:class:`Binding`)."""
        contract, channel, target, code, purpose = proof
        self._sessions.limit_attempt(contract, client_ip)
        user: User | Binding | None
        if defer:
            user = self._directory.target_signing_in(channel, target)
        else:
            user = self._directory.find_target_signing_in(channel, target)
        inviter = self._inviter(invite_code) if user is None and register else None
        if user is None and not register:
            self._codes.verify(contract, purpose, target, code)
            raise NotFound("user")

        def find_again() -> User | None:
            return self._directory.find_by_target(channel, target)

        # The code is spent only if the sign-in succeeds: one that fails half-way (Keycloak or
        # Redis gone) leaves the code usable, and a user it registered is found on the retry.
        # A disabled user is told only after the code checks (else anyone could learn that a
        # phone's account is disabled), and before it is spent: re-enabled, it signs in with it.
        with self._codes.held(contract, purpose, target, code):
            if user is not None:
                try:
                    held = user if isinstance(user, Binding) else self._proven(user, channel)
                    return finish(held, None, find_again)
                except NotFound:
                    if not register:
                        raise
                # Deleted in Keycloak since the store bound it (now retired): a new user.
                inviter = self._inviter(invite_code)
            attributes = dict(new_user_attributes or {})
            if inviter is not None:
                attributes["invited_by"] = inviter.id
            registration = Registration(
                phone=target if channel == "sms" else None,
                phone_verified=channel == "sms",
                email=target if channel == "email" else None,
                email_verified=channel == "email",
                attributes=attributes,
            )
            return finish(None, registration, find_again)

    def _proven(self, user: User, channel: Channel) -> User:
        """``user`` with the proof accepted; a proof that changes it is applied to the user
        fresh from Keycloak (``user`` may be cached), and never to a disabled one."""
        if not proof_changes(user, channel):
            return user
        return self._accounts.accept_proof(self._current(user.id), channel)

    def _current(self, user_id: str) -> User:
        """The user fresh from Keycloak, enabled; NotFound when deleted (and retired)."""
        current = self._directory.recheck(user_id)
        if current is None:
            raise NotFound("user")
        if not current.enabled:
            raise AccountDisabled("account disabled")
        return current

    def by_wechat(
        self,
        contract: str,
        js_code: str,
        *,
        client_ip: str | None = None,
        new_user_attributes: Mapping[str, str] | None = None,
        invite_code: str | None = None,
    ) -> VerifiedSignIn:
        """Find the user by unionid (stable across a developer's apps), else by openid."""
        if self._wechat is None:
            raise Unavailable("wechat", "WeChat sign-in is not configured")
        self._sessions.limit_attempt(contract, client_ip)
        # Every input is checked before the one-time WeChat code is spent.
        inviter = self._inviter(invite_code)
        identity = self._wechat.code_to_session(js_code)

        def find_again() -> User | None:
            return self._find_wechat_user(identity.openid, identity.unionid)

        user = self._wechat_holder(identity.openid, identity.unionid)
        if user is not None:
            try:
                return self._sign_in(contract, None, user, None, find_again)
            except NotFound:
                pass  # deleted in Keycloak since the store bound it (now retired): a new user
        attributes = dict(new_user_attributes or {})
        attributes["wechat_openid"] = identity.openid
        if identity.unionid:
            attributes["wechat_unionid"] = identity.unionid
        if inviter is not None:
            attributes["invited_by"] = inviter.id
        return self._sign_in(contract, None, None, Registration(attributes=attributes), find_again)

    def _sign_in(
        self,
        contract: str,
        proof: Channel | None,
        user: User | Binding | None,
        registration: Registration | None,
        find_again: _FindAgain,
    ) -> VerifiedSignIn:
        """Sign in the user found (bound, by a ``proof`` of a code's channel or by WeChat), or
        register ``registration`` first when none was.

        NotFound when the user found was deleted in Keycloak (see the module docstring).
        """
        if isinstance(user, Binding):
            signed = self._sign_in_bound(contract, proof, user)
            if signed is not None:
                return signed
            user = find_again()
            if user is None:
                raise NotFound("user")  # the identifier is no longer this user's
            if proof is not None:
                user = self._proven(user, proof)
        user, is_new = self._holder(user, registration, find_again)
        tokens = self._sessions.sign_in_verified(contract, user)
        return VerifiedSignIn(user, tokens, is_new)

    def _sign_in_bound(
        self, contract: str, proof: Channel | None, binding: Binding
    ) -> VerifiedSignIn | None:
        """The binding's user signed in by the one exchange that also brings the user; None,
        the session ended, when the user is not what a read would have accepted (see the
        module docstring)."""
        signed = self._sessions.sign_in_verified_id(contract, binding.user_id)
        if self._directory.accept(binding, signed.user) and (
            proof is None or not proof_changes(signed.user, proof)
        ):
            return VerifiedSignIn(signed.user, signed.tokens, False)
        self._sessions.discard(contract, signed.tokens)
        return None

    def _proven_holder(
        self,
        user: User | Binding | None,
        registration: Registration | None,
        find_again: _FindAgain,
    ) -> User:
        """:meth:`_holder` for a sign-in completed elsewhere: no exchange judges the user, so
        one found is read fresh and must be enabled."""
        if isinstance(user, Binding):  # not deferred by holder_by_code; read all the same
            user = self._current(user.user_id)
        holder, is_new = self._holder(user, registration, find_again)
        return holder if is_new else self._current(holder.id)

    def _holder(
        self, user: User | None, registration: Registration | None, find_again: _FindAgain
    ) -> tuple[User, bool]:
        """The user found (identifiers ensured), or ``registration`` registered; and whether
        this call registered it."""
        is_new = False
        if user is None:
            assert registration is not None
            try:
                user = self._registrar.register(registration)
                is_new = True
            except AlreadyExists:
                # A concurrent sign-in of the same person registered it first: that user is ours.
                user = find_again()
                if user is None:
                    raise
        else:
            user = self._registrar.ensure_identifiers(user)
        return user, is_new

    def _wechat_holder(self, openid: str, unionid: str | None) -> User | Binding | None:
        """The holder for a sign-in, by unionid (stable across a developer's apps), else by
        openid; a store binding is left to the exchange (:class:`Binding`, with
        ``profile_from_id_token``) except when a found user must first get the unionid WeChat
        now sends."""
        if not self._from_id_token:
            return self._find_wechat_user(openid, unionid, self._directory.find_signing_in)
        if unionid:
            by_union = self._directory.signing_in("wechat_unionid", unionid)
            if by_union is not None:
                return by_union
            return self._by_openid(self._directory.find_signing_in, openid, unionid)
        return self._directory.signing_in("wechat_openid", openid)

    def _find_wechat_user(
        self, openid: str, unionid: str | None, find: _Find | None = None
    ) -> User | None:
        """:meth:`_wechat_holder` read (by default fresh: a concurrent sign-in may have
        registered it)."""
        find = find or self._directory.find_by
        if unionid:
            by_union = find("wechat_unionid", unionid)
            if by_union is not None:
                return by_union
        return self._by_openid(find, openid, unionid)

    def _by_openid(
        self, find: Callable[[str, str], User | None], openid: str, unionid: str | None
    ) -> User | None:
        user = find("wechat_openid", openid)
        if user is not None and unionid and not user.attr("wechat_unionid"):
            user = self._backfill_unionid(user, unionid)
        return user

    def _backfill_unionid(self, user: User, unionid: str) -> User:
        """A user first seen without a unionid gets it when WeChat first sends one, so the
        developer's other apps find the same person instead of registering a second."""
        updated = self._accounts.update_profile(user, {"wechat_unionid": unionid})
        try:
            self._directory.reindex("wechat_unionid", None, unionid, user.id)
        except AlreadyExists:
            return user  # another user got it in a race; the Keycloak write was undone
        return updated

    def _inviter(self, invite_code: str | None) -> User | None:
        if not invite_code:
            return None
        inviter = self._directory.find_by("invite_code", invite_code)
        if inviter is None:
            raise InvalidInput("invite_code", "unknown invite code")
        return inviter
