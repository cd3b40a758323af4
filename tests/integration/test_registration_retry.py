"""A registration whose answer was lost is completed by the client's retry, against the real
Keycloak, Redis and store (README "All contracts": nothing is half-written).

The fault: Keycloak made the user, then the request failed before its answer (here the token
step refuses once, as a Keycloak that dies between the two calls does). The code was held, not
spent, so the retry with the same code and password gets the user made by the first try, not
"already exists"; a new registration of the same phone still does.
"""

from __future__ import annotations

import pytest

from facade.bootstrap import Services, build_services
from facade.core.errors import AlreadyExists, CodeRejected, Unavailable
from facade.core.sessions import Sessions
from tests.conftest import random_phone
from tests.contracts.member.conftest import random_ip

PASSWORD = "Retry-pass-1"


@pytest.fixture
def services(settings) -> Services:
    return build_services(settings)


def register_code(services: Services, contract: str, phone: str) -> str:
    services.redis.delete(services.keys.code_resend(contract, phone))
    services.codes.send(contract, "register", "sms", phone, random_ip())
    assert services.outbox is not None
    return services.outbox.recent(phone)[0].code


def register(services: Services, phone: str, code: str, *, password: str = PASSWORD, **options):
    return services.enrolment.register_with_code(
        "vcode", "sms", phone, code, password=password, client_ip=random_ip(), **options
    )


@pytest.fixture
def answer_lost_once(monkeypatch) -> None:
    """The first token step after a user is made fails as a Keycloak gone mid-way does."""
    real = Sessions.sign_in_verified
    failed: list[bool] = []

    def once(self, contract, user, **kwargs):
        if not failed:
            failed.append(True)
            raise Unavailable("keycloak", "connection reset after the user was made")
        return real(self, contract, user, **kwargs)

    monkeypatch.setattr(Sessions, "sign_in_verified", once)


def test_a_retry_with_the_same_code_completes_a_registration_whose_answer_was_lost(
    services, answer_lost_once
):
    phone = random_phone()
    username = f"retry{phone[-8:]}"
    code = register_code(services, "vcode", phone)

    with pytest.raises(Unavailable):
        register(services, phone, code, username=username)
    made = services.users.find_by_phone(phone)
    assert made is not None  # the first try made the user: the lost answer

    retried = register(services, phone, code, username=username)

    assert retried.user.id == made.id
    assert retried.tokens is not None
    claims = services.identity.verify_access_token("vcode", retried.tokens.access_token)
    assert claims.subject == made.id
    # The retry spent the code, so a third try is no retry: the username is taken.
    assert services.codes.issued_at("vcode", "register", phone) is None
    with pytest.raises(AlreadyExists):
        register(services, phone, code, username=username)
    with pytest.raises(CodeRejected):
        register(services, phone, code)


def test_a_retry_with_another_password_is_told_the_account_exists(services, answer_lost_once):
    phone = random_phone()
    code = register_code(services, "vcode", phone)
    with pytest.raises(Unavailable):
        register(services, phone, code)

    with pytest.raises(AlreadyExists) as refused:
        register(services, phone, code, password="Another-pass-2")

    assert refused.value.field == "phone"


def test_a_new_registration_of_a_registered_phone_is_told_it_exists_even_with_its_password(
    services,
):
    phone = random_phone()
    register(services, phone, register_code(services, "vcode", phone))

    # A new code is issued after the user was made: this is no retry of that registration.
    with pytest.raises(AlreadyExists) as refused:
        register(services, phone, register_code(services, "vcode", phone))

    assert refused.value.field == "phone"
