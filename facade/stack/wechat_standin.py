"""A local stand-in for WeChat's ``code2Session``, so that mini-program login works offline.

Nobody outside a real mini-program can obtain a ``wx.login`` code, so this server mints codes on
request and answers ``GET /sns/jscode2session`` the way WeChat does: same query parameters, same
error codes and messages (with a ``rid``), HTTP 200 with JSON labelled ``text/plain``. A code is
single use, lives five minutes and belongs to one appid; an openid keeps its unionid.

Control endpoints (not WeChat's), for the development stack and the tests:

- ``POST /_standin/codes`` ``{"openid"?, "unionid"?, "appid"?}`` mints a code; a missing openid
  or unionid is made up, an explicit ``"unionid": null`` is an app without UnionID;
- ``POST /_standin/fail`` ``{"errcode"? | "http_status"? | "delay"?, "times"?}`` makes the next
  ``times`` exchanges fail (or stall), without consuming their codes;
- ``POST /_standin/clock`` ``{"advance": seconds}`` moves the clock on, so expiry needs no sleep;
- ``GET /_standin/health``.

Run it with ``python -m facade.stack.wechat_standin --port 8090 --appid A --secret S`` (appid and
secret default to ``FACADE_WECHAT_APPID`` / ``FACADE_WECHAT_SECRET``, which keeps the secret out
of ``ps``).
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

#: The development stack's mini-program; the realm of a real deployment never sees these.
DEV_APPID = "wxfacadedev0000001"
DEV_SECRET = "dev-wechat-secret"  # noqa: S105
DEFAULT_PORT = 8090
#: WeChat: a ``wx.login`` code is valid for five minutes.
CODE_TTL = 300.0

#: errcode -> errmsg, as WeChat words them (``rid: ...`` is appended like WeChat does).
MESSAGES: dict[int, str] = {
    -1: "system error",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "code blocked",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    45011: "api minute-quota reach limit mustslower retry next minute",
}

_UNSET: Any = object()
_SECRETS_IN_QUERY = re.compile(r"((?:secret|js_code)=)[^&\s'\"]*")
_ALPHANUMERIC = string.ascii_letters + string.digits


def _token(length: int, first: str = "") -> str:
    return first + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length - len(first)))


def _rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def error_body(errcode: int) -> dict[str, Any]:
    return {"errcode": errcode, "errmsg": f"{MESSAGES.get(errcode, 'error')} rid: {_rid()}"}


@dataclass
class _Code:
    appid: str
    openid: str
    unionid: str | None
    expires_at: float
    used: bool = False


@dataclass
class _Fault:
    errcode: int | None
    http_status: int | None
    delay: float
    times: int


@dataclass(frozen=True)
class Answer:
    """What the HTTP layer sends: status, JSON body, and how long to stall first."""

    status: int
    body: dict[str, Any]
    delay: float = 0.0


class WechatStandin:
    """The stand-in's state, shared by the server's threads.

    Args:
        apps: appid -> secret of every mini-program it accepts.
        ttl: seconds a code stays valid.
        clock: monotonic seconds; injectable so tests can expire codes without waiting.
    """

    def __init__(
        self,
        apps: Mapping[str, str],
        ttl: float = CODE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not apps:
            raise ValueError("the stand-in needs at least one appid")
        self._apps = dict(apps)
        self._default_appid = next(iter(self._apps))
        self._ttl = ttl
        self._clock = clock
        self._offset = 0.0
        self._codes: dict[str, _Code] = {}
        self._unionids: dict[tuple[str, str], str | None] = {}
        self._faults: deque[_Fault] = deque()
        self._lock = threading.Lock()

    @property
    def appids(self) -> list[str]:
        return list(self._apps)

    def _now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def mint(
        self, openid: str | None = None, unionid: str | None = _UNSET, appid: str | None = None
    ) -> dict[str, Any]:
        """A fresh code for ``openid`` (made up when absent) of ``appid`` (the first by default).

        An openid keeps the unionid it was first given unless one is passed again, as a real
        user keeps theirs; ``unionid=None`` simulates a mini-program without UnionID.
        """
        appid = appid or self._default_appid
        if appid not in self._apps:
            raise ValueError(f"unknown appid {appid!r}")
        openid = openid or _token(28, "o")
        with self._lock:
            now = self._now()
            self._codes = {c: v for c, v in self._codes.items() if v.expires_at > now}
            key = (appid, openid)
            if unionid is not _UNSET:
                self._unionids[key] = unionid
            elif key not in self._unionids:
                self._unionids[key] = _token(28, "o")
            code = _token(32)
            self._codes[code] = _Code(appid, openid, self._unionids[key], now + self._ttl)
            return {"code": code, "openid": openid, "unionid": self._unionids[key]}

    def fail_next(
        self,
        errcode: int | None = None,
        http_status: int | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """Queue a fault for the next ``times`` exchanges: an errcode, an HTTP status or a stall."""
        if errcode is None and http_status is None and delay <= 0:
            raise ValueError("a fault needs errcode, http_status or delay")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(_Fault(errcode, http_status, delay, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _next_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self._faults.popleft()
        return fault

    def exchange(self, query: Mapping[str, str]) -> Answer:
        """Answer ``jscode2session`` for these query parameters, as WeChat would."""
        with self._lock:
            fault = self._next_fault()
            if fault is not None and (fault.errcode is not None or fault.http_status is not None):
                if fault.http_status is not None:
                    return Answer(fault.http_status, {"error": "injected"}, fault.delay)
                assert fault.errcode is not None
                return Answer(200, error_body(fault.errcode), fault.delay)
            delay = fault.delay if fault is not None else 0.0
            return Answer(200, self._verify(query), delay)

    def _verify(self, query: Mapping[str, str]) -> dict[str, Any]:
        appid = query.get("appid", "")
        secret = query.get("secret", "")
        js_code = query.get("js_code", "")
        if not appid:
            return error_body(41002)
        if appid not in self._apps:
            return error_body(40013)
        if not secret:
            return error_body(41004)
        if not secrets.compare_digest(secret, self._apps[appid]):
            return error_body(40125)
        if query.get("grant_type") != "authorization_code":
            return error_body(40002)
        if not js_code:
            return error_body(41008)
        code = self._codes.get(js_code)
        if code is None or code.appid != appid or code.expires_at <= self._now():
            return error_body(40029)
        if code.used:
            return error_body(40163)
        code.used = True
        body: dict[str, Any] = {
            "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
            "openid": code.openid,
        }
        if code.unionid is not None:
            body["unionid"] = code.unionid
        return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], standin: WechatStandin) -> None:
        super().__init__(address, _Handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        standin = self.server.standin
        if url.path == "/sns/jscode2session":
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            answer = standin.exchange(query)
            if answer.delay > 0:
                time.sleep(answer.delay)
            # WeChat labels this JSON text/plain; clients must not rely on the media type.
            self._send(answer.status, answer.body, "text/plain")
        elif url.path == "/_standin/health":
            self._send(200, {"status": "ok", "appids": standin.appids})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "/_standin/codes": self._mint,
            "/_standin/fail": self._fail,
            "/_standin/clock": self._clock,
        }
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            action = actions.get(urlsplit(self.path).path)
            if action is None:
                self._send(404, {"error": "not found"})
                return
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            self._send(200, action(body))
        except ValueError as exc:
            self._send(400, {"error": str(exc)})

    def _mint(self, body: dict[str, Any]) -> dict[str, Any]:
        openid = _optional_str(body, "openid")
        appid = _optional_str(body, "appid")
        unionid = _optional_str(body, "unionid") if "unionid" in body else _UNSET
        return self.server.standin.mint(openid=openid, unionid=unionid, appid=appid)

    def _fail(self, body: dict[str, Any]) -> dict[str, Any]:
        errcode, status, times = body.get("errcode"), body.get("http_status"), body.get("times", 1)
        delay = body.get("delay", 0)
        for name, value in (("errcode", errcode), ("http_status", status)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an integer")
        if isinstance(times, bool) or not isinstance(times, int):
            raise ValueError("times must be an integer")
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise ValueError("delay must be a number")
        self.server.standin.fail_next(errcode, status, float(delay), times)
        return {"queued": times}

    def _clock(self, body: dict[str, Any]) -> dict[str, Any]:
        seconds = body.get("advance")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("advance must be a non-negative number of seconds")
        self.server.standin.advance(float(seconds))
        return {"advanced": seconds}

    def _send(self, status: int, body: dict[str, Any], media: str = "application/json") -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{media}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a test of timeouts, say)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The query string carries the appsecret and the code: log the path only.
        log.info("%s %s %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s - %s", self.address_string(), _SECRETS_IN_QUERY.sub(r"\1***", format % args))


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string or null")
    return value


class StandinServer:
    """The stand-in over HTTP: on a background thread (tests) or in the foreground (CLI)."""

    def __init__(self, standin: WechatStandin, host: str = "127.0.0.1", port: int = 0) -> None:
        self.standin = standin
        self._httpd = _Server((host, port), standin)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandinServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="wechat-standin", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m facade.stack.wechat_standin",
        description="A local stand-in for WeChat's jscode2session, for development and tests.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--appid", default=os.environ.get("FACADE_WECHAT_APPID") or DEV_APPID)
    parser.add_argument("--secret", default=os.environ.get("FACADE_WECHAT_SECRET") or DEV_SECRET)
    parser.add_argument("--ttl", type=float, default=CODE_TTL, help="seconds a code lives")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = StandinServer(WechatStandin({args.appid: args.secret}, args.ttl), args.host, args.port)
    log.info("WeChat stand-in for appid %s on http://%s:%d", args.appid, args.host, server.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
