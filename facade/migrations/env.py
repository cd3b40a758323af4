"""Alembic environment: runs on the connection the store hands over (or on the URL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from facade.adapters.identity_store import metadata, normalise_url

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    engine = sa.create_engine(normalise_url(config.get_main_option("sqlalchemy.url") or ""))
    with engine.begin() as own:
        context.configure(connection=own, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
