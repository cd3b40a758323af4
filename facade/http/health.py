"""Liveness and readiness probes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import falcon

from facade.core.errors import FacadeError


class Liveness:
    """The process answers; says nothing about its dependencies."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Readiness:
    """Every dependency answers; a 503 names the parts that do not."""

    def __init__(self, checks: Mapping[str, Callable[[], None]]) -> None:
        self._checks = checks

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        results: dict[str, str] = {}
        for name, check in self._checks.items():
            try:
                check()
                results[name] = "ok"
            except (FacadeError, OSError) as exc:
                results[name] = str(exc) or "unavailable"
        failing = sorted(name for name, result in results.items() if result != "ok")
        resp.status = falcon.HTTP_503 if failing else falcon.HTTP_200
        resp.media = {
            "status": "unavailable" if failing else "ready",
            "failing": failing,
            "checks": results,
        }
