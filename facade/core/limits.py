"""Limits as data: the verification-code policy of a contract and rate-limit rules.

Values only, read from settings and handed to the code service and the limiter, so that a
contract whose numbers differ gets different data, never a branch on its name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

Scope = Literal["ip", "target", "ip+target"]
_WINDOWS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RULE = re.compile(r"^(ip|target|ip\+target):(\d+)/(\d*)(second|minute|hour|day|s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, **_WINDOWS}


@dataclass(frozen=True)
class CodePolicy:
    """How codes of one contract live: shared defaults, overridable per contract."""

    ttl: int = 300
    max_tries: int = 3
    resend_interval: int = 60
    daily_cap: int = 10

    def __post_init__(self) -> None:
        if self.ttl < 1 or self.max_tries < 1 or self.daily_cap < 1 or self.resend_interval < 0:
            raise ValueError(f"invalid code policy {self}")


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` hits per ``window`` seconds for one IP, one target, or the pair."""

    scope: Scope
    limit: int
    window: int

    def __str__(self) -> str:
        return f"{self.scope}:{self.limit}/{self.window}s"


def parse_rate_rules(spec: str) -> tuple[RateRule, ...]:
    """``"ip:1/minute,target:10/day"`` -> rules; ``"none"`` or ``""`` -> no rule.

    A window is ``second``, ``minute``, ``hour``, ``day`` or a count of ``s``/``m``/``h``/``d``
    (``ip:5/10m``). Raises ValueError naming the part it cannot read.
    """
    spec = spec.strip()
    if spec.lower() in ("", "none"):
        return ()
    rules: list[RateRule] = []
    for part in (p.strip() for p in spec.split(",")):
        match = _RULE.match(part.replace(" ", ""))
        if not match:
            raise ValueError(f"cannot read rate rule {part!r} (expected e.g. 'ip:10/minute')")
        scope, limit, count, unit = match.groups()
        window = int(count or 1) * _UNITS[unit]
        if int(limit) < 1 or window < 1:
            raise ValueError(f"rate rule {part!r} must allow at least one hit per window")
        rules.append(RateRule(scope, int(limit), window))  # type: ignore[arg-type]
    return tuple(rules)


def rules_for(rules: Mapping[str, tuple[RateRule, ...]], group: str) -> tuple[RateRule, ...]:
    """Rules of ``"<contract>.<group>"``: the contract's own, else the group's default.

    A group with neither is unlimited, so that a contract may name a group an operator has not
    configured yet; every group the contracts use has a default in settings.
    """
    if group in rules:
        return rules[group]
    _, _, generic = group.partition(".")
    return rules.get(generic, ())


class RateLimiter(Protocol):
    """Counts a hit for a rule group; raises :class:`~facade.core.errors.RateLimited` when any
    of its rules is exhausted, with the seconds until all of them would pass again."""

    def hit(self, group: str, *, ip: str | None = None, target: str | None = None) -> None: ...
