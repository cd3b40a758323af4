"""Fixtures every contract's HTTP tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contracts.live import live_facade as _live_facade


@pytest.fixture(scope="session")
def live_facade(keycloak, redis_server, wechat_standin) -> Iterator[str]:
    """One gunicorn-served facade for the whole session (schemathesis runs of every contract)."""
    with _live_facade(keycloak, redis_server, wechat_standin) as base:
        yield base
