"""A demo internal app that signs its users in through the realm (OIDC code flow + PKCE).

Everything an internal app needs is authlib's OAuth client and the realm's discovery document:
``/login`` (``?idp=phone`` skips Keycloak's page and goes straight to SMS-code sign-in through
``kc_idp_hint``), ``/callback`` verifies the ID token (signature, issuer, audience, nonce), ``/``
shows who is signed in and ``/claims`` returns the ID token's claims as JSON.

Run it beside ``make dev``: ``python -m examples.demo_app`` (http://127.0.0.1:8070).
"""

from __future__ import annotations

import argparse
import secrets
from html import escape
from typing import Any
from wsgiref.simple_server import make_server

import falcon
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

SESSION_COOKIE = "demo_session"


class DemoApp:
    def __init__(self, issuer: str, client_id: str, client_secret: str, base_url: str) -> None:
        self.meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uri = f"{base_url}/callback"
        self.sessions: dict[str, dict[str, Any]] = {}

    def oauth(self) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            scope="openid profile phone",
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
        )

    def session(self, req: falcon.Request, resp: falcon.Response) -> dict[str, Any]:
        sid = req.get_cookie_values(SESSION_COOKIE)
        if sid and sid[0] in self.sessions:
            return self.sessions[sid[0]]
        new = secrets.token_urlsafe(16)
        resp.set_cookie(SESSION_COOKIE, new, secure=False, path="/")
        return self.sessions.setdefault(new, {})

    def on_get_login(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = self.session(req, resp)
        session.update(verifier=secrets.token_urlsafe(48), nonce=secrets.token_urlsafe(16))
        extra = {"kc_idp_hint": req.get_param("idp")} if req.get_param("idp") else {}
        url, session["state"] = self.oauth().create_authorization_url(
            self.meta["authorization_endpoint"],
            nonce=session["nonce"],
            code_verifier=session["verifier"],
            **extra,
        )
        raise falcon.HTTPFound(url)

    def on_get_callback(self, req: falcon.Request, resp: falcon.Response) -> None:
        session = self.session(req, resp)
        if req.get_param("state") != session.get("state"):
            raise falcon.HTTPBadRequest(title="state mismatch")
        token = self.oauth().fetch_token(
            self.meta["token_endpoint"],
            authorization_response=req.url,
            code_verifier=session["verifier"],
        )
        keys = KeySet.import_key_set(requests.get(self.meta["jwks_uri"], timeout=10).json())
        claims = jwt.decode(token["id_token"], keys).claims
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.meta["issuer"]},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": True, "value": session["nonce"]},
        ).validate(claims)
        session["claims"] = claims
        raise falcon.HTTPFound("/")

    def on_get_claims(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.session(req, resp).get("claims") or {}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        claims = self.session(req, resp).get("claims")
        resp.content_type = falcon.MEDIA_HTML
        who = escape(str(claims.get("nickname") or claims["preferred_username"])) if claims else ""
        resp.text = (
            f'<h1 id="hello">你好，{who}</h1><pre id="claims">{escape(str(claims))}</pre>'
            if claims
            else '<a id="login" href="/login">登录</a> · '
            '<a id="sms" href="/login?idp=phone">短信登录</a>'
        )


def create_app(demo: DemoApp) -> falcon.App[Any, Any]:
    app = falcon.App()
    app.add_route("/", demo)
    app.add_route("/login", demo, suffix="login")
    app.add_route("/callback", demo, suffix="callback")
    app.add_route("/claims", demo, suffix="claims")
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default="http://127.0.0.1:8080/realms/facade")
    parser.add_argument("--client-id", default="facade-demo")
    parser.add_argument("--client-secret", default="dev-demo-secret")
    parser.add_argument("--port", type=int, default=8070)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    demo = DemoApp(args.issuer, args.client_id, args.client_secret, base)
    print(f"demo app on {base}", flush=True)
    make_server("127.0.0.1", args.port, create_app(demo)).serve_forever()


if __name__ == "__main__":
    main()
