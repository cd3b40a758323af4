"""The ``customer`` contract (customer.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.customer.render import render_error
from facade.contracts.stubs import PlaceholderContract

ROUTES = (
    "/user/login",
    "/user/register",
    "/user/logout",
    "/user/verify/sms",
    "/user/refresh",
    "/user/password/reset",
)

contract = PlaceholderContract("customer", ROUTES, render_error)
