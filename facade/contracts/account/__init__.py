"""The ``account`` contract (account.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.account.render import render_error
from facade.contracts.stubs import PlaceholderContract

ROUTES = (
    "/register",
    "/send-code",
    "/check-username",
    "/login",
    "/phone-login",
    "/complete-registration",
    "/users/me",
    "/users/me/password",
    "/users/me/username",
    "/users/me/set-password",
    "/users/me/has-password",
    "/logout",
)

contract = PlaceholderContract("account", ROUTES, render_error)
