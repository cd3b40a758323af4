"""The Keycloak gateway: the only module that speaks to Keycloak.

Keycloak's plain dicts become :mod:`facade.core.models` values here and python-keycloak's errors
become :mod:`facade.core.errors` here, by status code and OAuth error, and nowhere else.

python-keycloak clients mutate shared headers while they send, so they are not safe to share
between gunicorn threads: every thread gets its own admin client through
:class:`threading.local`. The hot paths (the token endpoint's grants, refresh and logout; the
admin read of a user by id) go through thread-safe urllib3 pools instead
(:class:`PooledEndpoint`).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import jwt
import requests
import urllib3
from keycloak import KeycloakAdmin
from keycloak.exceptions import (
    KeycloakConnectionError,
    KeycloakError,
    KeycloakGetError,
    KeycloakPostError,
)
from requests.adapters import HTTPAdapter
from urllib3.util import SKIP_HEADER
from urllib3.util.retry import Retry

from facade.core.errors import (
    AccountDisabled,
    AlreadyExists,
    ExchangeRefused,
    FacadeError,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotFound,
    Unavailable,
)
from facade.core.models import NewUser, SignIn, TokenClaims, TokenSet, User
from facade.observability import metrics
from facade.observability.context import current_request_id
from facade.realm import profile_claim
from facade.settings import Settings

log = logging.getLogger(__name__)

REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"  # noqa: S105
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
_Answer = TypeVar("_Answer")
#: Fields of a UserRepresentation that are not profile attributes.
_BUILTIN_FIELDS = ("username", "email", "firstName", "lastName")
#: A JWS segment: unpadded base64url (RFC 7515), as Keycloak writes it.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class JwksCache:
    """Signing keys of the realm, fetched once and again only for an unknown ``kid``.

    Refetches are spaced by ``min_refetch_interval`` so that tokens with random ``kid`` values
    cannot turn every request into a JWKS download.
    """

    def __init__(
        self,
        jwks_url: str,
        timeout: float,
        min_refetch_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = jwks_url
        self._timeout = timeout
        self._min_interval = min_refetch_interval
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()

    def key_for(self, kid: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(kid)
            now = self._clock()
            recently = self._fetched_at is not None and now - self._fetched_at < self._min_interval
            if key is None and not recently:
                self._keys = self._fetch()
                self._fetched_at = now
                key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        return key

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        try:
            response = requests.get(self._url, timeout=self._timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise Unavailable("keycloak", "cannot fetch signing keys") from exc
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            if entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except jwt.PyJWKError:
                continue  # algorithms PyJWT cannot use (for example RSA-OAEP encryption keys)
        return keys


class CircuitOpen(requests.ConnectionError):
    """Refused without calling Keycloak; python-keycloak reports it as a connection error, which
    :func:`_translated` turns into ``Unavailable("keycloak")`` like any unreachable Keycloak."""


class CircuitBreaker:
    """Consecutive failures open the circuit; while open every call fails at once; after
    ``reset_timeout`` one trial call passes, and its outcome closes or re-opens the circuit.

    Written here rather than taken from pybreaker, whose ``call`` holds one lock for the whole
    guarded call and so would serialise every Keycloak call of a gunicorn worker's threads. The
    lock below guards only the counters.
    """

    def __init__(
        self,
        name: str,
        failures: int,
        reset_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._max_failures = failures
        self._reset_timeout = reset_timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self.state = "closed"
        metrics.circuit_state(name, "closed")

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` unless a call may go through now."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self._clock() - self._opened_at
            if waited >= self._reset_timeout and not self._trial_running:
                self._trial_running = True
                self._set("half_open")
                return
        raise CircuitOpen(f"{self.name} circuit open")

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._trial_running = False
            if self._opened_at is not None:
                self._opened_at = None
                self._set("closed")

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            trial, self._trial_running = self._trial_running, False
            if trial or (self._opened_at is None and self._failures >= self._max_failures):
                self._opened_at = self._clock()
                self._set("open")

    def _set(self, state: str) -> None:
        self.state = state
        metrics.circuit_state(self.name, state)
        if state == "open":
            log.error("%s circuit open: calls fail fast for %.0fs", self.name, self._reset_timeout)


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def keycloak_breaker(settings: Settings) -> CircuitBreaker | None:
    """The process's breaker for one Keycloak URL, shared by every thread's clients: once it
    opens, each call fails at once instead of holding a worker thread for a full timeout."""
    if settings.keycloak_breaker_failures <= 0:
        return None
    with _breakers_lock:
        breaker = _breakers.get(settings.keycloak_url)
        if breaker is None:
            breaker = _breakers[settings.keycloak_url] = CircuitBreaker(
                "keycloak", settings.keycloak_breaker_failures, settings.keycloak_breaker_reset
            )
        return breaker


class KeycloakTransport(HTTPAdapter):
    """The transport under every python-keycloak session: one timeout, metrics, the breaker.

    python-keycloak rounds timeouts to whole seconds and retries a POST whose answer timed out
    (which can create a user twice); here the timeout is exact and only connection failures,
    where nothing reached Keycloak, are retried (once). A 5xx answer counts as a failure for the
    breaker and is handed back to python-keycloak as it came.
    """

    def __init__(self, timeout: float, breaker: CircuitBreaker | None) -> None:
        super().__init__(
            max_retries=Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0)
        )
        self._timeout = timeout
        self._breaker = breaker

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        kwargs["timeout"] = self._timeout
        request_id = current_request_id()
        if request_id:
            request.headers["X-Request-Id"] = request_id
        return _guarded_call(
            self._breaker,
            request.path_url,
            lambda: super(KeycloakTransport, self).send(request, **kwargs),
            lambda response: response.status_code,
        )


class PooledEndpoint:
    """Calls under one Keycloak base URL over one thread-safe urllib3 pool: a requests session
    (python-keycloak's) costs about twice the CPU per call, a third of a code sign-in's.

    The same semantics as :class:`KeycloakTransport`: an exact connect and read timeout, only
    connection failures (nothing reached Keycloak) retried, once; never a sent request;
    redirects handed back, not followed; the breaker, dependency metrics and ``X-Request-Id``.

    No ``User-Agent``: Keycloak files the device the header names as a note on every session
    it opens (JSON, persisted with the session, shown in the account console's device
    activity), and the facade's own names no person's device (README, "Keycloak's CPU per
    sign-in").
    """

    def __init__(self, base_url: str, timeout: float, breaker: CircuitBreaker | None) -> None:
        self._path = urlsplit(base_url).path
        self._pool = urllib3.connectionpool.connection_from_url(
            base_url,
            maxsize=32,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0),
        )
        self._breaker = breaker

    def post(self, endpoint: str, fields: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        """POST ``fields`` form-encoded; the answer, whatever its status."""
        return self._call(
            "POST",
            endpoint,
            {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": SKIP_HEADER},
            urlencode(fields),
        )

    def get(self, endpoint: str, bearer: str) -> urllib3.BaseHTTPResponse:
        """GET with ``bearer`` as the access token; the answer, whatever its status."""
        return self._call(
            "GET", endpoint, {"Authorization": f"Bearer {bearer}", "User-Agent": SKIP_HEADER}, None
        )

    def _call(
        self, method: str, endpoint: str, headers: dict[str, str], body: str | None
    ) -> urllib3.BaseHTTPResponse:
        # The path alone: given a whole URL, urllib3 parses it twice per call (same-host check).
        path = self._path + endpoint
        request_id = current_request_id()
        if request_id:
            headers["X-Request-Id"] = request_id
        return _guarded_call(
            self._breaker,
            path,
            lambda: self._pool.urlopen(method, path, body=body, headers=headers, redirect=False),
            lambda response: response.status,
        )


def _guarded_call(
    breaker: CircuitBreaker | None,
    path_url: str,
    send: Callable[[], _Answer],
    status_of: Callable[[_Answer], int],
) -> _Answer:
    """One HTTP call to Keycloak through the breaker, timed and counted by endpoint: a 5xx
    answer, a timeout or a connection failure counts as a failure for the breaker."""
    operation = _operation(path_url)
    if breaker is not None:
        try:
            breaker.before_call()
        except CircuitOpen:
            metrics.dependency_error("keycloak", operation, "circuit_open")
            raise
    started = time.perf_counter()
    error = ""
    try:
        answer = send()
        status = status_of(answer)
        if status >= 500:
            error = f"http_{status}"
        return answer
    except (requests.Timeout, urllib3.exceptions.TimeoutError):
        error = "timeout"
        raise
    except urllib3.exceptions.MaxRetryError as exc:
        timed_out = isinstance(exc.reason, urllib3.exceptions.TimeoutError)
        error = "timeout" if timed_out else "connection"
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError):
        error = "connection"
        raise
    finally:
        metrics.DEPENDENCY_SECONDS.labels("keycloak", operation).observe(
            time.perf_counter() - started
        )
        if error:
            metrics.dependency_error("keycloak", operation, error)
        if breaker is not None:
            if error:
                breaker.failed()
            else:
                breaker.succeeded()


def _operation(path_url: str) -> str:
    """A bounded label for a Keycloak endpoint: ``token``, ``logout``, ``admin_users``, ..."""
    path = path_url.split("?", 1)[0]
    if "/protocol/openid-connect/" in path:
        return path.rsplit("/", 1)[-1] or "openid"
    if "/admin/realms/" in path:
        parts = path.split("/admin/realms/", 1)[1].split("/")
        return f"admin_{parts[1]}" if len(parts) > 1 and parts[1] else "admin_realm"
    return "other"


def _refusal(error: type[KeycloakError], response: urllib3.BaseHTTPResponse) -> KeycloakError:
    """A pooled call's non-2xx answer as python-keycloak's error, for :func:`_translated`."""
    return error(
        error_message=response.data.decode("utf-8", "replace"),
        response_code=response.status,
        response_body=response.data,
    )


def _admin_bearer(connection: Any, *, renew: bool) -> str:
    """python-keycloak's admin access token, renewed as python-keycloak renews it: when it is
    due, when there is none yet (python-keycloak fetches its first on a 401) or on ``renew``."""
    expires_at = connection.expires_at
    if renew or connection.token is None or datetime.now(tz=UTC) >= expires_at:
        connection.refresh_token()  # a new token when there is no refresh token to use
    token = connection.token
    if not token:
        raise Unavailable("keycloak", "no admin token")
    return str(token["access_token"])


def _guard(connection: Any, transport: Callable[[], HTTPAdapter]) -> None:
    """Mount the guarded transport on a python-keycloak connection's requests session."""
    session = getattr(connection, "_s", None)
    if isinstance(session, requests.Session):
        for scheme in ("http://", "https://"):
            session.mount(scheme, transport())
        # requests otherwise walks the whole process environment for proxy settings on every
        # call (measured: about 0.5 ms per Keycloak call); the facade reaches Keycloak directly.
        session.trust_env = False


class VerifiedTokens:
    """Claims of access tokens whose signature, issuer and type were already checked.

    Clients send the same bearer token on every request until it expires, and checking an RS256
    signature (with PyJWT's per-character base64 validation) is most of a bearer check's CPU.
    Entries are keyed by the exact token string, so only a byte-identical token is trusted; they
    are dropped at the token's expiry and at most ``max_age`` seconds after they were checked
    (a key Keycloak deleted stops being trusted by then); revocation and the user's state are
    checked on every request all the same.
    """

    def __init__(
        self,
        max_entries: int = 20_000,
        max_age: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, Mapping[str, Any]]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, token: str) -> Mapping[str, Any] | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[token]
                return None
            return entry[1]

    def put(self, token: str, claims: Mapping[str, Any]) -> None:
        until = min(float(claims["exp"]), self._clock() + self._max_age)
        with self._lock:
            self._entries[token] = (until, claims)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)


class KeycloakGateway:
    """Keycloak admin and token APIs, typed and translated for the core."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._server = settings.keycloak_url.rstrip("/") + "/"
        self._realm = settings.keycloak_realm
        self._timeout = settings.keycloak_timeout
        self._local = threading.local()
        realm_url = f"{settings.keycloak_url.rstrip('/')}/realms/{settings.keycloak_realm}"
        self._realm_url = realm_url
        self._jwks = JwksCache(f"{realm_url}/protocol/openid-connect/certs", self._timeout)
        self._verified = VerifiedTokens()
        breaker = keycloak_breaker(settings)
        self._transport: Callable[[], HTTPAdapter] = lambda: KeycloakTransport(
            self._timeout, breaker
        )
        self._tokens = PooledEndpoint(
            f"{realm_url}/protocol/openid-connect/", self._timeout, breaker
        )
        #: The admin API's hot read (a user by id, on every profile-cache miss).
        self._admin_api = PooledEndpoint(
            f"{self._server}admin/realms/{self._realm}/",
            self._timeout,
            breaker,
        )

    # --- clients, one set per thread -------------------------------------------------------

    def _admin(self) -> KeycloakAdmin:
        admin: KeycloakAdmin | None = getattr(self._local, "admin", None)
        if admin is None:
            admin = KeycloakAdmin(
                server_url=self._server,
                realm_name=self._realm,
                client_id=self._settings.keycloak_client_id,
                client_secret_key=self._settings.keycloak_client_secret,
                timeout=int(self._timeout),
            )
            _guard(admin.connection, self._transport)
            _guard(admin.connection.keycloak_openid.connection, self._transport)
            self._local.admin = admin
        return admin

    def _token_call(self, contract: str, endpoint: str, fields: Mapping[str, str]) -> Any:
        """POST ``fields`` with the contract client's credentials to ``endpoint``; the JSON
        answer, or KeycloakPostError for :func:`_translated` (never retried: see
        :class:`PooledEndpoint`).

        No ``scope=openid`` unless asked: the facade hands out access and refresh tokens only,
        and an ID token (which python-keycloak asks for by default) costs Keycloak a second
        signed token on every grant and refresh, about 40% of a token exchange measured on 2
        cores; only :meth:`exchange_with_profile` asks for one, instead of an admin read.
        """
        credentials = self._settings.client_for(contract)
        response = self._tokens.post(
            endpoint,
            {
                **fields,
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            },
        )
        content = response.data
        if response.status >= 300:
            raise _refusal(KeycloakPostError, response)
        return json.loads(content) if content else None

    # --- users -----------------------------------------------------------------------------

    def create_user(self, new_user: NewUser) -> str:
        """Create the user with its password and attributes in one call: none exists without."""
        payload: dict[str, Any] = {
            "username": new_user.username,
            "enabled": True,
            "attributes": {k: [v] for k, v in new_user.attributes.items()},
        }
        if new_user.email:
            payload["email"] = new_user.email
            payload["emailVerified"] = new_user.email_verified
        if new_user.first_name:
            payload["firstName"] = new_user.first_name
        if new_user.last_name:
            payload["lastName"] = new_user.last_name
        if new_user.password is not None:
            payload["credentials"] = [
                {"type": "password", "value": new_user.password, "temporary": False}
            ]
        with _translated("create user"):
            return str(self._admin().create_user(payload))

    def get_user(self, user_id: str) -> User | None:
        """The user, read over the pooled admin endpoint with python-keycloak's admin token."""
        endpoint = f"users/{quote(user_id, safe='')}"
        connection = self._admin().connection
        with _translated("get user"):
            response = self._admin_api.get(endpoint, _admin_bearer(connection, renew=False))
            if response.status == 401:  # revoked or expired early: once more, afresh
                response = self._admin_api.get(endpoint, _admin_bearer(connection, renew=True))
            if response.status == 404:
                return None
            if response.status >= 300:
                raise _refusal(KeycloakGetError, response)
            return _user_from(json.loads(response.data))

    def find_by_username(self, username: str) -> User | None:
        return self._first_exact({"username": username, "exact": "true"}, "username", username)

    def find_by_email(self, email: str) -> User | None:
        return self._first_exact({"email": email, "exact": "true"}, "email", email)

    def find_by_attribute(self, name: str, value: str) -> list[User]:
        """Exact attribute search; Keycloak scans without an index, so callers cache hits."""
        with _translated("search users"):
            found = self._admin().get_users({"q": f"{name}:{value}", "exact": "true"})
        users = [_user_from(raw) for raw in found]
        return [user for user in users if user.attr(name) == value]

    def _first_exact(self, query: dict[str, str], field: str, value: str) -> User | None:
        with _translated("search users"):
            found = self._admin().get_users({**query, "max": 2})
        for raw in found:
            if str(raw.get(field, "")).lower() == value.lower():
                return _user_from(raw)
        return None

    def update_user(
        self,
        user_id: str,
        *,
        username: str | None = None,
        email: str | None = None,
        attributes: Mapping[str, str | None] | None = None,
        enabled: bool | None = None,
        email_verified: bool = True,
    ) -> User:
        """Read, merge and write back: Keycloak drops attributes missing from a PUT."""
        admin = self._admin()
        with _translated("update user"):
            current = admin.get_user(user_id)
            payload = {k: current[k] for k in (*_BUILTIN_FIELDS, "enabled") if k in current}
            # A value stored twice (Keycloak's concurrent writes, or a partial import) is
            # written once: Keycloak refuses its own duplicate on a single-valued attribute.
            merged = {
                key: list(dict.fromkeys(values))
                for key, values in (current.get("attributes") or {}).items()
            }
            for key, value in (attributes or {}).items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = [value]
            payload["attributes"] = merged
            if username is not None:
                payload["username"] = username
            if email is not None:
                payload["email"] = email
                payload["emailVerified"] = email_verified
            if enabled is not None:
                payload["enabled"] = enabled
            admin.update_user(user_id, payload)
        return _user_from({**current, **payload})

    def set_password(self, user_id: str, password: str) -> None:
        with _translated("set password"):
            self._admin().set_user_password(user_id, password, temporary=False)

    def has_password(self, user_id: str) -> bool:
        with _translated("read credentials"):
            credentials = self._admin().get_credentials(user_id)
        return any(c.get("type") == "password" for c in credentials)

    def remove_password(self, user_id: str) -> None:
        """Delete the user's password credentials (a proven phone wins over an unproven one)."""
        admin = self._admin()
        with _translated("remove password"):
            for credential in admin.get_credentials(user_id):
                if credential.get("type") == "password":
                    admin.delete_credential(user_id, credential["id"])

    def all_attribute_values(self, name: str, page_size: int = 500) -> list[str]:
        """Every user's value of one attribute: a full scan, for rare recovery work only."""
        values: list[str] = []
        first = 0
        admin = self._admin()
        with _translated("scan users"):
            while True:
                page = admin.get_users(
                    {"first": first, "max": page_size, "briefRepresentation": "false"}
                )
                if not page:
                    return values
                for raw in page:
                    found = (raw.get("attributes") or {}).get(name) or []
                    values.extend(str(v) for v in found)
                if len(page) < page_size:
                    return values
                first += page_size

    def end_session(self, session_id: str) -> None:
        """End one user session by id (when only an access token is at hand)."""
        admin = self._admin()
        with _translated("end session"):
            response = admin.connection.raw_delete(
                f"admin/realms/{self._realm}/sessions/{session_id}"
            )
            if response.status_code not in (204, 404):
                raise KeycloakError(
                    error_message=response.text,
                    response_code=response.status_code,
                    response_body=response.content,
                )

    def session_ids(self, user_id: str) -> list[str]:
        with _translated("list sessions"):
            return [str(session["id"]) for session in self._admin().get_sessions(user_id)]

    def logout_all_sessions(self, user_id: str) -> None:
        with _translated("logout user"):
            self._admin().user_logout(user_id)

    # --- tokens ----------------------------------------------------------------------------

    def password_grant(self, contract: str, username: str, password: str) -> TokenSet:
        with _translated("password grant"):
            raw = self._token_call(
                contract,
                "token",
                {"grant_type": "password", "username": username, "password": password},
            )
        return _token_set_from(raw)

    def exchange_for_user(self, contract: str, user_id: str) -> TokenSet:
        """Tokens for a user the facade verified itself (SMS/email code, WeChat), in one call.

        Legacy token exchange (V1) direct impersonation performed by the contract's own client:
        ``requested_subject`` is the user, no audience (the client is its own audience, so no
        token-exchange permission is consulted), ``requested_token_type`` a refresh token. The
        access token has ``azp`` = the contract client and that client's lifespan, and the
        refresh token refreshes and logs out with its credentials, like a password grant's.
        The realm lets exactly the five contract clients impersonate (``facade realm apply``);
        none may ask for another client's audience.

        Keycloak answers a disabled, deleted or unknown subject with the same 403 as a missing
        permission: that is :class:`ExchangeRefused`, for the caller to explain by reading the
        user (not logged here: a disabled user's sign-in is no fault of the facade).
        """
        return _token_set_from(self._exchange(contract, user_id, {}))

    def exchange_with_profile(self, contract: str, user_id: str) -> SignIn:
        """:meth:`exchange_for_user`, with the user as Keycloak's ID token describes them: the
        same one call instead of an admin read first (``scope=openid``: the contract clients'
        own mappers put the ``facade_profile`` claim into their ID tokens).

        The ID token is read without its signature checked: it comes straight from the token
        endpoint on the facade's own connection (OIDC Core 3.1.3.7 lets TLS stand in), and it
        never leaves the facade. Its type, subject and client are checked all the same; a
        token that fails them is Unavailable, its session ended first. A realm without the
        mappers (not yet ``facade realm apply``-ed) costs an admin read, as before.
        """
        raw = self._exchange(contract, user_id, {"scope": "openid"})
        tokens = _token_set_from(raw)
        try:
            profile = self._profile_claim(contract, user_id, raw.get("id_token"))
            if profile is not None:
                return SignIn(profile_claim.user_from_claim(user_id, profile), tokens)
            log.warning("no %s claim in the ID token: run facade realm apply", profile_claim.CLAIM)
            user = self.get_user(user_id)
            if user is None:
                raise Unavailable("keycloak", "user deleted during its sign-in")
            return SignIn(user, tokens)
        except FacadeError:
            with suppress(FacadeError):  # the sign-in's own error is the one to tell
                self.logout(contract, tokens.refresh_token)
            raise

    def _exchange(self, contract: str, user_id: str, extra: Mapping[str, str]) -> Any:
        """The token exchange of :meth:`exchange_for_user`; Keycloak's JSON answer."""
        with _translated("token exchange"):
            try:
                return self._token_call(
                    contract,
                    "token",
                    {
                        "grant_type": TOKEN_EXCHANGE_GRANT,
                        "requested_subject": user_id,
                        "requested_token_type": REFRESH_TOKEN_TYPE,
                        **extra,
                    },
                )
            except KeycloakPostError as exc:
                if exc.response_code == 403:
                    raise ExchangeRefused() from exc
                raise

    def _profile_claim(
        self, contract: str, user_id: str, id_token: object
    ) -> Mapping[str, Any] | None:
        """The ``facade_profile`` claim of an exchange's ID token, once the token proved to be
        the user's ID token for this contract's client; None when the realm maps no profile."""
        if not isinstance(id_token, str):
            raise Unavailable("keycloak", "token exchange answered without an ID token")
        try:
            claims = _unverified_claims(id_token)
        except jwt.PyJWTError as exc:
            raise Unavailable("keycloak", "keycloak issued an unreadable ID token") from exc
        if (
            claims.get("typ") != "ID"
            or claims.get("sub") != user_id
            or claims.get("azp") != self._settings.client_for(contract).client_id
        ):
            raise Unavailable("keycloak", "ID token of another type, user or client")
        profile = claims.get(profile_claim.CLAIM)
        return profile if isinstance(profile, dict) else None

    def refresh(self, contract: str, refresh_token: str) -> TokenSet:
        with _translated("refresh"):
            raw = self._token_call(
                contract, "token", {"grant_type": "refresh_token", "refresh_token": refresh_token}
            )
        return _token_set_from(raw)

    def logout(self, contract: str, refresh_token: str) -> None:
        """End the Keycloak session the refresh token belongs to."""
        with _translated("logout"):
            self._token_call(contract, "logout", {"refresh_token": refresh_token})

    def verify_access_token(self, contract: str, token: str) -> TokenClaims:
        """Verify signature, issuer, expiry, type and that the contract's client issued it."""
        return self._verify(contract, token, expected_type="Bearer")

    def verify_refresh_token(self, contract: str, token: str) -> TokenClaims:
        """Check a refresh token locally; Keycloak signs these with the realm's HMAC key.

        We cannot check the HMAC signature, so this only reads the claims (subject, session,
        client, expiry) for revocation bookkeeping; Keycloak remains the judge on refresh.
        """
        try:
            claims = _unverified_claims(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed refresh token") from exc
        if claims.get("typ") not in ("Refresh", "Offline"):
            raise InvalidToken("not a refresh token")
        # Unverified decoding checks nothing: issuer and expiry by hand (access tokens get
        # both from jwt.decode).
        if claims.get("iss") != self._settings.issuer:
            raise InvalidToken("token from another issuer")
        if int(claims.get("exp", 0)) < time.time() - 5:
            raise InvalidToken("token expired")
        return self._claims_for(contract, claims)

    def _verify(self, contract: str, token: str, expected_type: str) -> TokenClaims:
        cached = self._verified.get(token)
        if cached is not None:
            return self._claims_for(contract, cached)
        claims = self._decode(token, expected_type)
        self._verified.put(token, claims)
        return self._claims_for(contract, claims)

    def _decode(self, token: str, expected_type: str) -> Mapping[str, Any]:
        header = _header_of(token)
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in ("RS256", "ES256", "PS256"):
            raise InvalidToken("unsupported token header")
        key = self._jwks.key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[str(header["alg"])],
                issuer=self._settings.issuer,
                options={"require": ["exp", "iat", "sub", "iss"], "verify_aud": False},
                leeway=5,
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("invalid token") from exc
        if claims.get("typ") != expected_type:
            raise InvalidToken("wrong token type")
        return claims

    def _claims_for(self, contract: str, claims: Mapping[str, Any]) -> TokenClaims:
        if claims.get("azp") != self._settings.client_for(contract).client_id:
            raise InvalidToken("token issued to another client")
        realm_access = claims.get("realm_access") or {}
        return TokenClaims(
            subject=str(claims.get("sub", "")),
            client_id=str(claims["azp"]),
            session_id=claims.get("sid"),
            token_id=claims.get("jti"),
            issued_at=int(claims.get("iat", 0)),
            expires_at=int(claims["exp"]),
            roles=frozenset(realm_access.get("roles", [])),
        )

    # --- health ----------------------------------------------------------------------------

    def ping(self) -> None:
        """Cheap readiness probe: the realm's public metadata answers."""
        try:
            response = requests.get(self._realm_url, timeout=min(self._timeout, 3.0))
        except requests.RequestException as exc:
            raise Unavailable("keycloak") from exc
        if response.status_code != 200:
            raise Unavailable("keycloak", f"realm answered {response.status_code}")


# --- translation helpers ---------------------------------------------------------------------


@contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn python-keycloak and transport errors into the core's typed errors."""
    try:
        yield
    except FacadeError:
        raise
    except (
        KeycloakConnectionError,
        requests.RequestException,
        urllib3.exceptions.HTTPError,
    ) as exc:
        raise Unavailable("keycloak", f"{action}: cannot reach keycloak") from exc
    except KeycloakError as exc:
        raise _translate(action, exc) from exc


def _translate(action: str, exc: KeycloakError) -> FacadeError:
    status = exc.response_code or 0
    body = _body_of(exc)
    error = str(body.get("error", ""))
    description = str(body.get("error_description") or body.get("errorMessage") or "")
    message = str(body.get("message") or exc.error_message or "")
    text = f"{error} {description} {message}".lower()

    if status == 409:
        for field in ("email", "username"):
            if f"same {field}" in text:
                return AlreadyExists(field)
        return AlreadyExists("username")
    if status == 404:
        return NotFound("user")
    if status in (400, 401) and error in ("invalid_grant", "invalid_token"):
        if "disabled" in text or "temporarily" in text:
            return AccountDisabled(description)
        if "credentials" in text:
            return InvalidCredentials()
        return InvalidToken(description or "invalid token")
    if status == 400 and body.get("field"):
        return InvalidInput(str(body["field"]), str(description or "invalid value"))
    if status == 400 and ("password" in text or "policy" in text):
        return InvalidInput("password", description or message or "rejected by password policy")
    if (status == 401 and error == "unauthorized_client") or (status == 401 and not error):
        log.error("keycloak refused the facade's credentials during %s: %s", action, text)
        return Unavailable("keycloak", f"{action}: facade client rejected by keycloak")
    if status == 403:
        log.error("keycloak forbade %s: %s", action, text)
        return Unavailable("keycloak", f"{action}: forbidden by keycloak")
    if status >= 500 or status == 0:
        return Unavailable("keycloak", f"{action}: keycloak answered {status}")
    log.warning("unexpected keycloak answer to %s: %s %s", action, status, text)
    return Unavailable("keycloak", f"{action}: unexpected keycloak answer {status}")


def _header_of(token: str) -> dict[str, Any]:
    """The JOSE header alone: ``jwt.decode`` parses the whole token once more anyway."""
    header = _json_segment(token.split(".", 1)[0])
    if header is None:
        raise InvalidToken("malformed token")
    return header


def _unverified_claims(token: str) -> dict[str, Any]:
    """A compact JWS's claims, its signature unchecked (as ``jwt.decode`` with
    ``verify_signature`` off, and as strict about the base64url alphabet), without PyJWT's
    per-character alphabet check of all three segments in Python: that was about a fifth of a
    refresh's CPU, for two tokens the facade only reads. Raises ``jwt.DecodeError``."""
    segments = token.split(".")
    claims = _json_segment(segments[1]) if len(segments) == 3 else None
    if claims is None or not _BASE64URL.fullmatch(segments[2]):
        raise jwt.DecodeError("not a compact JWS with a JSON object as its claims")
    return claims


def _json_segment(segment: str) -> dict[str, Any] | None:
    """One unpadded base64url segment holding a JSON object, else None."""
    if not _BASE64URL.fullmatch(segment) or len(segment) % 4 == 1:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _body_of(exc: KeycloakError) -> dict[str, Any]:
    raw = exc.response_body
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, TypeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _user_from(raw: Mapping[str, Any]) -> User:
    attributes = {
        key: str(values[0])
        for key, values in (raw.get("attributes") or {}).items()
        if isinstance(values, list) and values
    }
    return User(
        id=str(raw["id"]),
        username=str(raw.get("username", "")),
        enabled=bool(raw.get("enabled", True)),
        email=raw.get("email"),
        email_verified=bool(raw.get("emailVerified", False)),
        first_name=raw.get("firstName"),
        last_name=raw.get("lastName"),
        created_at_ms=int(raw.get("createdTimestamp") or 0),
        attributes=attributes,
    )


def _token_set_from(raw: Any) -> TokenSet:
    """Keycloak's token response; times come from the token itself, not from our clock."""
    if not isinstance(raw, dict) or "access_token" not in raw or "refresh_token" not in raw:
        raise Unavailable("keycloak", "token response without access and refresh token")
    access = str(raw["access_token"])
    try:
        claims = _unverified_claims(access)
    except jwt.PyJWTError as exc:
        raise Unavailable("keycloak", "keycloak issued an unreadable access token") from exc
    issued_at = int(claims.get("iat") or time.time())
    return TokenSet(
        access_token=access,
        refresh_token=str(raw["refresh_token"]),
        expires_in=int(claims.get("exp", issued_at)) - issued_at,
        refresh_expires_in=int(raw.get("refresh_expires_in", 0)),
        issued_at=issued_at,
        session_id=claims.get("sid") or raw.get("session_state"),
        roles=frozenset((claims.get("realm_access") or {}).get("roles", [])),
    )
