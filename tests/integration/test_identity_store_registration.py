"""Registration over the identity store, against the real Keycloak: one user per person
under slow answers, crashes, operators' edits and deletions."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

import pytest

from facade.adapters.keycloak import KeycloakGateway
from facade.bootstrap import build_services
from facade.core.errors import AlreadyExists
from facade.core.models import Registration
from tests.conftest import random_phone, random_username
from tests.durability.slow_proxy import SlowProxy


@pytest.fixture
def services(settings):
    return build_services(settings.with_changes(profile_cache_ttl=0))


def users_with(operator, attribute, value):
    found = operator.get_users({"q": f"{attribute}:{value}", "exact": "true"})
    return [u for u in found if value in (u.get("attributes") or {}).get(attribute, [])]


def creates(line: str) -> bool:
    return line.startswith("POST ") and line.split(" ")[1].endswith("/users")


def test_a_create_answered_after_the_timeout_still_makes_one_user_with_one_uid(
    settings, keycloak, operator
):
    proxy = SlowProxy(urlsplit(keycloak.url).port, lambda line: creates(line.decode()), 2.5)
    try:
        slow = settings.with_changes(keycloak_url=proxy.url, keycloak_timeout=1.0)
        services = build_services(slow, identity=KeycloakGateway(slow))
        phone = random_phone()
        user = services.registrar.register(Registration(phone=phone, password="Secret123"))
        assert proxy.count(creates) == 1  # the POST was not retried
        # The client gave up on the answer and looked the user up by its reserved name.
        assert proxy.count(lambda line: line.startswith("GET ") and f"username={phone}" in line)
    finally:
        proxy.close()
    [stored] = users_with(operator, "phone_number", phone)
    assert stored["id"] == user.id
    assert stored["attributes"]["uid"] == [user.attr("uid")]
    record = services.ledger.store.find("phone_number", phone)
    assert (record.state, record.keycloak_id, str(record.uid)) == (
        "active",
        user.id,
        user.attr("uid"),
    )


def test_a_retry_after_a_lost_answer_converges_on_the_first_user(services, operator):
    """The process died after Keycloak made the user and before the store heard of it."""
    phone = random_phone()
    store = services.ledger.store
    services.ledger.ensure_seeded()
    record = store.reserve({"phone_number": phone}, phone, lambda: secrets.token_hex(4).upper())
    made = operator.create_user(
        {
            "username": phone,
            "enabled": True,
            "attributes": {"phone_number": [phone], "uid": [str(record.uid)]},
        }
    )
    with pytest.raises(AlreadyExists):  # the retry finds the user the lost answer made
        services.registrar.register(Registration(phone=phone, password="Secret123"))
    assert services.users.find_by_phone(phone).id == made
    assert store.find("phone_number", phone).keycloak_id == made
    assert [u["id"] for u in users_with(operator, "phone_number", phone)] == [made]


def test_a_stale_reservation_whose_user_was_never_made_is_undone(services, settings):
    phone = random_phone()
    store = services.ledger.store
    services.ledger.ensure_seeded()
    stale = store.reserve({"phone_number": phone}, phone, lambda: "AAAA" + secrets.token_hex(2))
    later = build_services(settings)
    later.ledger._clock = lambda: time.time() + 120  # the reservation's owner is long gone
    user = later.registrar.register(Registration(phone=phone, password="Secret123"))
    assert int(user.attr("uid")) > stale.uid
    assert store.reservation(stale.reservation_id).state == "retired"


def test_an_operators_stale_save_cannot_change_a_uid(services, operator):
    user_id = operator.create_user({"username": random_username(), "enabled": True})
    first = services.registrar.ensure_identifiers(services.users.get(user_id, fresh=True))
    stale = operator.get_user(user_id)
    stale["attributes"] = {"uid": [str(int(first.attr("uid")) + 1)]}
    operator.update_user(user_id, stale)
    again = services.registrar.ensure_identifiers(services.users.get(user_id, fresh=True))
    assert again.attr("uid") == first.attr("uid")
    assert operator.get_user(user_id)["attributes"]["uid"] == [first.attr("uid")]
    assert services.users.find_by_uid(int(first.attr("uid"))).id == user_id


def test_a_deleted_users_uid_is_retired_and_never_handed_out(services, operator):
    user = services.registrar.register(Registration(phone=random_phone()))
    operator.delete_user(user.id)
    assert services.users.find_by_uid(int(user.attr("uid"))) is None
    assert services.ledger.store.by_keycloak_id(user.id).state == "retired"
    newcomer = services.registrar.register(Registration(phone=user.attr("phone_number")))
    assert int(newcomer.attr("uid")) > int(user.attr("uid"))


def test_the_unionid_is_backfilled_when_it_appears(services, wechat):
    openid, unionid = "o" + secrets.token_hex(8), "u" + secrets.token_hex(8)
    first = services.verified_sign_ins.by_wechat(
        "member", wechat.mint(openid=openid, unionid=None)["code"]
    )
    assert first.is_new_user and first.user.attr("wechat_unionid") is None
    again = services.verified_sign_ins.by_wechat(
        "member", wechat.mint(openid=openid, unionid=unionid)["code"]
    )
    assert again.user.id == first.user.id
    assert services.identity.get_user(first.user.id).attr("wechat_unionid") == unionid
    assert services.ledger.store.find("wechat_unionid", unionid).keycloak_id == first.user.id
    other_app = services.verified_sign_ins.by_wechat(
        "member", wechat.mint(openid="o" + secrets.token_hex(8), unionid=unionid)["code"]
    )
    assert (other_app.user.id, other_app.is_new_user) == (first.user.id, False)


def test_the_keycloak_user_carries_its_reservation_id(services, operator):
    """The user profile declares ``reservation_id`` (admin-only), so Keycloak keeps it and a
    lost create answer can be matched to its reservation by more than the uid."""
    user = services.registrar.register(Registration(phone=random_phone(), password="Secret123"))
    stored = operator.get_user(user.id)
    reservation = stored["attributes"].get("reservation_id")
    assert reservation and len(reservation[0]) >= 16
    assert stored["attributes"]["uid"] == [user.attr("uid")]
