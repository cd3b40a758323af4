"""An index that finds stale reservations without scanning every identity.

`facade identities follow` settles reservations left behind by a crash or a lost answer between
its polls; with millions of active rows, the (state, reserved_at) range is what keeps that cheap.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_identities_state_reserved_at", "identities", ["state", "reserved_at"])


def downgrade() -> None:
    op.drop_index("ix_identities_state_reserved_at", table_name="identities")
