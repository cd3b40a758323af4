"""What the phone page proves for Keycloak, each through the core's one use case for it.

* a code: ``VerifiedSignIns.holder_by_code`` (a contract's code sign-in without the token step:
  the browser signs in to Keycloak through the broker); a new phone registers as the contracts
  register one (one person, one uid, an invite code);
* a password: ``Sessions.sign_in_password`` with the phone in any typed form, so it finds every
  holder of the phone (not only users whose username is the phone), counts toward Keycloak's
  brute-force detection and the login rate limits like any other password sign-in; the Keycloak
  session that check opens is ended at once;
* a reset: ``Enrolment.reset_password_with_code`` (ends every session of the user).
"""

from __future__ import annotations

from facade.core.account_profile import phone_verified
from facade.core.enrolment import CodeSent, Enrolment
from facade.core.errors import InvalidCredentials, NotFound
from facade.core.models import User
from facade.core.ports import IdentityProvider
from facade.core.sessions import Sessions
from facade.core.targets import canonical_phone
from facade.core.verified_sign_in import VerifiedSignIns

#: The contract-neutral slug of codes, rate limits and code policy of Keycloak's login page.
SLUG = "sso"
RESET = "reset_password"


class PhoneSignIn:
    def __init__(
        self,
        enrolment: Enrolment,
        sign_ins: VerifiedSignIns,
        sessions: Sessions,
        identity: IdentityProvider,
        password_client: str,
    ) -> None:
        self._enrolment = enrolment
        self._sign_ins = sign_ins
        self._sessions = sessions
        self._identity = identity
        #: The contract client whose password grant checks a password (Keycloak checks
        #: passwords only inside a grant; the session it opens is ended right away).
        self._password_client = password_client

    def send_code(self, phone: str, client_ip: str, purpose: str = "login") -> CodeSent:
        """A code to any phone: an unknown one registers on sign-in, as in the contracts; a
        reset code is sent to an unknown phone too, so the page tells nobody who has an account."""
        return self._enrolment.send_code(SLUG, purpose, "sms", canonical_phone(phone), client_ip)

    def verify(self, phone: str, code: str, client_ip: str | None) -> User:
        """The holder of ``phone`` proven by ``code``, registered on the way when there is none.

        Raises InvalidInput (phone), RateLimited, AccountDisabled (before the code is spent),
        CodeRejected, or Unavailable.
        """
        return self._sign_ins.holder_by_code(
            SLUG, "sms", canonical_phone(phone), code, client_ip=client_ip
        )

    def password(self, phone: str, password: str, client_ip: str | None) -> User:
        """The holder of ``phone`` whose password this is; InvalidCredentials otherwise (an
        unknown phone too), AccountDisabled, RateLimited."""
        try:
            signed = self._sessions.sign_in_password(
                self._password_client, canonical_phone(phone), password, client_ip=client_ip
            )
        except NotFound:
            raise InvalidCredentials() from None
        if signed.user.attr("phone_number") != canonical_phone(phone):
            # sign_in_password also takes usernames; this page vouches for phones only.
            raise InvalidCredentials()
        if signed.tokens.refresh_token:
            self._identity.logout(self._password_client, signed.tokens.refresh_token)
        return signed.user

    def reset(self, phone: str, code: str, new_password: str, client_ip: str | None) -> User:
        return self._enrolment.reset_password_with_code(
            SLUG, "sms", canonical_phone(phone), code, new_password, client_ip=client_ip
        )


def proven_phone(user: User) -> str:
    """The phone the ID token may assert as verified: none when it was stored unproven."""
    return (user.attr("phone_number") or "") if phone_verified(user) else ""
