"""The ``captcha`` contract (captcha.md): a placeholder answering 501 until its issue lands."""

from __future__ import annotations

from facade.contracts.captcha.render import render_error
from facade.contracts.stubs import PlaceholderContract

ROUTES = ("/auth/send_captcha", "/auth/register", "/auth/login", "/auth/refresh")

contract = PlaceholderContract("captcha", ROUTES, render_error, channels=("sms", "email"))
