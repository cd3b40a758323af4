"""What every contract adapter provides to the app: its routes and its way of rendering errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import falcon

from facade.http.rendering import Rendered

if TYPE_CHECKING:
    from facade.bootstrap import Services


class Contract(Protocol):
    """One client app's documented API, mounted at a prefix over the shared core."""

    slug: str
    #: Channels (``"sms"``, ``"email"``) its codes go by; production refuses to start without a
    #: real sender for each (a contract that declares none is taken to need ``("sms",)``).
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
