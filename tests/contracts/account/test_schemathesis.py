"""Schemathesis against the live facade (gunicorn on a free port) with account's OpenAPI document.

Every generated request, valid or not, must get a documented status with a body that matches
the document, and never a server error. Each call comes from its own client address (the
facade trusts 127.0.0.1 as a proxy here), so rate limits do not hide the other answers.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from facade.contracts.account import contract
from facade.contracts.kit.openapi import build_document
from tests.contracts.live import random_ip

# The document the facade serves (test_openapi.py checks they are the same), built in-process so
# that collecting tests connects to nothing; calls go to the live server.
schema = schemathesis.openapi.from_dict(build_document(contract, "/account"))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_account_api_conforms_to_its_openapi_document(case, live_facade):
    # Every default check but "schema-valid data is accepted": a well-formed request with a
    # wrong password or code is rightly refused by an authentication API.
    case.call_and_validate(
        base_url=f"{live_facade}/account",
        headers={"X-Forwarded-For": random_ip()},
        excluded_checks=[positive_data_acceptance],
    )
