"""Imports against the real Keycloak, each test module over an identity store of its own (so
legacy ids and the uid floor of one module never meet another's), with contract clients."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import falcon.testing
import pytest
from passlib import hash as passlib_hash

from facade.app import create_app
from facade.bootstrap import Services, build_services
from facade.migration.command import ImportOptions, build_importer, run_import
from facade.migration.importer import Plan
from tests.contracts.live import random_ip

SALT = "s4lt-xyz"


@pytest.fixture(scope="module")
def identity_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('migration') / 'identities.db'}"


def legacy_hash(scheme: str, password: str) -> dict[str, str]:
    """The columns an app's export carries for one password under one scheme."""
    raw = password.encode()
    if scheme == "pbkdf2-sha256":
        return {"password_hash": passlib_hash.pbkdf2_sha256.using(rounds=1000).hash(password)}
    if scheme == "pbkdf2-sha512":
        return {
            "password_hash": passlib_hash.pbkdf2_sha512.using(rounds=1000).hash(password),
            "hash_scheme": scheme,
        }
    if scheme == "django-pbkdf2":
        return {
            "password_hash": passlib_hash.django_pbkdf2_sha256.using(rounds=1000).hash(password)
        }
    if scheme == "argon2":
        return {
            "password_hash": passlib_hash.argon2.using(
                rounds=2, memory_cost=1024, parallelism=1
            ).hash(password)
        }
    if scheme == "bcrypt":
        return {"password_hash": passlib_hash.bcrypt.using(rounds=4).hash(password)}
    digest, layout = scheme.split("(")
    salted = {
        "salt+password)": SALT.encode() + raw,
        "password+salt)": raw + SALT.encode(),
    }[layout]
    return {
        "password_hash": hashlib.new(digest, salted).hexdigest(),
        "hash_scheme": scheme,
        "password_salt": SALT,
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


def legacy_id() -> int:
    """Far below the store's uids (seeded above the realm's), unique enough per module."""
    return secrets.randbelow(900_000) + 1


@pytest.fixture
def run(settings, operator) -> Callable[..., Plan]:
    """``facade import`` as the command runs it, over the test's settings."""

    def _run(contract: str, path: Path, **options: Any) -> Plan:
        opts = ImportOptions(contract=contract, path=path, progress=False, **options)
        return run_import(opts, build_importer(opts, operator, settings))

    return _run


class ContractClient:
    def __init__(self, http: falcon.testing.TestClient, services: Services) -> None:
        self.http, self.services = http, services

    def post(self, path: str, body: Any) -> falcon.testing.Result:
        return self.http.simulate_post(path, json=body, headers={"X-Forwarded-For": random_ip()})

    def code(self, contract: str, phone: str) -> str:
        self.services.redis.delete(self.services.keys.code_resend(contract, phone))
        sent = self.post("/api/v1/auth/sms/send", {"phone": phone, "code_type": "login"})
        assert sent.status_code == 200, sent.text
        outbox = self.http.simulate_get("/_dev/outbox", params={"to": phone})
        return str(outbox.json["messages"][0]["code"])

    def member_sms_login(self, phone: str) -> dict[str, Any]:
        code = self.code("member", phone)
        answer = self.post("/api/v1/auth/login/sms", {"phone": phone, "code": code})
        assert answer.status_code == 200, answer.text
        return dict(answer.json["data"])

    def customer_login(self, phone: str, password: str) -> dict[str, Any]:
        answer = self.post(
            "/api/app/customer/v1/user/login", {"phone": phone, "password": password}
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json)


@pytest.fixture
def apps(settings) -> ContractClient:
    services = build_services(settings)
    return ContractClient(falcon.testing.TestClient(create_app(settings, services)), services)
