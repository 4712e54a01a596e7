"""Alembic environment: migrations run on the connection `Store.open` passes in.

Configured in code (`psyscore.web.store.alembic_config`), never from an alembic.ini, so an
installed psyscore upgrades its database with nothing but the wheel.
"""

from __future__ import annotations

from alembic import context

from psyscore.web.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `Store` runs these migrations
    raise RuntimeError("psyscore migrations run through psyscore.web.store (psyscore db upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    transactional_ddl=True,  # one transaction: a failed upgrade leaves the database as it was
)
with context.begin_transaction():
    context.run_migrations()
