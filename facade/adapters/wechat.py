"""WeChat mini-program login: ``code2Session`` trades a ``wx.login`` code for the user's openid.

The only module that speaks to WeChat; its answers become the core's :class:`ExternalIdentity`
or a typed error here. WeChat refusing (a bad, used or blocked code, throttling, a wrong appid
or secret) is :class:`ExternalAuthRejected`; WeChat busy (``-1``), failing, slow or unreachable
is :class:`Unavailable`.

Two secrets pass through and neither may reach a log. The ``session_key`` is dropped on arrival:
the facade decrypts nothing, and a key never kept cannot leak. The appsecret travels in the query
string (WeChat's design), so urllib3's debug lines are redacted and request exceptions, whose
messages carry the URL, are never chained into ours.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import requests

from facade.adapters.log_redaction import redact_urllib3_query_params
from facade.core.errors import ExternalAuthRejected, Unavailable
from facade.core.models import ExternalIdentity
from facade.settings import Settings

log = logging.getLogger(__name__)

PROVIDER = "wechat"
#: errcode -> ``ExternalAuthRejected.reason``; any other non-zero errcode but -1 is ``rejected``.
REJECTIONS: dict[int, str] = {
    40029: "invalid_code",
    41008: "invalid_code",
    40163: "code_used",
    45011: "throttled",
    40226: "user_blocked",
    40002: "misconfigured",
    40013: "misconfigured",
    40125: "misconfigured",
    41002: "misconfigured",
    41004: "misconfigured",
}
BUSY = -1


class WechatClient:
    """``GET {api_base}/sns/jscode2session`` with one ``requests.Session`` per thread.

    Implements the core's ``WechatSessions`` port.
    """

    def __init__(self, api_base: str, appid: str, secret: str, timeout: float = 5.0) -> None:
        self._url = api_base.rstrip("/") + "/sns/jscode2session"
        self._appid = appid
        self._secret = secret
        self._timeout = timeout
        self._local = threading.local()
        redact_urllib3_query_params("secret", "js_code")

    @classmethod
    def from_settings(cls, settings: Settings) -> WechatClient:
        return cls(
            settings.wechat_api_base,
            settings.wechat_appid,
            settings.wechat_secret,
            settings.wechat_timeout,
        )

    def __repr__(self) -> str:
        return f"WechatClient({self._url!r}, appid={self._appid!r})"

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def code_to_session(self, js_code: str) -> ExternalIdentity:
        """The openid (and unionid, when the app is bound to an Open Platform account) behind a
        ``wx.login`` code; the ``session_key`` is not kept.

        Raises:
            ExternalAuthRejected: WeChat answered with an errcode other than ``-1``.
            Unavailable: not configured, unreachable, timed out, HTTP error, busy or unreadable.
        """
        if not self._appid or not self._secret:
            raise Unavailable(PROVIDER, "wechat login is not configured (appid/secret)")
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        try:
            response = self._session().get(self._url, params=params, timeout=self._timeout)
        except requests.Timeout:
            raise Unavailable(PROVIDER, "wechat did not answer in time") from None
        except requests.RequestException as exc:
            # ``from None``: the exception's message holds the URL, and so the appsecret.
            raise Unavailable(PROVIDER, f"cannot reach wechat ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise Unavailable(PROVIDER, f"wechat answered HTTP {response.status_code}")
        return _session_from(_json_object(response))


def _json_object(response: requests.Response) -> dict[str, Any]:
    """WeChat labels its JSON ``text/plain``, so the media type is not trusted either way."""
    try:
        body = json.loads(response.content)
    except ValueError:
        raise Unavailable(PROVIDER, "wechat answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise Unavailable(PROVIDER, "wechat answered something that is not a JSON object")
    return body


def _session_from(body: dict[str, Any]) -> ExternalIdentity:
    errcode = body.get("errcode") or 0
    if isinstance(errcode, bool) or not isinstance(errcode, int):
        raise Unavailable(PROVIDER, "wechat answered an errcode that is not a number")
    errmsg = str(body.get("errmsg") or "")
    if errcode == BUSY:
        log.warning("wechat code2session busy: %s", errmsg)
        raise Unavailable(PROVIDER, "wechat is busy (-1)")
    if errcode:
        reason = REJECTIONS.get(errcode, "rejected")
        # A wrong appid or secret is the operator's to fix, not the user's: say so loudly.
        level = logging.ERROR if reason == "misconfigured" else logging.WARNING
        log.log(level, "wechat code2session refused: errcode=%s errmsg=%s", errcode, errmsg)
        raise ExternalAuthRejected(PROVIDER, str(errcode), reason)
    openid = body.get("openid")
    if not isinstance(openid, str) or not openid:
        raise Unavailable(PROVIDER, "wechat answered without an openid")
    unionid = body.get("unionid")
    return ExternalIdentity(openid, unionid if isinstance(unionid, str) and unionid else None)
