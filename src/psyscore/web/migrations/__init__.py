"""Alembic migrations of the workspace database, run by `Store.open` (no alembic.ini needed)."""
