"""What the HTTP layer needs of a contract: its routes and its way of rendering errors.

Contracts depend on this module, never the other way round: ``facade.http`` imports no contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import falcon

if TYPE_CHECKING:
    from facade.bootstrap import Services


@dataclass(frozen=True)
class Rendered:
    """Status, body and headers a contract chose for an error."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class Contract(Protocol):
    """One client app's documented API, mounted at a prefix over the shared core."""

    slug: str
    #: Channels (``"sms"``, ``"email"``) its codes go by; production refuses to start without a
    #: real sender for each.
    channels: tuple[str, ...]

    def mount(
        self, app: falcon.App[falcon.Request, falcon.Response], prefix: str, services: Services
    ) -> None:
        """Add this contract's routes under ``prefix``."""

    def render_error(self, error: Exception, route: str | None) -> Rendered:
        """Status, body and headers for any error raised while serving this contract.

        ``route`` is the matched route template below the prefix (``/auth/login/sms``), or
        None before routing; documents that word one error differently per endpoint need it.
        """


def http_status_of(error: Exception) -> int:
    """The numeric status of a Falcon HTTP error, 500 for anything unexpected."""
    if isinstance(error, falcon.HTTPError):
        return int(error.status_code)
    return 500
