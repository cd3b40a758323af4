"""A local TCP proxy that holds chosen answers: Keycloak answering after the client gave up.

Each client connection gets its own upstream connection. When a request line matches
``hold``, the answer to it is held back ``delay`` seconds before it is forwarded (the server
has done the work by then; only its answer is late). Requests are counted by request line.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable


class SlowProxy:
    def __init__(self, upstream_port: int, hold: Callable[[bytes], bool], delay: float) -> None:
        self._upstream = upstream_port
        self._hold = hold
        self._delay = delay
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._upstream))
            held = threading.Event()
            threading.Thread(target=self._up, args=(client, upstream, held), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, held), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, held: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while chunk := client.recv(65536):
                line = chunk.split(b"\r\n", 1)[0]
                if line.split(b" ", 1)[0] in (b"GET", b"POST", b"PUT", b"DELETE"):
                    with self._lock:
                        self.requests[line.decode(errors="replace")] += 1
                    if self._hold(line):
                        held.set()
                upstream.sendall(chunk)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)

    def _down(self, upstream: socket.socket, client: socket.socket, held: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(65536):
                if held.is_set():
                    time.sleep(self._delay)
                    held.clear()
                client.sendall(chunk)
        with contextlib.suppress(OSError):
            client.close()

    def count(self, predicate: Callable[[str], bool]) -> int:
        with self._lock:
            return sum(n for line, n in self.requests.items() if predicate(line))
