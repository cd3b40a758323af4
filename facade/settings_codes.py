"""Settings of verification codes, rate limits and code delivery, read from ``FACADE_*``.

Kept beside :mod:`facade.settings` (which calls the three ``parse_*`` functions) because the
provider blocks are long. Functions here raise ValueError; ``Settings.from_env`` turns it into
SettingsError. An empty variable counts as unset (compose files pass ``${VAR:-}`` through), so
disabling a rate-limit group takes an explicit ``none``. Secrets are left out of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

from facade.core.codes import PURPOSES
from facade.core.limits import CodePolicy, RateRule, parse_rate_rules

SmtpSecurity = Literal["starttls", "tls", "none"]

#: Rule groups with their defaults: ``"<group>"`` for every contract, ``"<contract>.<group>"``
#: for one (member.md: sms/send 1/minute per IP and 10/day per phone, login/* 10/minute per IP).
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "send_code": "ip:10/minute,ip:200/day",
    "login": "ip:30/minute",
    "member.send_code": "ip:1/minute,target:10/day",
    "member.login": "ip:10/minute",
}
_POLICY_FIELDS = {
    "TTL": "ttl",
    "MAX_TRIES": "max_tries",
    "RESEND_INTERVAL": "resend_interval",
    "DAILY_CAP": "daily_cap",
}
_SMTP_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}


class _Getter(Protocol):
    """The ``get`` closure: variable name without ``FACADE_`` -> stripped value."""

    def __call__(self, name: str, default: str = "") -> str: ...


@dataclass(frozen=True)
class CodeSettings:
    default: CodePolicy = field(default_factory=CodePolicy)
    per_contract: Mapping[str, CodePolicy] = field(default_factory=dict)

    def policy_for(self, contract: str) -> CodePolicy:
        return self.per_contract.get(contract, self.default)


@dataclass(frozen=True)
class _SmsTemplates:
    sign_name: str
    #: purpose -> provider template id; ``default`` serves purposes without one of their own.
    templates: Mapping[str, str]

    def template_for(self, purpose: str) -> str:
        return self.templates.get(purpose) or self.templates["default"]


@dataclass(frozen=True)
class AliyunSmsSettings(_SmsTemplates):
    access_key_id: str = ""
    access_key_secret: str = field(default="", repr=False)
    endpoint: str = "https://dysmsapi.aliyuncs.com"


@dataclass(frozen=True)
class TencentSmsSettings(_SmsTemplates):
    secret_id: str = ""
    secret_key: str = field(default="", repr=False)
    app_id: str = ""
    endpoint: str = "https://sms.tencentcloudapi.com"
    region: str = "ap-guangzhou"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: SmtpSecurity
    sender: str
    user: str = ""
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class DeliverySettings:
    """Real senders; a channel without one has only the development sender (development mode)
    or none at all (production, which then refuses to mount a contract that needs it)."""

    sms_providers: tuple[str, ...] = ()
    aliyun: AliyunSmsSettings | None = None
    tencent: TencentSmsSettings | None = None
    smtp: SmtpSettings | None = None
    #: Seconds per provider call, connect and read each.
    timeout: float = 10.0

    def has_real_sender(self, channel: str) -> bool:
        if channel == "sms":
            return bool(self.sms_providers)
        if channel == "email":
            return self.smtp is not None
        return False


def default_rate_limits() -> dict[str, tuple[RateRule, ...]]:
    return {group: parse_rate_rules(spec) for group, spec in DEFAULT_RATE_LIMITS.items()}


def parse_codes(env: Mapping[str, str], slugs: Sequence[str]) -> CodeSettings:
    """``FACADE_CODE_<FIELD>`` for every contract, ``FACADE_<SLUG>_CODE_<FIELD>`` for one."""
    default = _policy(env, "FACADE_CODE_", CodePolicy())
    overrides = {
        slug: _policy(env, f"FACADE_{slug.upper()}_CODE_", default)
        for slug in slugs
        if any(name.startswith(f"FACADE_{slug.upper()}_CODE_") for name in env)
    }
    return CodeSettings(default, overrides)


def _policy(env: Mapping[str, str], prefix: str, base: CodePolicy) -> CodePolicy:
    values = {name: getattr(base, name) for name in _POLICY_FIELDS.values()}
    for variable, raw in env.items():
        if not variable.startswith(prefix) or not raw.strip():
            continue
        suffix = variable[len(prefix) :]
        if suffix not in _POLICY_FIELDS:
            raise ValueError(f"unknown variable {variable} (known: {', '.join(_POLICY_FIELDS)})")
        values[_POLICY_FIELDS[suffix]] = _integer(variable, raw)
    return CodePolicy(**values)


def parse_rate_limits(
    env: Mapping[str, str], slugs: Sequence[str]
) -> dict[str, tuple[RateRule, ...]]:
    """``FACADE_RATE_<GROUP>`` for every contract, ``FACADE_<SLUG>_RATE_<GROUP>`` for one."""
    specs = dict(DEFAULT_RATE_LIMITS)
    for variable, raw in env.items():
        if not raw.strip():
            continue
        if variable.startswith("FACADE_RATE_"):
            specs[variable[len("FACADE_RATE_") :].lower()] = raw
        for slug in slugs:
            prefix = f"FACADE_{slug.upper()}_RATE_"
            if variable.startswith(prefix):
                specs[f"{slug}.{variable[len(prefix) :].lower()}"] = raw
    rules: dict[str, tuple[RateRule, ...]] = {}
    for group, spec in specs.items():
        try:
            rules[group] = parse_rate_rules(spec)
        except ValueError as exc:
            raise ValueError(f"rate limits of {group!r}: {exc}") from None
    return rules


def parse_delivery(env: Mapping[str, str]) -> DeliverySettings:
    def get(name: str, default: str = "") -> str:
        return env.get(f"FACADE_{name}", "").strip() or default

    providers = tuple(p.strip().lower() for p in get("SMS_PROVIDERS").split(",") if p.strip())
    unknown = sorted(set(providers) - {"aliyun", "tencent"})
    if unknown or len(set(providers)) != len(providers):
        raise ValueError("FACADE_SMS_PROVIDERS lists each of 'aliyun' and 'tencent' at most once")
    aliyun = tencent = None
    if "aliyun" in providers:
        aliyun = AliyunSmsSettings(
            sign_name=_required(get, "ALIYUN_SMS_SIGN_NAME"),
            templates=_templates(get, "ALIYUN_SMS_TEMPLATES"),
            access_key_id=_required(get, "ALIYUN_ACCESS_KEY_ID"),
            access_key_secret=_required(get, "ALIYUN_ACCESS_KEY_SECRET"),
            endpoint=_endpoint(get, "ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com"),
        )
    if "tencent" in providers:
        tencent = TencentSmsSettings(
            sign_name=_required(get, "TENCENT_SMS_SIGN_NAME"),
            templates=_templates(get, "TENCENT_SMS_TEMPLATES"),
            secret_id=_required(get, "TENCENT_SECRET_ID"),
            secret_key=_required(get, "TENCENT_SECRET_KEY"),
            app_id=_required(get, "TENCENT_SMS_APP_ID"),
            endpoint=_endpoint(get, "TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com"),
            region=get("TENCENT_SMS_REGION", "ap-guangzhou"),
        )
    timeout = float(get("DELIVERY_TIMEOUT", "10"))
    if timeout <= 0:
        raise ValueError("FACADE_DELIVERY_TIMEOUT must be positive")
    return DeliverySettings(providers, aliyun, tencent, _smtp(get), timeout)


def _smtp(get: _Getter) -> SmtpSettings | None:
    host = get("SMTP_HOST")
    if not host:
        return None
    security = get("SMTP_SECURITY", "starttls").lower()
    if security not in _SMTP_PORTS:
        raise ValueError("FACADE_SMTP_SECURITY must be 'starttls', 'tls' or 'none'")
    user = get("SMTP_USER")
    password = get("SMTP_PASSWORD")
    if user and not password:
        raise ValueError("FACADE_SMTP_PASSWORD is required with FACADE_SMTP_USER")
    return SmtpSettings(
        host=host,
        port=_integer("FACADE_SMTP_PORT", get("SMTP_PORT", str(_SMTP_PORTS[security]))),
        security=security,  # type: ignore[arg-type]
        sender=_required(get, "SMTP_FROM"),
        user=user,
        password=password,
    )


def _required(get: _Getter, name: str) -> str:
    value = get(name)
    if not value:
        raise ValueError(f"FACADE_{name} is required by the configured sender")
    return value


def _templates(get: _Getter, name: str) -> dict[str, str]:
    """``"login=SMS_1,register=SMS_2,default=SMS_0"``: every purpose must end up with one."""
    templates: dict[str, str] = {}
    for part in (p.strip() for p in _required(get, name).split(",") if p.strip()):
        purpose, _, template = (s.strip() for s in part.partition("="))
        if purpose not in PURPOSES | {"default"} or not template:
            raise ValueError(f"FACADE_{name}: cannot read {part!r} (purpose=template)")
        templates[purpose] = template
    missing = sorted(p for p in PURPOSES if p not in templates and "default" not in templates)
    if missing:
        raise ValueError(f"FACADE_{name} has no template for {', '.join(missing)} (or default)")
    return templates


def _endpoint(get: _Getter, name: str, default: str) -> str:
    value = get(name, default).rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        raise ValueError(f"FACADE_{name} must be a URL like https://host[:port]")
    return value


def _integer(variable: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f"{variable} must be an integer") from None
