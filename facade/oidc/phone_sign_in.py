"""Proving a phone for Keycloak: the code check and register-or-find, without contract tokens.

The same steps as a contract's code sign-in (``VerifiedSignIns.by_code``), except the last: the
browser signs in to Keycloak through the broker, so no contract client's token is minted here.
A new phone becomes a user exactly as the contracts make one (``Registrar.register``: one
person, one uid, an invite code); an existing one gets its uid if an operator made it.
"""

from __future__ import annotations

from facade.core.accounts import Accounts
from facade.core.codes import CodeService, SentCode
from facade.core.errors import AccountDisabled, AlreadyExists
from facade.core.models import Registration, User
from facade.core.registration import Registrar
from facade.core.sessions import Sessions
from facade.core.targets import canonical_phone
from facade.core.users import UserDirectory

#: The contract-neutral slug of codes, rate limits and code policy of Keycloak's login page.
SLUG = "sso"


class PhoneSignIn:
    def __init__(
        self,
        codes: CodeService,
        directory: UserDirectory,
        registrar: Registrar,
        accounts: Accounts,
        sessions: Sessions,
    ) -> None:
        self._codes = codes
        self._directory = directory
        self._registrar = registrar
        self._accounts = accounts
        self._sessions = sessions

    def send_code(self, phone: str, client_ip: str) -> SentCode:
        """A login code to any phone: an unknown one registers on sign-in, as in the contracts."""
        return self._codes.send(SLUG, "login", "sms", canonical_phone(phone), client_ip)

    def verify(self, phone: str, code: str, client_ip: str | None) -> User:
        """The user holding ``phone``, registered on the way when there is none.

        Raises InvalidInput (phone), RateLimited, AccountDisabled (before the code is spent),
        CodeRejected, or Unavailable.
        """
        target = canonical_phone(phone)
        self._sessions.limit_attempt(SLUG, client_ip)
        user = self._directory.find_by_target("sms", target)
        if user is not None and not user.enabled:
            raise AccountDisabled("account disabled")
        self._codes.verify(SLUG, "login", target, code)
        if user is not None:
            return self._registrar.ensure_identifiers(self._accounts.accept_proof(user, "sms"))
        try:
            return self._registrar.register(Registration(phone=target, phone_verified=True))
        except AlreadyExists:
            # A concurrent sign-in of the same phone registered it first: that user is ours.
            again = self._directory.find_by_target("sms", target)
            if again is None:
                raise
            return again
