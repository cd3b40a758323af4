"""The ``vcode`` contract (vcode.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.stubs import PlaceholderContract
from facade.contracts.vcode.render import render_error

ROUTES = ("/auth/verification-code", "/auth/login/code", "/auth/register", "/auth/login")

contract = PlaceholderContract("vcode", ROUTES, render_error)
