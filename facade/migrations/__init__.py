"""Alembic migrations of the identity store (``facade identities migrate`` runs them; the
store also runs them on first use, one process at a time)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration without an ini file: the scripts live in this package."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config
