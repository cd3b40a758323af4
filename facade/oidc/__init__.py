"""The facade as a small OpenID provider: SMS-code sign-in on Keycloak's own login page.

Keycloak brokers to it as identity provider ``phone`` (``keycloak-realm/sso.json``):

* ``GET|POST <prefix>/authorize``: the phone page (SMS code, password, or an SMS password
  reset); on success a code for Keycloak. Keycloak forwards the ``login_hint`` its page was
  given: a phone opens the code form with that phone and sends a code at once (once per
  authorization request), ``password[:<phone>]`` and ``reset[:<phone>]`` open those forms;
* ``POST <prefix>/token``: the code (with PKCE verifier and client secret) for an ID token;
* ``GET <prefix>/jwks`` and ``<prefix>/.well-known/openid-configuration``.

Keycloak stays unmodified; the facade keeps the one place where codes are sent and checked.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import falcon
from authlib.oauth2 import OAuth2Error

from facade.bootstrap import Services
from facade.core.errors import FacadeError
from facade.oidc.keys import RedisSigningKeys
from facade.oidc.page import MODES, TEXTS, PageState, error_text, locale_of, render
from facade.oidc.phone_sign_in import RESET, PhoneSignIn, proven_phone
from facade.oidc.server import (
    CodeStore,
    FalconRequest,
    PhoneProvider,
    PhoneUser,
    read_form,
)
from facade.settings import Settings, SsoSettings

CSRF_COOKIE = "facade_sso_csrf"


class _Endpoint:
    def __init__(self, sso: SsoSettings, provider: PhoneProvider) -> None:
        self._sso = sso
        self._provider = provider

    def issuer(self, req: falcon.Request) -> str:
        """Configured, else this request's own origin and mount point (development)."""
        return self._sso.issuer or f"{req.forwarded_prefix}{self._sso.prefix}"

    def oauth_request(self, req: falcon.Request, form: dict[str, str]) -> FalconRequest:
        base = self.issuer(req).rsplit(self._sso.prefix, 1)[0]
        uri = f"{base}{req.path}" + (f"?{req.query_string}" if req.query_string else "")
        return FalconRequest(req, uri, form, self.issuer(req))


def _respond(resp: falcon.Response, answer: tuple[int, Any, list[tuple[str, str]]]) -> None:
    status, body, headers = answer
    resp.status = falcon.code_to_http_status(status)
    for name, value in headers:
        resp.set_header(name, value)
    if status in (301, 302, 303):
        return
    resp.media = body


class Authorize(_Endpoint):
    """The page. Each POST carries ``step`` (send, login, password, reset) and the
    double-submit CSRF token."""

    def __init__(
        self,
        sso: SsoSettings,
        provider: PhoneProvider,
        sign_in: PhoneSignIn,
        first_time: Callable[[str], bool],
    ) -> None:
        super().__init__(sso, provider)
        self._sign_in = sign_in
        #: Whether this authorization request (by its state) has not sent its code yet.
        self._first_time = first_time

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = self.oauth_request(req, {})
        try:
            self._provider.get_consent_grant(request)
        except OAuth2Error as error:
            self._refuse(req, resp, request, error)
            return
        mode, phone = _hinted(req)
        if mode == "code" and phone and self._first_time(req.get_param("state") or ""):
            self._send(req, resp, mode, phone, "login")
            return
        self._page(req, resp, mode=mode, phone=phone)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = read_form(req)
        request = self.oauth_request(req, {})
        try:
            grant = self._provider.get_consent_grant(request)
        except OAuth2Error as error:
            self._refuse(req, resp, request, error)
            return
        locale = locale_of(req.get_param("ui_locales"))
        mode = _mode(req.get_param("mode"))
        phone = form.get("phone", "").strip()
        cookie = req.get_cookie_values(CSRF_COOKIE) or []
        if not form.get("csrf") or form.get("csrf") not in cookie:
            self._page(req, resp, mode=mode, phone=phone, error=TEXTS[locale]["csrf"])
            return
        client_ip = getattr(req.context, "client_ip", None)
        step = form.get("step")
        try:
            if step == "send":
                self._send(req, resp, mode, phone, RESET if mode == "reset" else "login")
                return
            if step == "reset":
                self._sign_in.reset(
                    phone, form.get("code", "").strip(), form.get("new_password", ""), client_ip
                )
                done = TEXTS[locale]["reset_done"]
                self._page(req, resp, mode="password", phone=phone, notice=done)
                return
            if step == "password":
                user = self._sign_in.password(phone, form.get("password", ""), client_ip)
                who = PhoneUser(user.id, user.username, proven_phone(user), "pwd")
            else:
                user = self._sign_in.verify(phone, form.get("code", "").strip(), client_ip)
                who = PhoneUser(user.id, user.username, user.attr("phone_number") or phone)
        except FacadeError as error:
            self._page(req, resp, mode=mode, phone=phone, error=error_text(locale, error))
            return
        _respond(resp, self._provider.create_authorization_response(request, who, grant))
        resp.unset_cookie(CSRF_COOKIE, path=self._sso.prefix)

    def _send(
        self, req: falcon.Request, resp: falcon.Response, mode: str, phone: str, purpose: str
    ) -> None:
        locale = locale_of(req.get_param("ui_locales"))
        try:
            sent = self._sign_in.send_code(
                phone, getattr(req.context, "client_ip", "") or "", purpose
            )
        except FacadeError as error:
            self._page(req, resp, mode=mode, phone=phone, error=error_text(locale, error))
            return
        notice = _sent_text(locale, sent.sent.target, sent.sent.expires_in)
        self._page(req, resp, mode=mode, phone=sent.sent.target, notice=notice)

    def _page(self, req: falcon.Request, resp: falcon.Response, **fields: str) -> None:
        token = secrets.token_urlsafe(24)
        resp.set_cookie(
            CSRF_COOKIE,
            token,
            path=self._sso.prefix,
            secure=req.scheme == "https",
            http_only=True,
            same_site="Lax",
            max_age=1800,
        )
        redirect_uri = req.get_param("redirect_uri") or ""
        state = req.get_param("state") or ""
        back = (
            f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}"
            if redirect_uri and self._provider.query_client(req.get_param("client_id") or "")
            else ""
        )
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Cache-Control", "no-store")
        resp.set_header("X-Frame-Options", "DENY")
        query = urlencode([(k, v) for k, v in parse_qsl(req.query_string) if k != "mode"])
        resp.text = render(
            PageState(
                action=f"{req.path}?{query}",
                csrf=token,
                locale=locale_of(req.get_param("ui_locales")),
                back_url=back,
                **fields,
            )
        )

    def _refuse(
        self, req: falcon.Request, resp: falcon.Response, request: Any, error: OAuth2Error
    ) -> None:
        """An error for a known client and redirect URI goes back to it; any other stops here."""
        if getattr(error, "redirect_uri", None):
            _respond(resp, self._provider.handle_error_response(request, error))
            return
        resp.status = falcon.HTTP_400
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = f"{error.error}: {error.description or ''}"


class Token(_Endpoint):
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = self.oauth_request(req, read_form(req))
        _respond(resp, self._provider.create_token_response(request))
        resp.set_header("Cache-Control", "no-store")


class Jwks:
    def __init__(self, keys: RedisSigningKeys) -> None:
        self._keys = keys

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"keys": self._keys.published()}
        resp.set_header("Cache-Control", "public, max-age=300")


class Discovery(_Endpoint):
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        issuer = self.issuer(req)
        resp.media = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "phone"],
            "claims_supported": [
                "sub",
                "preferred_username",
                "phone_number",
                "phone_number_verified",
            ],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        }


def _mode(value: str | None) -> str:
    return value if value in MODES else "code"


def _hinted(req: falcon.Request) -> tuple[str, str]:
    """The form and phone to open with: the page's own ``mode`` link, else Keycloak's
    forwarded ``login_hint`` (``<phone>``, ``password[:<phone>]`` or ``reset[:<phone>]``)."""
    hint = (req.get_param("login_hint") or "").strip()
    mode, _, phone = hint.partition(":") if hint[:1].isalpha() else ("code", "", hint)
    phone = phone if phone.lstrip("+").isdigit() else ""
    own = req.get_param("mode")
    return (_mode(own), phone) if own else (_mode(mode), phone)


def _sent_text(locale: str, phone: str, ttl: int) -> str:
    return TEXTS[locale]["sent"].format(phone=phone, minutes=max(1, ttl // 60))


def mount_sso(app: falcon.App[Any, Any], settings: Settings, services: Services) -> None:
    """Mount the provider at ``settings.sso.prefix`` (nothing when SSO is off)."""
    sso = settings.sso
    if sso is None or services.stores.redis is None:
        return  # off, or services on in-memory fakes (the fast tier)
    redirect_uris = sso.redirect_uris or (f"{settings.issuer}/broker/phone/endpoint",)
    store = CodeStore(services.redis, services.keys)
    keys = RedisSigningKeys(services.redis, services.keys, settings.secret, sso.key_rotation)
    provider = PhoneProvider(sso, redirect_uris, store).with_openid(keys)
    sign_in = PhoneSignIn(
        services.enrolment,
        services.verified_sign_ins,
        services.sessions,
        services.identity,
        next(iter(settings.contract_clients)),
    )

    def first_time(state: str) -> bool:
        digest = hashlib.sha256(state.encode()).hexdigest()
        return bool(
            services.redis.set(services.keys.key("sso", "sent", digest), 1, nx=True, ex=900)
        )

    app.add_route(f"{sso.prefix}/authorize", Authorize(sso, provider, sign_in, first_time))
    app.add_route(f"{sso.prefix}/token", Token(sso, provider))
    app.add_route(f"{sso.prefix}/jwks", Jwks(keys))
    app.add_route(f"{sso.prefix}/.well-known/openid-configuration", Discovery(sso, provider))
