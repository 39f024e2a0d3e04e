"""The service database: Alembic's migrations make exactly the tables the code defines —
the gradebook's own (grader.results.gradebook.METADATA) and the service's
(grader.service.db.SERVICE) — on SQLite and on PostgreSQL; a second upgrade is a no-op;
and the gradebook reads the service database as it reads a batch's."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from service_fixtures import Course
from sqlalchemy import MetaData, inspect

from grader.results import gradebook
from grader.service import db, migrate


def _differences(engine: object, metadata: MetaData) -> list[object]:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_table" and d[1].name == "alembic_version")]


def test_the_migrations_make_the_tables_the_code_defines(course: Course) -> None:
    assert migrate.current(course.engine) == migrate.head()
    assert _differences(course.engine, db.SERVICE) == []
    names = set(inspect(course.engine).get_table_names())
    assert set(gradebook.METADATA.tables) <= names
    for table in gradebook.METADATA.tables.values():  # the gradebook's columns, as it has them
        found = {c["name"]: c for c in inspect(course.engine).get_columns(table.name)}
        assert list(found) == [c.name for c in table.columns], table.name
        for column in table.columns:
            assert found[column.name]["nullable"] == column.nullable, (table.name, column.name)


def test_a_second_upgrade_changes_nothing_and_the_gradebook_opens_it(course: Course) -> None:
    migrate.upgrade(course.engine)
    assert migrate.current(course.engine) == migrate.head()
    with gradebook.Gradebook(course.engine) as book:
        assert book.history() == []


def test_a_fresh_sqlite_file_is_migrated_by_the_first_command(tmp_path: Path) -> None:
    engine = db.connect(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert migrate.current(engine) is None
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()
