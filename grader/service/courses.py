"""A course's set-up: the service folder, instructors, assignments, the roster and each
student's personal link. What `grader serve init|assignment|roster` do, callable from
tests and scripts.

Why a token per student and assignment: a link then opens exactly one assignment, and
revoking it (a link forwarded to a friend) touches nothing else. The roster is read as
`grader batch --roster` reads it (the same student columns); only the student column is
needed here, and each raw name becomes the grader's one safe, injective student id.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from grader.classwork.intake import STUDENT_COLUMNS, _column
from grader.errors import IntakeError, UsageError
from grader.ids import student_id
from grader.service import auth, config, db, migrate, policy

MIN_PASSWORD = 8


@dataclass(frozen=True)
class Link:
    student: str
    token: str
    url: str


def open_service(root: Path, db_override: str | None = None,
                 pool_size: int = 10) -> tuple[config.Folder, Engine]:
    """The folder and its database, migrated to the newest schema."""
    folder = config.open_folder(root, db_override)
    engine = db.connect(folder.database_url, pool_size=pool_size)
    migrate.upgrade(engine)
    return folder, engine


def read_password(path: Path) -> str:
    try:
        password = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size \
            else ""
    except (OSError, UnicodeDecodeError, IndexError) as exc:
        raise UsageError(f"{path}: cannot read the password file: {exc}") from None
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"{path}: the password must be at least {MIN_PASSWORD} characters")
    return password


def init(root: Path, instructor: str, password: str, db_url: str | None = None,
         base_url: str = config.DEFAULT_BASE_URL) -> config.Folder:
    if config.is_service_folder(root):
        raise UsageError(f"{root} is already a service folder ({config.SETTINGS} exists)")
    if not instructor.strip():
        raise UsageError("the instructor needs a name")
    config.write_settings(root, base_url, db_url)
    (root / config.UPLOADS).mkdir(parents=True, exist_ok=True)
    folder, engine = open_service(root)
    try:
        with db.writing(engine) as connection:
            auth.add_instructor(connection, instructor.strip(), password)
    finally:
        engine.dispose()
    return folder


def add_instructor(engine: Engine, name: str, password: str) -> None:
    with db.writing(engine) as connection:
        if connection.execute(select(db.instructors.c.id)
                              .where(db.instructors.c.name == name)).first():
            auth.set_password(connection, name, password)
        else:
            auth.add_instructor(connection, name, password)


def assignment_of(connection: Connection, name: str) -> policy.Assignment | None:
    row = connection.execute(select(*assignment_columns())
                             .where(db.assignments.c.name == name)).first()
    return policy.Assignment(*row) if row else None


def assignment_by_id(connection: Connection, assignment_id: int) -> policy.Assignment:
    row = connection.execute(_ASSIGNMENT_BY_ID, {"id": assignment_id}).one()
    return policy.Assignment(*row)


def assignments(engine: Engine) -> list[policy.Assignment]:
    with db.reading(engine) as connection:
        rows = connection.execute(select(*assignment_columns())
                                  .order_by(db.assignments.c.id)).all()
    return [policy.Assignment(*row) for row in rows]


def assignment_columns() -> list[object]:
    """The columns of a policy.Assignment, in its order."""
    c = db.assignments.c
    return [c.id, c.name, c.exercise, c.title, c.deadline, c.late_policy,
            c.late_penalty_per_day, c.max_attempts, c.cooldown_seconds, c.counting,
            c.created_at]


_ASSIGNMENT_BY_ID = select(*assignment_columns()) \
    .where(db.assignments.c.id == bindparam("id"))


def add_assignment(engine: Engine, name: str, exercise: str, deadline: str | None = None,
                   late_penalty_per_day: float | None = None, refuse_late: bool = False,
                   max_attempts: int | None = None, cooldown_seconds: int = 0,
                   counting: str = db.COUNT_BEST, title: str | None = None) -> policy.Assignment:
    from grader.grade import load_exercise

    if not name.strip() or len(name) > 200 or "/" in name:
        raise UsageError("an assignment name is 1-200 characters without '/'")
    spec = load_exercise(exercise)  # a UsageError (SpecError) names what is wrong
    if late_penalty_per_day is not None and not 0 <= late_penalty_per_day <= 100:
        raise UsageError("--late-penalty-per-day is a percentage, 0-100")
    if refuse_late and late_penalty_per_day:
        raise UsageError("choose --refuse-late or --late-penalty-per-day, not both")
    if max_attempts is not None and max_attempts < 1:
        raise UsageError("--max-attempts must be at least 1")
    if cooldown_seconds < 0:
        raise UsageError("--cooldown must not be negative")
    if counting not in (db.COUNT_BEST, db.COUNT_LAST):
        raise UsageError("--counts is best or last")
    late = db.LATE_REFUSE if refuse_late else \
        db.LATE_PENALTY if late_penalty_per_day else db.LATE_ACCEPT
    with db.writing(engine) as connection:
        if assignment_of(connection, name):
            raise UsageError(f"assignment {name!r} exists already")
        connection.execute(db.assignments.insert().values(
            name=name, exercise=spec.name, title=title or spec.title,
            deadline=policy.parse_deadline(deadline) if deadline else None,
            late_policy=late, late_penalty_per_day=float(late_penalty_per_day or 0),
            max_attempts=max_attempts, cooldown_seconds=cooldown_seconds,
            counting=counting, created_at=db.now()))
        created = assignment_of(connection, name)
    assert created is not None
    return created


def read_roster(path: Path) -> list[str]:
    """The student column of a roster CSV, as `grader batch --roster` finds it; blank rows
    are left out and each name is kept once."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            column = _column(list(reader.fieldnames or []), STUDENT_COLUMNS, path)
            names = [(row.get(column) or "").strip() for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IntakeError(f"{path}: cannot read the roster: {exc}") from None
    return list(dict.fromkeys(n for n in names if n))


def import_roster(engine: Engine, names: list[str], assignment: str, base_url: str,
                  reissue: bool = False) -> tuple[list[Link], list[str]]:
    """Enrol each student in `assignment` and make their link. A student who already has
    a working link keeps it (and is listed second) unless `reissue`, which revokes it."""
    links, kept = [], []
    with db.writing(engine) as connection:
        chosen = assignment_of(connection, assignment)
        if chosen is None:
            raise UsageError(f"no assignment {assignment!r} (grader serve assignment add)")
        for raw in names:
            student = _student_row(connection, raw)
            active = db.tokens.c.revoked_at.is_(None)
            owner = (db.tokens.c.student_id == student) & \
                (db.tokens.c.assignment_id == chosen.id)
            if connection.execute(select(db.tokens.c.id).where(owner & active)).first():
                if not reissue:
                    kept.append(student_id(raw))
                    continue
                connection.execute(update(db.tokens).where(owner & active)
                                   .values(revoked_at=db.now()))
            token = auth.new_token()
            connection.execute(db.tokens.insert().values(
                token_hash=auth.token_hash(token), student_id=student,
                assignment_id=chosen.id, created_at=db.now()))
            links.append(Link(student_id(raw), token, f"{base_url.rstrip('/')}/s/{token}"))
    return links, kept


def _student_row(connection: Connection, raw: str) -> int:
    sid = student_id(raw)
    found = connection.execute(select(db.students.c.id)
                               .where(db.students.c.student == sid)).scalar()
    if found is not None:
        return int(found)
    return int(connection.execute(db.students.insert().values(
        student=sid, name=raw, created_at=db.now())).inserted_primary_key[0])


def write_links(links: list[Link], path: Path) -> None:
    """LINKS.csv (student,token,url) for a mail merge; 0600, since each row is a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "token", "url"])
        for link in links:
            writer.writerow([link.student, link.token, link.url])


def revoke(engine: Engine, assignment: str, student: str) -> int:
    """Revoke a student's link(s) to an assignment; their sessions end with it."""
    with db.writing(engine) as connection:
        chosen = assignment_of(connection, assignment)
        if chosen is None:
            raise UsageError(f"no assignment {assignment!r}")
        sid = connection.execute(select(db.students.c.id).where(
            db.students.c.student.in_([student, student_id(student)]))).scalar()
        if sid is None:
            raise UsageError(f"no student {student!r}")
        return int(connection.execute(update(db.tokens).where(
            db.tokens.c.student_id == sid, db.tokens.c.assignment_id == chosen.id,
            db.tokens.c.revoked_at.is_(None))
            .values(revoked_at=db.now())).rowcount)


def roster(connection: Connection, assignment_id: int) -> list[tuple[int, str, str, bool]]:
    """The students enrolled in an assignment: (id, student id, name, has a live link)."""
    rows = connection.execute(
        select(db.students.c.id, db.students.c.student, db.students.c.name,
               func.count(db.tokens.c.id).filter(db.tokens.c.revoked_at.is_(None)))
        .join(db.tokens, db.tokens.c.student_id == db.students.c.id)
        .where(db.tokens.c.assignment_id == assignment_id)
        .group_by(db.students.c.id, db.students.c.student, db.students.c.name)
        .order_by(db.students.c.student)).all()
    return [(int(r[0]), r[1], r[2], bool(r[3])) for r in rows]
