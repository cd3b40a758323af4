from __future__ import annotations

import pytest

from facade.app import create_app
from facade.settings import DEV_SECRET, Settings, SettingsError

PRODUCTION = {
    "FACADE_ENV": "production",
    "FACADE_DATABASE_URL": "sqlite://",
    "FACADE_SECRET": "s" * 40,
    "FACADE_KEYCLOAK_CLIENT_SECRET": "k",
    **{
        f"FACADE_{slug}_CLIENT_SECRET": "c"
        for slug in ("CAPTCHA", "VCODE", "MEMBER", "CUSTOMER", "ACCOUNT")
    },
}


def test_production_refuses_to_start_without_a_server_secret():
    with pytest.raises(SettingsError, match="FACADE_SECRET"):
        Settings.from_env({k: v for k, v in PRODUCTION.items() if k != "FACADE_SECRET"})


def test_production_refuses_a_short_secret_and_missing_client_secrets():
    with pytest.raises(SettingsError):
        Settings.from_env({**PRODUCTION, "FACADE_SECRET": "short"})
    with pytest.raises(SettingsError, match="MEMBER_CLIENT_SECRET"):
        Settings.from_env({k: v for k, v in PRODUCTION.items() if "MEMBER" not in k})


def test_create_app_refuses_the_development_secret_in_production():
    with pytest.raises(SettingsError):
        create_app(Settings(env="production", secret=DEV_SECRET))


def test_environment_defaults_to_production():
    assert Settings.from_env(PRODUCTION).env == "production"
    with pytest.raises(SettingsError):
        Settings.from_env({})


def test_prefixes_and_mounted_contracts_are_configurable():
    settings = Settings.from_env(
        {"FACADE_ENV": "development", "FACADE_CONTRACTS": "member", "FACADE_MEMBER_PREFIX": "/"}
    )
    assert dict(settings.prefixes) == {"member": ""}
    assert settings.client_for("member").client_secret == "dev-member-secret"
    with pytest.raises(SettingsError):
        Settings.from_env({"FACADE_ENV": "development", "FACADE_CONTRACTS": "nope"})


def test_swagger_ui_is_on_in_development_and_off_in_production_unless_asked():
    assert Settings.from_env({"FACADE_ENV": "development"}).api_docs is True
    assert Settings.from_env(PRODUCTION).api_docs is False
    assert Settings.from_env({**PRODUCTION, "FACADE_API_DOCS": "1"}).api_docs is True
    with pytest.raises(SettingsError, match="FACADE_API_DOCS"):
        Settings.from_env({**PRODUCTION, "FACADE_API_DOCS": "maybe"})


def test_a_malformed_number_names_its_variable():
    with pytest.raises(SettingsError, match="FACADE_KEYCLOAK_TIMEOUT"):
        Settings.from_env({"FACADE_ENV": "development", "FACADE_KEYCLOAK_TIMEOUT": "ten"})


def test_contract_clients_never_take_a_built_in_keycloak_client_id():
    settings = Settings.from_env({"FACADE_ENV": "development"})
    assert settings.client_for("account").client_id == "facade-account"
    assert {c.client_id for c in settings.contract_clients.values()} == {
        f"facade-{slug}" for slug in ("captcha", "vcode", "member", "customer", "account")
    }


def test_production_refuses_to_start_without_the_identity_store():
    without = {k: v for k, v in PRODUCTION.items() if k != "FACADE_DATABASE_URL"}
    with pytest.raises(SettingsError, match="FACADE_DATABASE_URL"):
        Settings.from_env(without)
