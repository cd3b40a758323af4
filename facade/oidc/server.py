"""authlib's authorization-code server, bound to Falcon, Redis and the facade's users.

One client only (Keycloak's identity provider ``phone``), codes that live 60 seconds and are
redeemed once, PKCE S256 and a nonce required on every request, ID tokens that carry the
verified phone and the Keycloak user it belongs to (``sub`` = Keycloak user id,
``preferred_username`` = its username, so "Detect existing broker user" finds exactly that user)
and never an email. A user who signed in by password gets its phone asserted only if it was
stored proven.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import falcon
import redis
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, UserInfo
from authlib.oidc.core.models import AuthorizationCodeMixin
from joserfc.jwk import RSAKey
from requests.structures import CaseInsensitiveDict

from facade.adapters.redis_keys import RedisKeys
from facade.oidc.keys import RedisSigningKeys
from facade.settings import SsoSettings

CODE_TTL = 60
ID_TOKEN_TTL = 300
MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True)
class PhoneUser:
    """Who the provider vouches for: a Keycloak user, its proven phone (empty: none to
    assert) and how it was authenticated (``sms`` or ``pwd``, OIDC's ``amr`` values)."""

    id: str
    username: str
    phone: str
    method: str = "sms"


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    """Keycloak, the one relying party; confidential, code flow only."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "phone"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    client_id: str
    redirect_uri: str
    scope: str
    user: PhoneUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str:
        return ""

    def get_amr(self) -> list[str]:
        return ["sms", "otp"] if self.user.method == "sms" else [self.user.method]


class FalconRequest(OAuth2Request):  # type: ignore[misc]
    """A Falcon request as authlib sees it: query and (urlencoded) form parameters."""

    def __init__(self, req: falcon.Request, uri: str, form: Mapping[str, str], issuer: str) -> None:
        super().__init__(req.method, uri, headers=CaseInsensitiveDict(req.headers))
        #: ``iss`` of ID tokens answered to this request.
        self.issuer = issuer
        self._args = {k: v for k, v in req.params.items() if isinstance(v, str)}
        self._form = dict(form)
        self.payload = BasicOAuth2Payload({**self._args, **self._form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


def read_form(req: falcon.Request) -> dict[str, str]:
    """A small urlencoded body (token requests, the sign-in form), last value of each name."""
    if req.method != "POST" or not (req.content_type or "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return {}
    body = req.bounded_stream.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise falcon.HTTPContentTooLarge()
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class CodeStore:
    """Authorization codes and seen nonces in Redis: single use, short-lived."""

    def __init__(self, client: redis.Redis, keys: RedisKeys) -> None:
        self._redis = client
        self._keys = keys

    def save(self, code: str, data: AuthorizationCode) -> None:
        payload = json.dumps({**data.__dict__, "user": data.user.__dict__})
        pipe = self._redis.pipeline()
        pipe.set(self._keys.key("sso", "code", code), payload, ex=CODE_TTL)
        if data.nonce:
            pipe.set(self._keys.key("sso", "nonce", data.client_id, data.nonce), 1, ex=3600)
        pipe.execute()

    def take(self, code: str) -> AuthorizationCode | None:
        """The code's grant, deleted in the same step: a second redemption finds nothing."""
        raw = self._redis.getdel(self._keys.key("sso", "code", code))
        if not isinstance(raw, bytes):
            return None
        data = json.loads(raw)
        data["user"] = PhoneUser(**data["user"])
        return AuthorizationCode(**data)

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        return bool(self._redis.exists(self._keys.key("sso", "nonce", client_id, nonce)))


class _CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_post", "client_secret_basic")
    store: CodeStore

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.store.save(
            code,
            AuthorizationCode(
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.payload.scope or "",
                user=request.user,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
            ),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = self.store.take(code)
        if found is None or found.client_id != client.get_client_id():
            return None
        return found

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Already gone: :meth:`CodeStore.take` deleted it when it was read."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> PhoneUser:
        return authorization_code.user


class _PkceS256(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256, required of every authorization request, not only public clients'."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        from authlib.oauth2.rfc6749.errors import InvalidRequestError

        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE with code_challenge_method=S256 is required")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str | None:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(
        self, authorization_code: AuthorizationCode
    ) -> str | None:
        return authorization_code.code_challenge_method


class _OpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, store: CodeStore, keys: RedisSigningKeys) -> None:
        super().__init__(require_nonce=True)
        self._store = store
        self._keys = keys

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return self._store.nonce_seen(request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self._keys.current().key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self._keys.current().kid, "typ": "JWT"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "aud": [client.get_client_id()],
            "iat": now,
            "exp": now + ID_TOKEN_TTL,
        }

    def get_compatible_claims(self, request: FalconRequest) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_compatible_claims(request)
        claims["iss"] = request.issuer
        return claims

    def generate_user_info(self, user: PhoneUser, scope: str) -> UserInfo:
        """Only what was proved: whose it is and a proven phone. Never an email."""
        info = UserInfo(sub=user.id, preferred_username=user.username)
        if user.phone:
            info.update(phone_number=user.phone, phone_number_verified=True)
        return info


class PhoneProvider(AuthorizationServer):  # type: ignore[misc]
    """The authorization server, answering as ``(status, body, headers)`` data."""

    def __init__(
        self, settings: SsoSettings, redirect_uris: tuple[str, ...], store: CodeStore
    ) -> None:
        super().__init__(scopes_supported=["openid", "phone"])
        self._client = Client(settings.client_id, settings.client_secret, redirect_uris)
        self.store = store
        self.register_token_generator("default", self._opaque_token)

    def with_openid(self, keys: RedisSigningKeys) -> PhoneProvider:
        grant = type("CodeGrant", (_CodeGrant,), {"store": self.store})
        self.register_grant(grant, [_PkceS256(required=True), _OpenIDCode(self.store, keys)])
        return self

    def query_client(self, client_id: str) -> Client | None:
        return self._client if client_id == self._client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to keep: the access token opens no endpoint (Keycloak reads the ID token)."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request

    def _opaque_token(self, *, scope: str | None = None, **_: Any) -> dict[str, Any]:
        """An access token that opens nothing; the ID token (added for ``openid``) is the point."""
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": 60,
            "scope": scope or "",
        }
