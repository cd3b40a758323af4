"""docker/compose.yaml and ``facade stack up --production`` describe the same deployment."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from facade.stack import production, provider_standins
from facade.stack.keycloak import KeycloakServer
from facade.stack.nginx import TEMPLATE, render

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())["services"]
PORTS = production.Ports(8100)
VALUES = {"facade_secret": "s" * 40, "db_password": "db", "admin_password": "admin"}
#: Only in the local stack: the facades' bind is a command-line flag there.
LOCAL_ONLY_FLAGS = {"--http-host", "--http-management-port", "--db-url", "--db-username"}


def _local_facade_env() -> dict[str, str]:
    providers = provider_standins.facade_settings("http://127.0.0.1:1", 2, Path("/cert.pem"))
    return production.facade_environment(PORTS, VALUES, providers)


def _flags(command: list[str]) -> dict[str, str]:
    return {
        part.split("=", 1)[0]: part.split("=", 1)[1] if "=" in part else ""
        for part in command
        if part.startswith("--")
    }


def _local_keycloak_command() -> list[str]:
    server = KeycloakServer(
        workdir=Path("/nowhere"),
        http_port=PORTS.keycloak,
        management_port=PORTS.keycloak_management,
        database=production.database(PORTS, VALUES),
    )
    return server.command()


def test_the_same_services_run_in_both() -> None:
    assert set(COMPOSE) - {"realm-apply"} == set(production.SERVICES)


def test_the_follower_runs_with_the_facades_settings() -> None:
    follow = COMPOSE["identities-follow"]
    assert follow["command"] == ["facade", "identities", "follow"]
    assert follow["environment"] == COMPOSE["facade-1"]["environment"]


def test_keycloak_runs_in_start_mode_with_the_same_options() -> None:
    local = _local_keycloak_command()
    compose = COMPOSE["keycloak"]["command"]
    assert local[1] == compose[0] == "start"
    local_flags = {k: v for k, v in _flags(local).items() if k not in LOCAL_ONLY_FLAGS}
    compose_flags = _flags(compose)
    # The HTTP port differs by design (8080 in a container, the port block locally).
    assert local_flags.pop("--http-port") == str(PORTS.keycloak)
    assert compose_flags.pop("--http-port") == "8080"
    assert local_flags == compose_flags
    # Database: the same name and user; the password goes by environment in both.
    jdbc = _flags(local)["--db-url"]
    assert (
        jdbc.rsplit("/", 1)[1] == COMPOSE["keycloak"]["environment"]["KC_DB_URL"].rsplit("/", 1)[1]
    )
    assert _flags(local)["--db-username"] == COMPOSE["keycloak"]["environment"]["KC_DB_USERNAME"]
    assert "KC_DB_PASSWORD" in COMPOSE["keycloak"]["environment"]
    assert not any("password" in part.lower() for part in local)


def test_facades_get_the_same_variables() -> None:
    compose_env = COMPOSE["facade-1"]["environment"]
    assert COMPOSE["facade-2"]["environment"] == compose_env
    local = {name for name in _local_facade_env() if name.startswith("FACADE_")}
    assert local <= set(compose_env), local - set(compose_env)
    required = {name for name, value in compose_env.items() if ":?" in str(value)}
    assert required <= local, required - local
    assert _local_facade_env()["FACADE_ENV"] == compose_env["FACADE_ENV"] == "production"


def test_ports_line_up_the_same_way() -> None:
    # nginx -> facades: the upstreams are the facades' binds, in both.
    bind_port = compose_port = COMPOSE["facade-1"]["environment"]["FACADE_BIND"].rsplit(":", 1)[1]
    nginx_env = COMPOSE["nginx"]["environment"]
    assert [nginx_env["FACADE_UPSTREAM_1"], nginx_env["FACADE_UPSTREAM_2"]] == [
        f"facade-1:{bind_port}",
        f"facade-2:{compose_port}",
    ]
    rendered = render(f"127.0.0.1:{PORTS.nginx}", ("127.0.0.1:8101", "127.0.0.1:8102"))
    assert re.findall(r"server 127\.0\.0\.1:(\d+)", rendered) == [str(p) for p in PORTS.facades]
    assert f"listen 127.0.0.1:{PORTS.nginx};" in rendered
    assert COMPOSE["nginx"]["ports"][0].endswith(":" + nginx_env["NGINX_LISTEN"])
    # facades -> Keycloak, Redis; Keycloak -> PostgreSQL.
    local_env = _local_facade_env()
    assert urlsplit(local_env["FACADE_KEYCLOAK_URL"]).port == PORTS.keycloak
    assert urlsplit(COMPOSE["facade-1"]["environment"]["FACADE_KEYCLOAK_URL"]).port == 8080
    assert urlsplit(local_env["FACADE_REDIS_URL"]).port == PORTS.redis
    assert f":{PORTS.postgres}/" in _flags(_local_keycloak_command())["--db-url"]
    assert ":5432/" in COMPOSE["keycloak"]["environment"]["KC_DB_URL"]
    # Only nginx is published; the facades are reached through it.
    assert [name for name, service in COMPOSE.items() if "ports" in service] == ["nginx"]


def test_the_nginx_template_is_shared_and_fully_rendered() -> None:
    names = set(re.findall(r"\$\{(\w+)\}", TEMPLATE.read_text()))
    assert names == set(COMPOSE["nginx"]["environment"])
    assert COMPOSE["nginx"]["volumes"][0].startswith("./nginx/facade.conf.template:")
    assert "${" not in render("127.0.0.1:1", ("a:1", "b:2"))
