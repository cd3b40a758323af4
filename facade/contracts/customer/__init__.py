"""The ``customer`` contract (customer.md) at ``/api/app/customer/v1``: phone and password
sign-in, registration and password reset by SMS code, refresh and logout, every outcome HTTP 200
with a business code in ``{code, message, data}``."""

from __future__ import annotations

from facade.contracts.customer import render
from facade.contracts.customer.routes import ROUTES
from facade.contracts.kit import KitContract

DESCRIPTION = f"""customer.md (认证模块 API), served by keycloak-facade over the shared Keycloak
realm.

Every documented outcome, success or error, is **HTTP 200**; the body's `code` says which
(contracts README, customer). Each code has one stable `message`:

{render.code_table()}

Additions to customer.md (contracts README): the codes 10003, 10008 and 10009 above, and
`refresh_token` in the `data` of `/user/login` and `/user/register` so that `/user/refresh` is
usable. A 10008 answer carries a `Retry-After` header (seconds).
"""

contract = KitContract(
    slug="customer",
    title="customer: 认证模块 API",
    description=DESCRIPTION,
    routes=ROUTES,
    errors=render.ERRORS,
    envelope=render.envelope,
    error_schema=render.ERROR_SCHEMA,
    channels=("sms",),
)
