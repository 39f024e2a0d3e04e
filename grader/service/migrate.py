"""Bring a service database to the newest schema (Alembic), as every command does first.

Why at start and by every command: `grader serve`, `grader serve assignment add` and a
second machine's `grader serve` may meet a database that an older grader made; each
upgrades it under a lock (PostgreSQL: an advisory lock; SQLite: the write lock, BEGIN
IMMEDIATE), so two of them at once never run one migration twice.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from grader.service import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_KEY = 0x67726164  # "grad": the advisory lock id of these migrations


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied; nothing when the database is current.
    On SQLite the processes also take turns on the database's writer lock (db.WriterLock,
    an flock) first: two of them meeting a fresh file at once otherwise raced between
    reading its version and taking BEGIN IMMEDIATE ("table … already exists")."""
    lock = db.writer_lock(engine)
    with lock.turn() if lock is not None else contextlib.nullcontext():
        _upgrade(engine)


def _upgrade(engine: Engine) -> None:
    config = _config()
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.exec_driver_sql(f"SELECT pg_advisory_lock({_LOCK_KEY})")
            connection.commit()
        else:
            connection.execution_options(immediate=True)
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            if postgres:
                connection.rollback()
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
                connection.commit()
