"""What every contract shares: request parsing, field types, error tables, route declarations,
the OpenAPI builder and Swagger UI. A contract is one package of ``schemas.py``, ``routes.py``
and ``render.py`` over these."""

from facade.contracts.kit.contract import KitContract, Route
from facade.contracts.kit.errors import ErrorRow, ErrorTable
from facade.contracts.kit.parsing import parse

__all__ = ["ErrorRow", "ErrorTable", "KitContract", "Route", "parse"]
