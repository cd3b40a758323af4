"""The fast tier: the real app and use cases over in-memory fakes of the ports (no servers)."""

from __future__ import annotations

from dataclasses import dataclass

import falcon.testing
import pytest

from facade.app import create_app
from facade.bootstrap import Services, build_services
from facade.settings import Settings
from tests.fakes import FakeIdentity, Outbox, fake_stores


@dataclass
class FastFacade:
    http: falcon.testing.TestClient
    services: Services
    identity: FakeIdentity
    outbox: Outbox


@pytest.fixture
def fast() -> FastFacade:
    settings = Settings.from_env({"FACADE_ENV": "development"})
    identity = FakeIdentity()
    outbox = Outbox()
    services = build_services(
        settings,
        identity=identity,
        stores=fake_stores(identity),
        senders={"sms": [outbox], "email": [outbox]},
    )
    return FastFacade(
        falcon.testing.TestClient(create_app(settings, services)), services, identity, outbox
    )
