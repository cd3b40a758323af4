"""Migrated users: legacy ids per contract and legacy password hashes (``facade import``).

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "legacy_ids",
        sa.Column("contract", sa.String(32), primary_key=True),
        sa.Column("legacy_id", sa.BigInteger, primary_key=True),
        sa.Column(
            "uid",
            _UID,
            sa.ForeignKey("identities.uid", name="legacy_ids_uid_fkey"),
            nullable=False,
        ),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("imported_at", sa.Float, nullable=False),
        sa.CheckConstraint("state IN ('pending', 'done')", name="legacy_ids_state"),
        sa.UniqueConstraint("contract", "uid", name="legacy_ids_contract_uid_key"),
    )
    op.create_table(
        "legacy_passwords",
        sa.Column(
            "uid",
            _UID,
            sa.ForeignKey("identities.uid", name="legacy_passwords_uid_fkey"),
            primary_key=True,
        ),
        sa.Column("contract", sa.String(32), nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("imported_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("legacy_passwords")
    op.drop_table("legacy_ids")
