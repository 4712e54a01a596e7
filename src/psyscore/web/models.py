"""The workspace schema as SQLAlchemy Core tables: what the code reads and writes.

The migrations in `migrations/versions` build this schema step by step; a test checks that the
database they make matches these tables. Answers and results are JSON text (one form's answers,
one `IntakeResult.to_dict()`), so a new instrument never needs a schema change. Timestamps are
UTC ISO 8601 text, dates ISO `YYYY-MM-DD` text: they sort correctly as text on every backend.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

# constraint names fixed here, so a migration can refer to them on every backend
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
)

visits = Table(
    "visits",
    metadata,
    Column("visit_id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(64), ForeignKey("clients.client_id"), nullable=False),
    Column("date", String(10), nullable=False),
    Column("instruments", Text, nullable=False),  # JSON list of instrument ids
    Column("answers", Text, nullable=False),  # JSON object: item id -> answer (null: skipped)
    Column("result", Text, nullable=True),  # JSON IntakeResult.to_dict(), once scored
    Column("status", String(16), nullable=False),  # in_progress, scored
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Index("ix_visits_client_id_date", "client_id", "date"),
)

audit = Table(
    "audit",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("user_name", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("visit_id", Integer, nullable=True),
    Column("client_id", String(64), nullable=True),
    Column("changes", Text, nullable=False),  # JSON: what changed (item ids, never answers)
    Index("ix_audit_visit_id", "visit_id"),
    Index("ix_audit_client_id", "client_id"),
)

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", String(32), nullable=False),
)
