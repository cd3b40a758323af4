"""Schemathesis against the live facade (gunicorn on a free port), one test per contract with
that contract's OpenAPI document (see conformance.py for what every run checks)."""

from __future__ import annotations

from typing import Any

from schemathesis.checks import ignored_auth, missing_required_header, negative_data_rejection

from facade.contracts import account, captcha, customer, member, vcode
from tests.contracts.conformance import conformance_test
from tests.contracts.customer.conftest import PREFIX as CUSTOMER_PREFIX

test_captcha_api_conforms_to_its_openapi_document = conformance_test(captcha.contract, "/captcha")
test_vcode_api_conforms_to_its_openapi_document = conformance_test(vcode.contract, "/vcode")
test_member_api_conforms_to_its_openapi_document = conformance_test(member.contract, "/api/v1")
test_account_api_conforms_to_its_openapi_document = conformance_test(account.contract, "/account")


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


# customer answers refusals with HTTP 200 and a business code (README "customer"), so the three
# default checks that judge refusals by the HTTP status (negative data, ignored auth, missing
# Authorization header) are replaced by the same judgement on the body's ``code``.
test_customer_api_conforms_to_its_openapi_document = conformance_test(
    customer.contract,
    CUSTOMER_PREFIX,
    excluded_checks=(negative_data_rejection, ignored_auth, missing_required_header),
    additional_checks=(refused_by_business_code,),
)
