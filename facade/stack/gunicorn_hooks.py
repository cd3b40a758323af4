"""Gunicorn server hooks for ``facade serve`` (``--config=python:facade.stack.gunicorn_hooks``)."""

from __future__ import annotations

from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: drop its live gauges from the multiprocess metrics directory."""
    from facade.observability.metrics import mark_process_dead

    mark_process_dead(worker.pid)
