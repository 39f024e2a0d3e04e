"""The command line: `grader serve init|assignment|roster|demo|backup` set up a folder (a
token is shown once, in LINKS.csv, 0600, and stored only as a hash; a password only as
argon2), `grader gradebook show|export --out D` reads a service folder as it reads a batch
folder, and `grader submit` imports nothing heavy and exits as `grader grade` does."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from service_fixtures import PASSWORD, ROOT, client, make_course, module
from sqlalchemy import select

from grader.cli import main
from grader.service import auth, db


def grader(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *argv], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_init_assignment_roster_links_and_revoke(tmp_path: Path) -> None:
    folder, secret = tmp_path / "course", tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    assert main(["serve", "init", "--dir", str(folder), "--instructor", "prof",
                 "--password-file", str(secret), "--base-url", "https://grader.example/"]) == 0
    assert (folder / "service.toml").stat().st_mode & 0o777 == 0o600
    assert main(["serve", "init", "--dir", str(folder), "--instructor", "x",
                 "--password-file", str(secret)]) == 2  # exists already
    assert main(["serve", "assignment", "add", "--dir", str(folder), "--name", "hw1",
                 "--exercise", "happy-or-sad", "--deadline", "2030-03-01T23:59:00+01:00",
                 "--late-penalty-per-day", "10", "--max-attempts", "3"]) == 0
    assert main(["serve", "assignment", "add", "--dir", str(folder), "--name", "bad",
                 "--exercise", "no-such-exercise"]) == 2
    assert main(["serve", "assignment", "add", "--dir", str(folder), "--name", "bad",
                 "--exercise", "happy-or-sad", "--deadline", "next tuesday"]) == 2
    roster = tmp_path / "roster.csv"
    roster.write_text("Email,Name\nada@uni.edu,Ada\nbo@uni.edu,Bo\n\nada@uni.edu,Ada\n")
    links = tmp_path / "links.csv"
    assert main(["serve", "roster", "import", str(roster), "--dir", str(folder),
                 "--assignment", "hw1", "--links", str(links)]) == 0
    rows = list(csv.DictReader(links.open()))
    assert [r["student"] for r in rows] == ["ada@uni.edu", "bo@uni.edu"]
    assert all(r["url"] == f"https://grader.example/s/{r['token']}" for r in rows)
    assert links.stat().st_mode & 0o777 == 0o600
    assert main(["serve", "roster", "import", str(roster), "--dir", str(folder),
                 "--assignment", "hw1", "--links", str(tmp_path / "again.csv")]) == 0
    assert len(list(csv.DictReader((tmp_path / "again.csv").open()))) == 0  # kept, not shown
    engine = db.connect(f"sqlite:///{folder / 'service.sqlite'}")
    with db.reading(engine) as connection:
        stored = connection.execute(select(db.tokens.c.token_hash)).scalars().all()
        password = connection.execute(select(db.instructors.c.password_hash)).scalar()
        deadline = connection.execute(select(db.assignments.c.deadline)).scalar()
    assert sorted(stored) == sorted(auth.token_hash(r["token"]) for r in rows)
    assert all(r["token"] not in stored for r in rows)
    assert password.startswith("$argon2id$") and PASSWORD not in password
    assert deadline == "2030-03-01T22:59:00.000Z"  # stored in UTC
    assert main(["serve", "roster", "revoke", "--dir", str(folder), "--assignment", "hw1",
                 "--student", "bo@uni.edu"]) == 0
    assert auth.student_for_token(engine, rows[1]["token"]) is None
    assert auth.student_for_token(engine, rows[0]["token"]) is not None
    backup = tmp_path / "backup.sqlite"
    assert main(["serve", "backup", "--dir", str(folder), "--to", str(backup)]) == 0
    assert backup.stat().st_size > 0
    engine.dispose()


def test_the_demo_course_has_two_students_and_prints_their_links(tmp_path: Path,
                                                                  capsys: object) -> None:
    folder = tmp_path / "demo"
    assert main(["serve", "demo", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    links = list(csv.DictReader((folder / "links.csv").open()))
    assert [r["student"] for r in links] == ["ada", "bo"]
    assert all(r["url"] in out for r in links)
    assert (folder / "instructor-password.txt").stat().st_mode & 0o777 == 0o600
    assert main(["serve", "demo", "--dir", str(folder)]) == 0  # a second time: left as is


def test_gradebook_show_and_export_read_a_service_folder(tmp_path: Path,
                                                         monkeypatch: object) -> None:
    monkeypatch.setenv("GRADER_SERVICE_TEST_GRADE", "fakegrade:grade")  # type: ignore[attr-defined]
    course = make_course(tmp_path / "course", None, ["ada", "bo"])
    api = client(course.app())
    for student, text in (("ada", ""), ("bo", "fake: fail-hidden"), ("bo", "")):
        api.post("/api/v1/submissions", headers=course.headers(student),
                 files={"file": ("sol.py", module(text))})
    course.grade_queued()
    course.engine.dispose()
    shown = grader("gradebook", "show", "--out", str(course.root), "--history")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("100 / 100") == 2 and "80 / 100" in shown.stdout
    exported = grader("gradebook", "export", "--out", str(course.root), "--format", "csv",
                      "-o", str(tmp_path / "grades.csv"))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").read_text().lstrip("\ufeff")
                               .splitlines()))
    assert sorted((r["student"], r["score"]) for r in rows) == [("ada", "100.0"),
                                                                ("bo", "100.0")]
    exported = grader("gradebook", "export", "--out", str(course.root), "--format",
                      "gradescope", "-o", str(tmp_path / "gs"))
    assert exported.returncode == 0 and json.loads((tmp_path / "gs" / "ada.json").read_text())


HEAVY = ("tensorflow", "keras", "fastapi", "starlette", "sqlalchemy", "uvicorn", "httpx",
         "distributed", "alembic")


def _modules_after(code: str) -> str:
    probe = (f"import sys\n{code}\n"
             "print('LOADED', sorted({m.split('.')[0] for m in sys.modules}), "
             "'grader.grade' in sys.modules)")
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert "LOADED" in answer.stdout, answer.stderr
    return answer.stdout.split("LOADED", 1)[1]


def test_grader_submit_imports_nothing_heavy() -> None:
    whole = _modules_after("from grader.cli import main\ntry:\n    main(['submit', '--help'])"
                           "\nexcept SystemExit:\n    pass")
    assert not any(f"'{name}'" in whole for name in HEAVY), whole
    assert whole.strip().endswith("False")  # not even the grading pipeline
    alone = _modules_after("from grader.service import client")
    assert not any(f"'{name}'" in alone for name in (*HEAVY, "numpy")), alone


def test_grader_submit_exit_codes(tmp_path: Path) -> None:
    file = tmp_path / "sol.py"
    file.write_bytes(module())
    assert grader("submit", str(tmp_path / "missing.py"), "--server", "http://127.0.0.1:9",
                  "--token", "t").returncode == 2
    assert grader("submit", str(file), "--server", "http://127.0.0.1:9").returncode == 2
    unreachable = grader("submit", str(file), "--server", "http://127.0.0.1:9", "--token", "t")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr


def test_a_token_that_starts_with_a_dash_is_taken_as_the_token(tmp_path: Path) -> None:
    file = tmp_path / "sol.py"
    file.write_bytes(module())
    # parsed (the server is then unreachable: exit 1), not a usage error (exit 2)
    dashed = grader("submit", str(file), "--server", "http://127.0.0.1:9", "--token", "-cTm")
    assert dashed.returncode == 1 and "cannot reach" in dashed.stderr, dashed.stderr


def test_new_tokens_never_start_with_a_dash(monkeypatch: Any) -> None:
    drawn = iter(["-first", "-second", "third"])
    monkeypatch.setattr(auth.secrets, "token_urlsafe", lambda _: next(drawn))
    assert auth.new_token() == "third"
