"""Alembic's entry point for the service database: online only, on the connection that
grader.service.migrate hands over (so the caller's lock and transaction are used)."""

from __future__ import annotations

from alembic import context

from grader.service.db import SERVICE

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached through `alembic` by hand
    raise RuntimeError("run the service migrations with grader.service.migrate.upgrade")
context.configure(connection=connection, target_metadata=SERVICE,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
