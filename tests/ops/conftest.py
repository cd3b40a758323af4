"""Markers of the operations tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "prodstack: brings the production-mode stack up and down (about 3 minutes)",
    )
