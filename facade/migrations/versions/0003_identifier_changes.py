"""Identifier changes in flight: a reserved row that moves its identifiers to an existing user.

A phone change reserves the new phone in a row of its own (``change_of`` names the Keycloak user
it is for) before Keycloak is written, so the old phone stays bound until the write is known to
have landed, and a crash in between is settled like a registration's reservation.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("change_of", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("change_of")
