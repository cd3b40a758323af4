"""Identities (uid, unique identifiers, reservation, state) and the facade's own key/values.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column(
            "uid",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(start=1),
            primary_key=True,
        ),
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("keycloak_id", sa.String(36)),
        sa.Column("username", sa.String(255)),
        sa.Column("phone", sa.String(20)),
        sa.Column("wechat_openid", sa.String(128)),
        sa.Column("wechat_unionid", sa.String(128)),
        sa.Column("invite_code", sa.String(16)),
        sa.Column("reserved_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.CheckConstraint("state IN ('reserved', 'active', 'retired')", name="identities_state"),
        sa.UniqueConstraint("reservation_id", name="identities_reservation_id_key"),
        sa.UniqueConstraint("keycloak_id", name="identities_keycloak_id_key"),
        sa.UniqueConstraint("phone", name="identities_phone_key"),
        sa.UniqueConstraint("wechat_openid", name="identities_wechat_openid_key"),
        sa.UniqueConstraint("wechat_unionid", name="identities_wechat_unionid_key"),
        sa.UniqueConstraint("invite_code", name="identities_invite_code_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "facade_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("facade_meta")
    op.drop_table("identities")
