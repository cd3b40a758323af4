"""``POST /_dev/wechat/codes``, development mode only: a ``wx.login`` code without a phone.

Client developers have no mini-program to call ``wx.login`` in, so this asks the WeChat stand-in
that the development stack runs at ``FACADE_WECHAT_API_BASE`` to mint a code, which
``/auth/login/wechat`` then accepts once. The route lives outside every contract, so it answers
its own errors in one plain shape, ``{"error": ...}``.
"""

from __future__ import annotations

from typing import Any

import falcon
import requests

from facade.settings import Settings

ROUTE = "/_dev/wechat/codes"


class DevWechatCodes:
    """Forwards ``{"openid"?, "unionid"?}`` to the stand-in's ``POST /_standin/codes``."""

    def __init__(self, api_base: str, timeout: float) -> None:
        self._url = api_base.rstrip("/") + "/_standin/codes"
        self._timeout = timeout

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        payload, problem = _parse(req)
        if problem:
            resp.status = falcon.HTTP_400
            resp.media = {"error": problem}
            return
        try:
            answer = requests.post(self._url, json=payload, timeout=self._timeout)
            minted = answer.json() if answer.status_code == 200 else None
        except requests.RequestException:
            resp.status = falcon.HTTP_503
            resp.media = {"error": f"the WeChat stand-in does not answer at {self._url}"}
            return
        except ValueError:
            minted = None
        if not isinstance(minted, dict) or not isinstance(minted.get("code"), str):
            resp.status = falcon.HTTP_502
            resp.media = {"error": f"{self._url} is not a WeChat stand-in that mints codes"}
            return
        resp.media = {key: minted.get(key) for key in ("code", "openid", "unionid")}


def _parse(req: falcon.Request) -> tuple[dict[str, Any], str]:
    """The stand-in's payload, or an error; ``"unionid": null`` is kept (an app without one)."""
    try:
        body = req.get_media(default_when_empty={})
    except falcon.HTTPError:
        return {}, "body must be a JSON object"
    if not isinstance(body, dict):
        return {}, "body must be a JSON object"
    payload: dict[str, Any] = {}
    for name in ("openid", "unionid"):
        if name not in body:
            continue
        value = body[name]
        if value is not None and (not isinstance(value, str) or not value.strip()):
            return {}, f"{name} must be a non-empty string or null"
        if value is not None or name == "unionid":
            payload[name] = value
    return payload, ""


def mount_dev_wechat(app: falcon.App[falcon.Request, falcon.Response], settings: Settings) -> None:
    app.add_route(ROUTE, DevWechatCodes(settings.wechat_api_base, settings.wechat_timeout))
