"""Indexes for a client's visits (by date) and the audit trail (by visit, by client).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_visits_client_id_date", "visits", ["client_id", "date"])
    op.create_index("ix_audit_visit_id", "audit", ["visit_id"])
    op.create_index("ix_audit_client_id", "audit", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_client_id", table_name="audit")
    op.drop_index("ix_audit_visit_id", table_name="audit")
    op.drop_index("ix_visits_client_id_date", table_name="visits")
