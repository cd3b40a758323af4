"""``facade import`` against the real Keycloak and identity store: users of each hash scheme sign
in on their own contract with the id their app gave them; a person in two apps is one user."""

from __future__ import annotations

import json
import time

import falcon.testing
import jwt
import pytest

from facade.adapters.identity_store import SqlIdentityStore
from facade.adapters.keycloak_import import KeycloakImportAdmin
from facade.core.errors import InvalidCredentials
from tests.conftest import random_phone, random_username
from tests.migration.conftest import legacy_hash, legacy_id, write_jsonl

SCHEMES = [
    "pbkdf2-sha256",
    "pbkdf2-sha512",
    "django-pbkdf2",
    "argon2",
    "bcrypt",
    "md5(salt+password)",
    "sha1(salt+password)",
    "sha256(salt+password)",
    "sha256(password+salt)",
]
NATIVE = {"pbkdf2-sha256", "pbkdf2-sha512", "django-pbkdf2", "argon2"}


def _row(password: str | None = None, scheme: str | None = None, **fields) -> dict:
    row = {
        "legacy_id": legacy_id(),
        "username": random_username("mig"),
        "phone": random_phone(),
        "nickname": "老用户",
        "gender": "2",
        "member_level": 3,
        "points": 120,
        "created_at": "2021-03-04 05:06:07",
        **fields,
    }
    if password is not None and scheme is not None:
        row.update(legacy_hash(scheme, password))
    return row


def _report(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _store(settings) -> SqlIdentityStore:
    return SqlIdentityStore(settings.database_url)


def test_every_scheme_signs_in_on_its_own_contract_with_the_legacy_id(
    run, apps, settings, tmp_path
):
    password = "Old-pass-42"
    rows = [_row(password, scheme) for scheme in SCHEMES]
    plan = run("customer", write_jsonl(tmp_path / "customer.jsonl", rows))
    assert plan.counts() == {"create": len(SCHEMES), "merge": 0, "unchanged": 0, "reject": 0}
    store = _store(settings)
    for scheme, row in zip(SCHEMES, rows, strict=True):
        user = apps.services.users.find_by_phone(row["phone"])
        assert user is not None and user.username == row["username"]
        assert (user.attr("nickname"), user.attr("member_level_id")) == ("老用户", "3")
        assert user.attr("gender") == "female"
        assert user.attr("legacy_ids") == f"customer:{row['legacy_id']}"
        # Native hashes are Keycloak credentials at once; the others wait in the store.
        assert apps.services.identity.has_password(user.id) == (scheme in NATIVE), scheme
        assert (store.legacy_password(user.id) is None) == (scheme in NATIVE), scheme
        answer = apps.customer_login(row["phone"], password)
        assert answer["code"] == 0, (scheme, answer)
        assert answer["data"]["user_id"] == row["legacy_id"]
        # The legacy hash moved into Keycloak and is gone: the next sign-in is Keycloak's own.
        assert store.legacy_password(user.id) is None
        assert apps.services.identity.has_password(user.id)
        assert apps.customer_login(row["phone"], password)["code"] == 0
    assert apps.customer_login(rows[0]["phone"], "Wrong-pass-1")["code"] != 0


def test_dry_run_changes_nothing_and_matches_the_real_run_and_a_rerun_changes_nothing(
    run, apps, settings, tmp_path
):
    taken = apps.member_sms_login(random_phone())["user"]
    taken_username = apps.services.users.find_by_uid(taken["id"]).username
    good = [_row("Pass-word-1", "bcrypt"), _row("Pass-word-2", "pbkdf2-sha256"), _row()]
    rows = [
        *good,
        {**_row(), "phone": "12345"},  # not a mainland mobile
        {**_row(), "legacy_id": good[0]["legacy_id"]},  # the same id twice
        {**_row(), "username": taken_username, "phone": random_phone()},  # someone else's name
        {**_row(), "password_hash": "nonsense", "hash_scheme": "bcrypt"},
    ]
    export = write_jsonl(tmp_path / "customer.jsonl", rows)
    dry = run("customer", export, dry_run=True, report=tmp_path / "dry.jsonl")
    assert dry.counts() == {"create": 3, "merge": 0, "unchanged": 0, "reject": 4}
    for row in good:
        assert apps.services.users.find_by_phone(row["phone"]) is None
    assert _store(settings).legacy_entries("customer", [r["legacy_id"] for r in good]) == {}

    real = run("customer", export, report=tmp_path / "real.jsonl", rejects=tmp_path / "rej.jsonl")
    assert _report(tmp_path / "real.jsonl") == _report(tmp_path / "dry.jsonl")
    rejects = _report(tmp_path / "rej.jsonl")
    assert [r["legacy_id"] for r in rejects] == [r["legacy_id"] for r in rows[3:]]
    assert "username" in rejects[2]["reason"] and "taken" in rejects[2]["reason"]
    assert real.counts()["create"] == 3

    users = {row["legacy_id"]: apps.services.users.find_by_phone(row["phone"]) for row in good}
    again = run("customer", export, report=tmp_path / "again.jsonl")
    assert again.counts() == {"create": 0, "merge": 0, "unchanged": 3, "reject": 4}
    for row in good:
        assert apps.services.users.find_by_phone(row["phone"]) == users[row["legacy_id"]]


def test_one_person_in_two_apps_is_one_keycloak_user_with_each_apps_id(
    run, apps, settings, tmp_path
):
    phone, password = random_phone(), "Cust-pass-7"
    customer_row = _row(password, "sha256(salt+password)", phone=phone)
    member_row = _row(None, None, phone=phone, username=None, member_level=5)
    assert (
        run("customer", write_jsonl(tmp_path / "c.jsonl", [customer_row])).counts()["create"] == 1
    )
    merged = run("member", write_jsonl(tmp_path / "m.jsonl", [member_row]))
    assert merged.counts() == {"create": 0, "merge": 1, "unchanged": 0, "reject": 0}

    by_password = apps.customer_login(phone, password)
    assert by_password["code"] == 0 and by_password["data"]["user_id"] == customer_row["legacy_id"]
    by_sms = apps.member_sms_login(phone)
    assert by_sms["user"]["id"] == member_row["legacy_id"]
    assert by_sms["is_new_user"] is False
    subject = jwt.decode(by_sms["token"]["access_token"], options={"verify_signature": False})
    other = jwt.decode(by_password["data"]["token"], options={"verify_signature": False})
    assert subject["sub"] == other["sub"]
    user = apps.services.users.find_by_phone(phone)
    assert user.attr("legacy_ids") == (
        f"customer:{customer_row['legacy_id']},member:{member_row['legacy_id']}"
    )
    # Every other contract shows the shared uid; lookups by a contract's id are one query.
    store = _store(settings)
    record = store.by_keycloak_id(user.id)
    assert store.find_public("member", member_row["legacy_id"]) == record
    assert store.find_public("customer", customer_row["legacy_id"]) == record
    assert store.find_public("captcha", record.uid) == record
    assert store.find_public("member", record.uid) is None


def test_ambiguous_rows_are_rejected_with_the_reason_and_never_merged(
    run, apps, operator, tmp_path
):
    phone = random_phone()
    holder = apps.member_sms_login(phone)["user"]
    user = apps.services.users.find_by_uid(holder["id"])
    email = f"{random_username('e')}@example.com"
    apps.services.identity.update_user(user.id, email=email, email_verified=True)
    unverified_phone = random_phone()
    apps.services.accounts  # noqa: B018 - the account service exists; the phone is set below
    second = apps.member_sms_login(unverified_phone)["user"]
    second_user = apps.services.users.find_by_uid(second["id"])
    apps.services.identity.update_user(
        second_user.id, attributes={"phone_number_verified": "false"}
    )
    rows = [
        _row(phone=phone, email=f"other-{email}", email_verified=True),
        _row(phone=random_phone(), email=email, email_verified=True),
        _row(phone=unverified_phone),
        _row(phone=phone, username=second_user.username),
    ]
    plan = run("captcha", write_jsonl(tmp_path / "captcha.jsonl", rows))
    reasons = [step.reason for step in plan.steps]
    assert [step.action for step in plan.steps] == ["reject"] * 4, reasons
    assert "different email" in reasons[0]
    assert "different phone" in reasons[1]
    assert "not verified" in reasons[2]
    assert "taken by another user" in reasons[3]
    assert apps.services.users.find_by_uid(holder["id"]).attr("legacy_ids") is None


def test_a_verified_email_merges_and_keeps_the_users_own_password(run, apps, tmp_path):
    phone = random_phone()
    holder = apps.member_sms_login(phone)["user"]
    user = apps.services.users.find_by_uid(holder["id"])
    email = f"{random_username('e')}@example.com"
    apps.services.identity.update_user(user.id, email=email, email_verified=True)
    apps.services.identity.set_password(user.id, "Own-pass-99")
    row = _row("Other-pass-1", "bcrypt", phone=None, email=email.upper(), email_verified="1")
    plan = run("captcha", write_jsonl(tmp_path / "captcha.jsonl", [row]))
    assert plan.steps[0].action == "merge", plan.steps[0].reason
    assert "password not imported" in plan.steps[0].reason
    login = apps.post(
        "/captcha/auth/login",
        {"identifier": email, "type": "email", "password": "Own-pass-99"},
    )
    assert login.json["user_id"] == row["legacy_id"], login.text


def test_a_wrong_legacy_password_counts_toward_brute_force_protection(
    run, apps, operator, settings, tmp_path
):
    row = _row("Right-pass-1", "bcrypt")
    run("customer", write_jsonl(tmp_path / "customer.jsonl", [row]))
    user = apps.services.users.find_by_phone(row["phone"])
    assert apps.customer_login(row["phone"], "Wrong-pass-1")["code"] != 0
    status = operator.connection.raw_get(
        f"admin/realms/facade/attack-detection/brute-force/users/{user.id}"
    ).json()
    assert status["numFailures"] >= 1
    assert _store(settings).legacy_password(user.id) is not None  # still waiting for the right one


def test_a_crashed_run_resumes_and_makes_each_user_once(run, apps, settings, tmp_path, monkeypatch):
    rows = [_row("Pass-word-3", "argon2") for _ in range(3)]
    export = write_jsonl(tmp_path / "customer.jsonl", rows)
    real_import = KeycloakImportAdmin.partial_import

    def import_then_crash(self, users):
        real_import(self, users)
        raise ConnectionError("the process died after Keycloak made the users")

    monkeypatch.setattr(KeycloakImportAdmin, "partial_import", import_then_crash)
    with pytest.raises(ConnectionError):
        run("customer", export)
    pending = _store(settings).legacy_entries("customer", [r["legacy_id"] for r in rows])
    assert {entry.state for entry in pending.values()} == {"pending"}
    monkeypatch.setattr(KeycloakImportAdmin, "partial_import", real_import)

    resumed = run("customer", export)
    assert resumed.counts()["create"] == 3
    done = _store(settings).legacy_entries("customer", [r["legacy_id"] for r in rows])
    assert {entry.state for entry in done.values()} == {"done"}
    for row in rows:
        found = apps.services.identity.find_by_attribute("phone_number", row["phone"])
        assert len(found) == 1
        assert found[0].id == done[row["legacy_id"]].identity.keycloak_id
    assert run("customer", export).counts()["unchanged"] == 3


def test_new_uids_start_above_every_imported_id_and_a_taken_id_is_rejected(
    run, apps, settings, tmp_path
):
    high = _row()
    high["legacy_id"] = 1_500_000
    run("member", write_jsonl(tmp_path / "member.jsonl", [high]))
    newcomer = apps.member_sms_login(random_phone())["user"]
    assert newcomer["id"] > high["legacy_id"]
    # Another app's row whose id is that newcomer's uid would show two users as one id.
    clash = {**_row(), "legacy_id": newcomer["id"]}
    plan = run("customer", write_jsonl(tmp_path / "customer.jsonl", [clash]))
    assert plan.steps[0].action == "reject" and "already the id" in plan.steps[0].reason


def test_csv_exports_import_like_json_lines(run, apps, tmp_path):
    import csv

    row = _row("Csv-pass-12", "md5(salt+password)", disabled="false")
    path = tmp_path / "customer.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    assert run("customer", path).counts()["create"] == 1
    answer = apps.customer_login(row["phone"], "Csv-pass-12")
    assert answer["data"]["user_id"] == row["legacy_id"]


def test_a_proof_of_an_unverified_phone_also_removes_a_pending_legacy_password(
    run, apps, settings, tmp_path
):
    """The pre-hijacking rule (contracts README): whoever proves the phone takes the account,
    and no password set before the proof keeps working, a legacy hash included."""
    row = _row("Old-pass-42", "bcrypt", phone_verified="false")
    run("customer", write_jsonl(tmp_path / "unverified.jsonl", [row]))
    store = _store(settings)
    user = apps.services.users.find_by_phone(row["phone"])
    assert user is not None and store.legacy_password(user.id) is not None
    code = apps.services.codes.send("member", "login", "sms", row["phone"], "10.1.2.3").code
    assert code is not None
    signed_in = apps.services.verified_sign_ins.by_code(
        "member", "sms", row["phone"], code, client_ip="10.1.2.4"
    )
    assert signed_in.user.id == user.id
    assert store.legacy_password(user.id) is None
    assert apps.customer_login(row["phone"], "Old-pass-42")["code"] != 0


def test_a_migrated_user_whose_legacy_hash_waits_has_a_password(run, apps, tmp_path):
    """Before the first password sign-in moves the hash into Keycloak, Keycloak has no
    password, yet the person has one: ``account`` says so."""
    row = _row("Old-pass-42", "bcrypt")
    run("account", write_jsonl(tmp_path / "account.jsonl", [row]))
    user = apps.services.users.find_by_phone(row["phone"])
    assert not apps.services.identity.has_password(user.id)
    apps.services.redis.delete(apps.services.keys.code_resend("account", row["phone"]))
    assert apps.post("/account/send-code", {"phone": row["phone"]}).status_code == 200
    outbox = apps.http.simulate_get("/_dev/outbox", params={"to": row["phone"]})
    code = outbox.json["messages"][0]["code"]
    login = apps.post("/account/phone-login", {"phone": row["phone"], "code": code})
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json['access_token']}"}
    me = apps.http.simulate_get("/account/users/me", headers=bearer)
    assert me.json["has_password"] is True, me.text
    asked = apps.http.simulate_get("/account/users/me/has-password", headers=bearer)
    assert asked.json == {"has_password": True}


def test_a_migrated_user_changes_the_password_with_the_legacy_one_before_any_sign_in(
    run, apps, tmp_path
):
    """The old password a person knows is the app's, still a legacy hash: changing it proves it
    the way a sign-in would, and afterwards only the new password works."""
    row = _row("Old-pass-43", "bcrypt")
    run("account", write_jsonl(tmp_path / "account.jsonl", [row]))
    user = apps.services.users.find_by_phone(row["phone"])
    apps.services.redis.delete(apps.services.keys.code_resend("account", row["phone"]))
    assert apps.post("/account/send-code", {"phone": row["phone"]}).status_code == 200
    outbox = apps.http.simulate_get("/_dev/outbox", params={"to": row["phone"]})
    code = outbox.json["messages"][0]["code"]
    login = apps.post("/account/phone-login", {"phone": row["phone"], "code": code})
    bearer = {"Authorization": f"Bearer {login.json['access_token']}"}

    def change(old: str, new: str) -> falcon.testing.Result:
        body = {"old_password": old, "new_password": new}
        return apps.http.simulate_put("/account/users/me/password", json=body, headers=bearer)

    assert change("Wrong-pass-43", "New-pass-43").status_code == 401
    time.sleep(1.1)  # two failures within 1 s are Keycloak's quick-login lockout (realm JSON)
    changed = change("Old-pass-43", "New-pass-43")
    assert changed.status_code == 200, changed.text
    assert apps.services.identity.password_grant("account", user.username, "New-pass-43")
    with pytest.raises(InvalidCredentials):
        apps.services.identity.password_grant("account", user.username, "Old-pass-43")
