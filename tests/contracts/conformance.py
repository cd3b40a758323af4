"""One schemathesis conformance test for any contract, run against the live facade.

Every generated request, valid or not, must get a documented status with a body that matches
the contract's OpenAPI document, and never a server error. Each call comes from its own client
address (the facade trusts 127.0.0.1 as a proxy there), so rate limits do not hide the other
answers. The document is built in-process (each contract's test_openapi.py checks it is the one
served), so collecting tests connects to nothing; calls go to the live server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from facade.contracts.kit import KitContract
from facade.contracts.kit.openapi import build_document
from tests.contracts.live import random_ip

#: Left out for every contract: a well-formed request with a wrong code, password or token is
#: rightly refused by an authentication API ("schema-valid data is accepted" would fail it).
ALWAYS_EXCLUDED = (positive_data_acceptance,)


def conformance_test(
    contract: KitContract,
    prefix: str,
    *,
    excluded_checks: Sequence[Callable[..., Any]] = (),
    additional_checks: Sequence[Callable[..., Any]] = (),
    max_examples: int = 25,
) -> Callable[..., None]:
    """A pytest test (bind it to a ``test_...`` name) running schemathesis' default checks,
    but ``ALWAYS_EXCLUDED`` and ``excluded_checks``, plus ``additional_checks``, on every
    operation of ``contract`` mounted at ``prefix``."""
    schema = schemathesis.openapi.from_dict(build_document(contract, prefix))

    @schema.parametrize()
    @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck))
    def test(case: Any, live_facade: str) -> None:
        case.call_and_validate(
            base_url=f"{live_facade}{prefix}",
            headers={"X-Forwarded-For": random_ip()},
            excluded_checks=[*ALWAYS_EXCLUDED, *excluded_checks],
            additional_checks=list(additional_checks),
        )

    return test
