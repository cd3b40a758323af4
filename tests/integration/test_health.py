"""Liveness and readiness over HTTP, with a Redis of the test's own that it stops and restarts."""

from __future__ import annotations

import falcon.testing

from facade.app import create_app
from tests import harness


def test_healthz_answers_without_dependencies(client):
    response = client.simulate_get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["X-Request-Id"]


def test_readyz_is_503_naming_redis_while_it_is_down_and_200_when_back(settings, tmp_path):
    redis_server = harness.start_redis(tmp_path / "redis")
    try:
        app = create_app(settings.with_changes(redis_url=redis_server.url))
        client = falcon.testing.TestClient(app)
        assert client.simulate_get("/readyz").status_code == 200

        redis_server.stop()
        down = client.simulate_get("/readyz")
        assert down.status_code == 503
        assert down.json["failing"] == ["redis"]
        assert down.json["checks"]["keycloak"] == "ok"

        redis_server.start()
        redis_server.wait_ready()
        back = client.simulate_get("/readyz")
        assert back.status_code == 200
        assert back.json == {
            "status": "ready",
            "failing": [],
            "checks": {"keycloak": "ok", "redis": "ok"},
        }
    finally:
        redis_server.stop()


def test_readyz_names_keycloak_when_it_cannot_be_reached(settings):
    from facade.stack.processes import free_port

    unreachable = settings.with_changes(keycloak_url=f"http://127.0.0.1:{free_port()}")
    response = falcon.testing.TestClient(create_app(unreachable)).simulate_get("/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["keycloak"]


def test_every_contract_is_mounted_and_renders_errors_in_its_own_format(client):
    assert client.simulate_get("/api/v1/nope").json == {
        "code": 404,
        "message": "Not Found",
        "data": None,
    }
    assert client.simulate_get("/account/nope").json == {"detail": "Not Found"}
    vcode = client.simulate_get("/vcode/nope")
    assert vcode.status_code == 404
    assert vcode.json["error"]["type"] == "NOT_FOUND"
    assert client.simulate_get("/nowhere").status_code == 404


def test_request_id_is_kept_when_sane_and_replaced_when_not(client):
    kept = client.simulate_get("/healthz", headers={"X-Request-Id": "abc-123-def-456"})
    assert kept.headers["X-Request-Id"] == "abc-123-def-456"
    replaced = client.simulate_get("/healthz", headers={"X-Request-Id": "bad id\r\nx"})
    assert replaced.headers["X-Request-Id"] != "bad id\r\nx"
    assert len(replaced.headers["X-Request-Id"]) == 32
