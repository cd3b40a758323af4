"""Schemathesis against the live facade (gunicorn on a free port) with customer's OpenAPI document.

Every generated request, valid or not, must get a documented answer (HTTP 200 with a body that
fits ``oneOf`` success or error) and never a server error. customer answers refusals with HTTP
200 and a business code (README "customer"), so the three default checks that judge refusals by
the HTTP status (negative data, ignored auth, missing Authorization header) are replaced by the
same judgement on the body's ``code``.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
)

from facade.contracts.customer import contract
from facade.contracts.kit.openapi import build_document
from tests.contracts.customer.conftest import PREFIX
from tests.contracts.live import random_ip

# The document the facade serves (test_openapi.py checks they are the same), built in-process so
# that collecting tests connects to nothing; calls go to the live server.
schema = schemathesis.openapi.from_dict(build_document(contract, PREFIX))


# Not registered with @schemathesis.check: that would apply it to every contract's run.
def refused_by_business_code(ctx: Any, response: Any, case: Any) -> bool | None:
    """Made-up data is refused: a schema-violating body gets an error code, a missing or made-up
    bearer token 10003 (what the replaced checks demand as 4xx statuses)."""
    if response.status_code != 200 or case.method.upper() != case.operation.method.upper():
        return None  # other statuses and methods (an OPTIONS probe) are the default checks' job
    code = response.json()["code"]
    if case.meta is not None and case.meta.generation.mode.is_negative:
        assert code != 0, f"invalid data was accepted: {case.body!r}"
    if case.operation.path == "/user/logout":
        assert code == 10003, "a missing or made-up bearer token was not refused"
    return None


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_customer_api_conforms_to_its_openapi_document(case, live_facade):
    # Not "schema-valid data is accepted": a well-formed request with a wrong code or password is
    # rightly refused by an authentication API.
    case.call_and_validate(
        base_url=f"{live_facade}{PREFIX}",
        headers={"X-Forwarded-For": random_ip()},
        excluded_checks=[
            positive_data_acceptance,
            negative_data_rejection,
            ignored_auth,
            missing_required_header,
        ],
        additional_checks=[refused_by_business_code],
    )
