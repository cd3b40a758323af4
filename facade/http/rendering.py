"""What a contract hands back to the one error handler: status, body, headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rendered:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
