"""The WSGI server ``facade serve`` runs: gunicorn (the default) or granian (``FACADE_SERVER``).

Both run the same app with the same guarantees that live in the app itself: admission
(``FACADE_THREADS`` admitted plus reserve threads for probes and refusals), body limits, trusted
proxies, and prometheus-client's multiprocess directory (set by ``facade serve`` before either
starts). Granian (a Rust HTTP server) parses HTTP and dispatches requests without Python, which
measurably lowers the facade's CPU per profile read (README, "Server choice").
"""

from __future__ import annotations

import sys

SERVERS = ("gunicorn", "granian")


def server_command(server: str, bind: str, workers: int, threads: int) -> list[str]:
    """The argv that replaces ``facade serve``; ``threads`` includes the reserve threads."""
    if server == "gunicorn":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "facade.app:get_app()",
            f"--bind={bind}",
            "--worker-class=gthread",
            f"--workers={workers}",
            f"--threads={threads}",
            "--timeout=60",
            "--graceful-timeout=20",
            "--keep-alive=5",
            "--error-logfile=-",
            "--config=python:facade.stack.gunicorn_hooks",
        ]
    if server == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface=wsgi",
            "--factory",
            *_granian_bind(bind),
            "--http=1",
            f"--workers={workers}",
            f"--blocking-threads={threads}",
            "--respawn-failed-workers",
            "--workers-kill-timeout=20",
            "--no-access-log",  # the facade logs one JSON line per request itself
            "facade.app:get_app",
        ]
    raise ValueError(f"FACADE_SERVER must be one of {', '.join(SERVERS)}, not {server!r}")


def _granian_bind(bind: str) -> list[str]:
    """Gunicorn's ``host:port`` / ``unix:path`` spelled as granian's options."""
    if bind.startswith("unix:"):
        return [f"--uds={bind.removeprefix('unix:')}"]
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--bind must be host:port or unix:path, not {bind!r}")
    return [f"--host={host.strip('[]')}", f"--port={port}"]
