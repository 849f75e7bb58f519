"""Alembic environment. Recoup runs migrations in-process (``recoup db upgrade``), handing the
connection over in ``config.attributes``; there is no alembic.ini to keep in sync."""

from __future__ import annotations

from alembic import context

from recoup.adapters.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `recoup db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
