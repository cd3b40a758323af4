"""Settings read once from ``FACADE_*`` environment variables (12-factor).

Everything tunable lives here so that no module reads the environment on its own and tests can
build a :class:`Settings` by hand.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from facade.core.limits import RateRule
from facade.settings_codes import (
    CodeSettings,
    DeliverySettings,
    default_rate_limits,
    parse_codes,
    parse_delivery,
    parse_rate_limits,
)

Environment = Literal["development", "production"]

#: slug -> default mount prefix, from ``shared/contracts/README.md``.
DEFAULT_PREFIXES: dict[str, str] = {
    "captcha": "/captcha",
    "vcode": "/vcode",
    "member": "/api/v1",
    "customer": "/api/app/customer/v1",
    "account": "/account",
}

#: Used only in development mode, where the realm JSON carries the same dev-only values.
DEV_SECRET = "dev-insecure-server-secret-change-me"  # noqa: S105


class SettingsError(ValueError):
    """A setting is missing or malformed; the process must not start."""


@dataclass(frozen=True)
class ContractClient:
    """The Keycloak client that issues one contract's tokens."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class SsoSettings:
    """The facade as a small OpenID provider for Keycloak's identity provider ``phone``."""

    client_secret: str
    client_id: str = "keycloak"
    prefix: str = "/sso"
    #: ``iss`` of its ID tokens; empty: the public URL of the request plus ``prefix``.
    issuer: str = ""
    #: Where authorization codes may go; empty: ``<Keycloak issuer>/broker/phone/endpoint``.
    redirect_uris: tuple[str, ...] = ()
    #: Seconds a signing key signs before the next one takes over.
    key_rotation: int = 86400


@dataclass(frozen=True)
class Settings:
    """Frozen configuration of one facade process."""

    env: Environment = "development"
    secret: str = DEV_SECRET
    keycloak_url: str = "http://127.0.0.1:8080"
    keycloak_realm: str = "facade"
    #: Issuer expected in tokens; differs from ``keycloak_url`` behind a public hostname.
    keycloak_issuer: str | None = None
    keycloak_client_id: str = "facade"
    keycloak_client_secret: str = "dev-facade-secret"  # noqa: S105
    #: Seconds per Keycloak call (connect, then read): short, so a hung Keycloak is a quick 503.
    keycloak_timeout: float = 3.0
    #: Requests a worker admits at once past routing (``FACADE_THREADS``; ``facade serve`` adds
    #: reserve threads for probes, brief waits and fast refusals); more get the contract's 503.
    max_in_flight: int = 8
    #: Requests a worker lets wait briefly for a slot (``FACADE_ADMISSION_WAITERS``, which
    #: ``facade serve`` sets from its workers and threads; facade/http/admission.py).
    admission_waiters: int = 7
    #: Consecutive Keycloak failures that open the circuit breaker (0: no breaker).
    keycloak_breaker_failures: int = 5
    #: Seconds the breaker stays open before one trial call may pass.
    keycloak_breaker_reset: float = 10.0
    contract_clients: Mapping[str, ContractClient] = field(default_factory=dict)
    prefixes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_PREFIXES))
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "facade:"
    #: Seconds per Redis socket read or connect: a hung Redis is a 503 after this long.
    redis_timeout: float = 2.0
    #: The identity store (SQLAlchemy URL); ``sqlite://`` is an in-memory one for hand-built
    #: settings. Empty in production until set: the store then refuses every call.
    database_url: str = "sqlite://"
    #: Seconds a PostgreSQL statement (a lock wait included) or connection attempt may take.
    database_timeout: float = 10.0
    #: Seconds between polls of Keycloak's admin events (``facade identities follow``).
    follow_interval: float = 2.0
    trusted_proxies: tuple[str, ...] = ()
    log_level: str = "INFO"
    #: Seconds a user read from Keycloak may be served from Redis (0: always read Keycloak).
    #: Every change drops it sooner: the facade's writes at once, operators' and users' own
    #: edits in Keycloak at the follower's next poll; only a follower that is down waits.
    profile_cache_ttl: float = 60.0
    #: Code and WeChat sign-in of a user whose profile is not cached takes it from the token
    #: exchange's ID token (one Keycloak call) instead of a read by id (two). The session then
    #: has ``openid`` in its scope, so each refresh of it gets an ID token too: HMAC-signed
    #: (the contract clients' HS512), it costs Keycloak no measurable CPU (README "Identity
    #: store").
    sign_in_id_token: bool = True
    #: Each process mirrors what bearer checks read from Redis (revocations, cached profiles),
    #: kept current by Redis client-side caching (``facade/adapters/redis_tracking.py``);
    #: never on a Redis Cluster.
    local_mirror: bool = True
    #: Seconds a logout is remembered: at least the longest access-token lifespan of a contract.
    revocation_ttl: int = 86400 + 300
    #: Verification codes, rate limits and code delivery (see facade/settings_codes.py).
    codes: CodeSettings = field(default_factory=CodeSettings)
    rate_limits: Mapping[str, tuple[RateRule, ...]] = field(default_factory=default_rate_limits)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_timeout: float = 5.0
    #: Swagger UI at ``<prefix>/docs`` (on in development, off in production unless asked).
    api_docs: bool = True
    #: The OpenID provider for SMS sign-in through Keycloak; None: not mounted.
    sso: SsoSettings | None = None

    @property
    def is_development(self) -> bool:
        return self.env == "development"

    @property
    def issuer(self) -> str:
        return (
            self.keycloak_issuer or f"{self.keycloak_url.rstrip('/')}/realms/{self.keycloak_realm}"
        )

    def client_for(self, slug: str) -> ContractClient:
        try:
            return self.contract_clients[slug]
        except KeyError:
            raise SettingsError(f"no Keycloak client configured for contract {slug!r}") from None

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the environment; production refuses insecure defaults."""
        env_vars = os.environ if environ is None else environ

        def get(name: str, default: str = "") -> str:
            return env_vars.get(f"FACADE_{name}", default).strip()

        env = get("ENV", "production")
        if env not in ("development", "production"):
            raise SettingsError("FACADE_ENV must be 'development' or 'production'")
        development = env == "development"

        secret = get("SECRET")
        if not secret:
            if not development:
                raise SettingsError("FACADE_SECRET is required in production")
            secret = DEV_SECRET
        elif not development and len(secret) < 32:
            raise SettingsError("FACADE_SECRET must be at least 32 characters in production")

        mounted = [s.strip() for s in get("CONTRACTS", ",".join(DEFAULT_PREFIXES)).split(",")]
        unknown = [s for s in mounted if s and s not in DEFAULT_PREFIXES]
        if unknown:
            raise SettingsError(f"FACADE_CONTRACTS names unknown contracts: {unknown}")
        prefixes = {
            slug: _normalise_prefix(get(f"{slug.upper()}_PREFIX", DEFAULT_PREFIXES[slug]))
            for slug in mounted
            if slug
        }

        clients: dict[str, ContractClient] = {}
        for slug in prefixes:
            client_secret = get(f"{slug.upper()}_CLIENT_SECRET")
            if not client_secret:
                if not development:
                    raise SettingsError(f"FACADE_{slug.upper()}_CLIENT_SECRET is required")
                client_secret = f"dev-{slug}-secret"
            client_id = get(f"{slug.upper()}_CLIENT_ID", contract_client_id(slug))
            clients[slug] = ContractClient(client_id, client_secret)

        if not development and not get("DATABASE_URL"):
            raise SettingsError(
                "FACADE_DATABASE_URL is required in production (the identity store, PostgreSQL)"
            )

        service_secret = get("KEYCLOAK_CLIENT_SECRET")
        if not service_secret:
            if not development:
                raise SettingsError("FACADE_KEYCLOAK_CLIENT_SECRET is required in production")
            service_secret = "dev-facade-secret"  # noqa: S105

        proxies = tuple(p.strip() for p in get("TRUSTED_PROXIES").split(",") if p.strip())
        try:
            codes = parse_codes(env_vars, list(DEFAULT_PREFIXES))
            rate_limits = parse_rate_limits(env_vars, list(DEFAULT_PREFIXES))
            delivery = parse_delivery(env_vars)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        return cls(
            env=env,  # type: ignore[arg-type]
            secret=secret,
            keycloak_url=get("KEYCLOAK_URL", "http://127.0.0.1:8080").rstrip("/"),
            keycloak_realm=get("KEYCLOAK_REALM", "facade"),
            keycloak_issuer=get("KEYCLOAK_ISSUER") or None,
            keycloak_client_id=get("KEYCLOAK_CLIENT_ID", "facade"),
            keycloak_client_secret=service_secret,
            keycloak_timeout=_number("KEYCLOAK_TIMEOUT", get("KEYCLOAK_TIMEOUT", "3"), float),
            keycloak_breaker_failures=int(
                _number("KEYCLOAK_BREAKER_FAILURES", get("KEYCLOAK_BREAKER_FAILURES", "5"), int)
            ),
            keycloak_breaker_reset=_number(
                "KEYCLOAK_BREAKER_RESET", get("KEYCLOAK_BREAKER_RESET", "2"), float
            ),
            max_in_flight=_max_in_flight(get),
            admission_waiters=int(_number("ADMISSION_WAITERS", get("ADMISSION_WAITERS", "7"), int)),
            contract_clients=clients,
            prefixes=prefixes,
            redis_url=_redis_url(get("REDIS_URL", "redis://127.0.0.1:6379/0")),
            redis_prefix=get("REDIS_PREFIX", "facade:"),
            redis_timeout=_positive("REDIS_TIMEOUT", get("REDIS_TIMEOUT", "2")),
            database_url=get("DATABASE_URL") or _dev_database_url(env_vars, development),
            database_timeout=_positive("DATABASE_TIMEOUT", get("DATABASE_TIMEOUT", "10")),
            follow_interval=_positive("FOLLOW_INTERVAL", get("FOLLOW_INTERVAL", "2")),
            trusted_proxies=proxies,
            log_level=get("LOG_LEVEL", "INFO").upper(),
            profile_cache_ttl=_number("PROFILE_CACHE_TTL", get("PROFILE_CACHE_TTL", "60"), float),
            sign_in_id_token=_flag("SIGN_IN_ID_TOKEN", get("SIGN_IN_ID_TOKEN", "1")),
            local_mirror=_flag("LOCAL_MIRROR", get("LOCAL_MIRROR", "1")),
            revocation_ttl=int(_number("REVOCATION_TTL", get("REVOCATION_TTL", "86700"), int)),
            codes=codes,
            rate_limits=rate_limits,
            delivery=delivery,
            wechat_api_base=get("WECHAT_API_BASE", "https://api.weixin.qq.com").rstrip("/"),
            wechat_appid=get("WECHAT_APPID"),
            wechat_secret=get("WECHAT_SECRET"),
            wechat_timeout=_number("WECHAT_TIMEOUT", get("WECHAT_TIMEOUT", "5"), float),
            api_docs=_flag("API_DOCS", get("API_DOCS", "1" if development else "0")),
            sso=_sso(get, development),
        )


def _sso(get: Callable[..., str], development: bool) -> SsoSettings | None:
    """``FACADE_SSO_*``: on with a client secret (a development one in development mode)."""
    secret = get("SSO_CLIENT_SECRET") or ("dev-sso-secret" if development else "")
    if not secret or not _flag("SSO", get("SSO", "1")):
        return None
    return SsoSettings(
        client_secret=secret,
        client_id=get("SSO_CLIENT_ID", "keycloak"),
        prefix=_normalise_prefix(get("SSO_PREFIX", "/sso")) or "/sso",
        issuer=get("SSO_ISSUER").rstrip("/"),
        redirect_uris=tuple(u.strip() for u in get("SSO_REDIRECT_URIS").split(",") if u.strip()),
        key_rotation=max(
            60, int(_number("SSO_KEY_ROTATION", get("SSO_KEY_ROTATION", "86400"), int))
        ),
    )


def contract_client_id(slug: str) -> str:
    """The Keycloak client of a contract: ``facade-<slug>``, a name no built-in client uses
    (a client named ``account`` would replace Keycloak's own account console)."""
    return f"facade-{slug}"


def _dev_database_url(env_vars: Mapping[str, str], development: bool) -> str:
    """Development's identity store: an SQLite file in the stack's state directory (none in
    production, where ``FACADE_DATABASE_URL`` must name a PostgreSQL database)."""
    if not development:
        return ""
    state = env_vars.get("FACADE_STACK_DIR") or str(Path(__file__).resolve().parents[1] / ".stack")
    return f"sqlite:///{Path(state).resolve() / 'identities.db'}"


def _redis_url(url: str) -> str:
    """A URL the Redis client can use (one node, ``redis+sentinel://`` or ``redis+cluster://``):
    a typo is a start refusal, not a 503 on every request."""
    from facade.adapters.redis_store import parse_url

    try:
        parse_url(url)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return url


def _max_in_flight(get: Callable[..., str]) -> int:
    """``FACADE_MAX_IN_FLIGHT``, by default ``FACADE_THREADS`` (8): see facade/http/admission.py."""
    threads = get("THREADS", "8")
    return max(1, int(_positive("MAX_IN_FLIGHT", get("MAX_IN_FLIGHT", threads))))


def _positive(name: str, value: str) -> float:
    number = _number(name, value, float)
    if number == 0:
        raise SettingsError(f"FACADE_{name} must be more than 0")
    return number


def _number(name: str, value: str, kind: type[int] | type[float]) -> float:
    try:
        number = kind(value)
    except ValueError:
        raise SettingsError(f"FACADE_{name} must be a number, not {value!r}") from None
    if number < 0:
        raise SettingsError(f"FACADE_{name} must not be negative")
    return number


def _flag(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"FACADE_{name} must be 1 or 0, not {value!r}")


def _normalise_prefix(prefix: str) -> str:
    prefix = "/" + prefix.strip("/")
    return "" if prefix == "/" else prefix
