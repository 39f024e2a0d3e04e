"""`grader serve …`: run the service, and set up its folder.

    grader serve --dir D [--host 127.0.0.1] [--port 8000] [--workers N] [--db URL]
                 [--web-processes N] [--cluster URL]                run the service
    grader serve init --dir D --instructor NAME --password-file FILE [--db URL]
                 [--base-url URL]                                   a new service folder
    grader serve assignment add --dir D --name A --exercise E [--deadline ISO8601]
                 [--late-penalty-per-day P | --refuse-late] [--max-attempts N]
                 [--cooldown S] [--counts best|last]
    grader serve assignment list --dir D
    grader serve roster import ROSTER.csv --dir D --assignment A --links LINKS.csv
    grader serve roster revoke --dir D --assignment A --student S
    grader serve instructor --dir D --name NAME --password-file FILE   add or reset
    grader serve demo --dir D                                       a demo course
    grader serve backup --dir D --to FILE                           SQLite online backup
    grader serve lti add-platform|list|registration-url|rotate-key|sync --dir D …  (lti/cli.py)

Parsers only import argparse: `grader --help` stays fast. Handlers import the package.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.errors import EXIT_OK

DEMO_STUDENTS = ("ada", "bo")
DEMO_ASSIGNMENT = "happy-or-sad-demo"


def _dir(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--dir", type=Path, required=required, metavar="D",
                        help="the service folder")
    parser.add_argument("--db", metavar="URL", help="database URL (default: the folder's "
                        "service.toml, else D/service.sqlite), e.g. "
                        "postgresql+psycopg://user@host/db")


def add_parsers(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the grading service (students submit, "
                                "get their report); `grader serve init` sets one up")
    serve.add_argument("--dir", type=Path, metavar="D", help="the service folder")
    serve.add_argument("--db", metavar="URL", help="database URL (overrides service.toml)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0: any free port")
    serve.add_argument("--workers", type=int, default=0,
                       help="local grading processes (default: one per two cores)")
    serve.add_argument("--web-processes", type=int, default=1, metavar="N",
                       help="processes answering HTTP (default 1; more when many students "
                       "upload at once and cores are free)")
    serve.add_argument("--cluster", metavar="URL",
                       help="grade on a Dask cluster, e.g. tcp://scheduler:8786")
    serve.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure "
                       "(automatic when requests arrive over https, e.g. through a proxy "
                       "that sends X-Forwarded-Proto)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                       help="proxies whose X-Forwarded-For/-Proto are believed")
    serve.add_argument("--max-upload-mb", type=float, default=20.0)
    serve.add_argument("--uploads-per-minute", type=int, default=10,
                       help="per student (0: no limit)")
    serve.add_argument("--time-limit", type=float, help="seconds per grading (default: "
                       "the exercise's)")
    serve.add_argument("--require-sandbox", action="store_true",
                       help="refuse to grade without bubblewrap (the default; kept for "
                       "scripts)")
    serve.add_argument("--cold", action="store_true",
                       help="start Python and TensorFlow for every run (no warm runs)")
    serve.add_argument("--no-sandbox", action="store_true",
                       help="grade without bubblewrap, even where it works (debugging; "
                       "submissions can then read the hidden data and the course secret)")
    # -- login and sessions --
    for flag, kind, text in _LOGIN_FLAGS:  # defaults: web.Settings (docs/security.md)
        serve.add_argument(flag, type=kind, metavar="N", help=text)
    # -- fair use per student --
    # (no defaults here: web.Settings has them, and this module imports nothing heavy)
    serve.add_argument("--queued-per-student", type=int, metavar="N",
                       help="uploads of one student that may wait to be graded at once "
                       "(0: no limit; default: see docs/service.md, fair use)")
    serve.add_argument("--upload-mb-per-day", type=float, metavar="MB",
                       help="megabytes one student may upload per UTC day (0: no limit)")
    serve.add_argument("--public-health-counts", action="store_true",
                       help="/healthz shows the queue's counts to anyone (monitoring on a "
                       "private network), not only to an instructor session")
    # -- connections, bodies and logs --
    serve.add_argument("--header-timeout", type=float, metavar="S",
                       help="close a connection whose request headers take longer")
    serve.add_argument("--body-timeout", type=float, metavar="S",
                       help="close a connection whose body sends nothing for this long")
    serve.add_argument("--max-connections", type=int, metavar="N",
                       help="open connections at once, in all (per web process)")
    serve.add_argument("--max-connections-per-address", type=int, metavar="N",
                       help="open connections at once per client address (a trusted "
                       "proxy of --forwarded-allow-ips counts only in all)")
    serve.add_argument("--log-format", choices=("text", "json"),
                       help="json: one JSON object per line, for a log collector "
                       "(default: text)")
    serve.set_defaults(handler=run_serve, serve_parser=serve)
    sub = serve.add_subparsers(dest="serve_command", metavar="COMMAND")

    init = sub.add_parser("init", help="create a service folder and its instructor")
    _dir(init)
    init.add_argument("--instructor", required=True, metavar="NAME")
    init.add_argument("--password-file", type=Path, required=True, metavar="FILE",
                      help="a file whose first line is the password (never a flag: flags "
                      "show in process lists and shell history)")
    init.add_argument("--base-url", default="http://127.0.0.1:8000",
                      help="the address students reach (their links start with it)")
    init.set_defaults(handler=run_init)

    instructor = sub.add_parser("instructor", help="add an instructor or set a password")
    _dir(instructor)
    instructor.add_argument("--name", required=True)
    instructor.add_argument("--password-file", type=Path, required=True, metavar="FILE")
    instructor.set_defaults(handler=run_instructor)

    assignment = sub.add_parser("assignment", help="add or list assignments")
    assignment_sub = assignment.add_subparsers(dest="assignment_command", required=True)
    add = assignment_sub.add_parser("add", help="add an assignment")
    _dir(add)
    add.add_argument("--name", required=True)
    add.add_argument("--exercise", required=True, help="installed exercise or a spec .toml")
    add.add_argument("--title")
    add.add_argument("--deadline", help="ISO 8601, e.g. 2026-03-01T23:59:00Z (no zone: UTC)")
    late = add.add_mutually_exclusive_group()
    late.add_argument("--late-penalty-per-day", type=float, metavar="P",
                      help="percent of the score lost per day or part of a day late")
    late.add_argument("--refuse-late", action="store_true", help="refuse uploads after the "
                      "deadline")
    add.add_argument("--max-attempts", type=int, metavar="N")
    add.add_argument("--cooldown", type=int, default=0, metavar="SECONDS",
                     help="least time between two attempts of a student")
    add.add_argument("--counts", choices=("best", "last"), default="best",
                     help="which attempt's score counts (default best)")
    add.set_defaults(handler=run_assignment_add)
    listing = assignment_sub.add_parser("list", help="list assignments")
    _dir(listing)
    listing.set_defaults(handler=run_assignment_list)

    roster = sub.add_parser("roster", help="students and their links")
    roster_sub = roster.add_subparsers(dest="roster_command", required=True)
    load = roster_sub.add_parser("import", help="enrol a roster CSV (the `grader batch "
                                 "--roster` format) and write each new student's link")
    load.add_argument("roster", type=Path, help="CSV with a student column")
    _dir(load)
    load.add_argument("--assignment", required=True)
    load.add_argument("--links", type=Path, required=True, metavar="LINKS.csv",
                      help="where to write student,token,url (0600; tokens are shown once)")
    load.add_argument("--base-url", help="overrides the folder's base_url for the links")
    load.add_argument("--reissue", action="store_true", help="revoke and replace the links "
                      "of students who have one already")
    load.set_defaults(handler=run_roster_import)
    revoke = roster_sub.add_parser("revoke", help="revoke a student's link")
    _dir(revoke)
    revoke.add_argument("--assignment", required=True)
    revoke.add_argument("--student", required=True)
    revoke.set_defaults(handler=run_roster_revoke)

    demo = sub.add_parser("demo", help="a demo course: an instructor, an assignment, two "
                          "students, their links")
    _dir(demo)
    demo.add_argument("--base-url", default="http://127.0.0.1:8000")
    demo.set_defaults(handler=run_demo)

    backup = sub.add_parser("backup", help="copy the SQLite database while the service runs")
    _dir(backup)
    backup.add_argument("--to", type=Path, required=True, metavar="FILE")
    backup.set_defaults(handler=run_backup)

    from grader.service.lti import cli as lti_cli

    lti_cli.add_parsers(sub, _dir)


_LOGIN_FLAGS = [
    ("--login-failures-per-address", int, "failed logins a minute from one address before "
     "429 (0: no limit)"),
    ("--login-failures-global", int, "failed logins a minute in all before every login "
     "waits --login-delay (0: no limit)"),
    ("--login-delay", float, "seconds a login waits when its name or everyone is over the "
     "limit"),
    ("--login-hashes", int, "password checks at once"),
    ("--login-queue", int, "logins waiting for a password check before 503"),
    ("--sessions-kept", int, "newest sessions kept per instructor and per student link"),
]


def _say(text: object) -> None:
    """One line for the instructor's terminal, made inert (it may hold roster names)."""
    from grader.terminal import inert

    print(inert(text), flush=True)


def run_serve(args: argparse.Namespace) -> int:
    from grader.errors import UsageError

    if args.dir is None:
        args.serve_parser.print_usage()
        raise UsageError("grader serve needs --dir D (a folder made by `grader serve init`)")
    if args.workers < 0:
        raise UsageError("--workers must be at least 1")
    if args.web_processes < 1:
        raise UsageError("--web-processes must be at least 1")
    if args.max_upload_mb <= 0:
        raise UsageError("--max-upload-mb must be positive")
    from grader.grade import GradeOptions
    from grader.service.server import serve

    if args.require_sandbox and args.no_sandbox:
        raise UsageError("--require-sandbox and --no-sandbox contradict each other")
    # the sandbox is required unless --no-sandbox (--require-sandbox: the default, kept)
    options = GradeOptions(time_limit=args.time_limit, no_sandbox=args.no_sandbox,
                           cold=args.cold)
    if args.no_sandbox:
        _say("WARNING: --no-sandbox: submissions run WITHOUT a sandbox")
    elif args.cluster is None:  # refuse now, not at the first upload; a cluster's
        from grader.grade import sandbox_in_use  # workers decide per grading

        sandbox_in_use(options)
    extra: dict[str, object] = {}  # further web.Settings fields, by name
    # -- login and sessions --
    for flag, _, _ in _LOGIN_FLAGS:
        field = flag.removeprefix("--").replace("-", "_")
        if getattr(args, field) is not None:
            if getattr(args, field) < 0:
                raise UsageError(f"{flag} must be 0 or more")
            extra[field] = getattr(args, field)
    # -- fair use per student --
    if args.queued_per_student is not None:
        if args.queued_per_student < 0:
            raise UsageError("--queued-per-student cannot be negative")
        extra["queued_per_student"] = args.queued_per_student
    if args.upload_mb_per_day is not None:
        if args.upload_mb_per_day < 0:
            raise UsageError("--upload-mb-per-day cannot be negative")
        extra["upload_bytes_per_day"] = int(args.upload_mb_per_day * 2**20)
    if args.public_health_counts:
        extra["public_health_counts"] = True
    # -- connections, bodies and logs --
    limits = {name: getattr(args, name) for name in (  # unset: web.Settings' defaults
        "header_timeout", "body_timeout", "max_connections", "max_connections_per_address")
        if getattr(args, name) is not None}
    if any(value <= 0 for value in limits.values()):
        raise UsageError("--header-timeout, --body-timeout and --max-connections… must be "
                         "positive")
    extra.update(limits)
    if args.log_format is not None:
        extra["log_format"] = args.log_format
    return serve(args.dir, args.host, args.port, args.workers, args.db, args.cluster,
                 options, args.secure_cookies, int(args.max_upload_mb * 2**20),
                 args.uploads_per_minute, args.forwarded_allow_ips, args.web_processes,
                 extra)


def run_init(args: argparse.Namespace) -> int:
    from grader.service import courses

    password = courses.read_password(args.password_file)
    folder = courses.init(args.dir, args.instructor, password, args.db, args.base_url)
    _say(f"service folder {args.dir} ready (database: "
         f"{'embedded SQLite' if folder.embedded else 'PostgreSQL'}); instructor "
         f"{args.instructor!r} can log in at {folder.base_url}/login")
    return EXIT_OK


def run_instructor(args: argparse.Namespace) -> int:
    from grader.service import courses

    password = courses.read_password(args.password_file)
    _, engine = courses.open_service(args.dir, args.db)
    try:
        courses.add_instructor(engine, args.name, password)
    finally:
        engine.dispose()
    _say(f"instructor {args.name!r}: password set")
    return EXIT_OK


def run_assignment_add(args: argparse.Namespace) -> int:
    from grader.service import courses, policy

    _, engine = courses.open_service(args.dir, args.db)
    try:
        added = courses.add_assignment(engine, args.name, args.exercise, args.deadline,
                                       args.late_penalty_per_day, args.refuse_late,
                                       args.max_attempts, args.cooldown, args.counts,
                                       args.title)
    finally:
        engine.dispose()
    _say(f"assignment {added.name!r} ({added.exercise}): " + " ".join(policy.rules_text(added)))
    return EXIT_OK


def run_assignment_list(args: argparse.Namespace) -> int:
    from grader.service import courses, policy

    _, engine = courses.open_service(args.dir, args.db)
    try:
        for assignment in courses.assignments(engine):
            _say(f"{assignment.name}\t{assignment.exercise}\t"
                 + " ".join(policy.rules_text(assignment)))
    finally:
        engine.dispose()
    return EXIT_OK


def run_roster_import(args: argparse.Namespace) -> int:
    from grader.service import courses

    folder, engine = courses.open_service(args.dir, args.db)
    try:
        names = courses.read_roster(args.roster)
        links, kept = courses.import_roster(engine, names, args.assignment,
                                            args.base_url or folder.base_url, args.reissue)
    finally:
        engine.dispose()
    courses.write_links(links, args.links)
    _say(f"{len(links)} link(s) written to {args.links} (keep it private: each row is a "
         "student's key; it is not stored anywhere else)")
    if kept:
        _say(f"{len(kept)} student(s) already had a link, kept: {', '.join(kept[:10])}"
             f"{' …' if len(kept) > 10 else ''} (--reissue replaces them)")
    return EXIT_OK


def run_roster_revoke(args: argparse.Namespace) -> int:
    from grader.service import auth, courses

    _, engine = courses.open_service(args.dir, args.db)
    try:
        count = courses.revoke(engine, args.assignment, args.student)
        auth.drop_revoked_sessions(engine)
    finally:
        engine.dispose()
    _say(f"{count} link(s) of {args.student} for {args.assignment} revoked")
    return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    import secrets
    from datetime import UTC, datetime, timedelta

    from grader.service import config, courses, db

    if config.is_service_folder(args.dir):
        _say(f"{args.dir} is set up already; its links are in {args.dir / 'links.csv'}. "
             f"Start it: grader serve --dir {args.dir}")
        return EXIT_OK
    password = secrets.token_urlsafe(12)
    courses.init(args.dir, "instructor", password, args.db, args.base_url)
    secret = args.dir / "instructor-password.txt"
    secret.touch(mode=0o600)
    secret.write_text(password + "\n", encoding="utf-8")
    _, engine = courses.open_service(args.dir, args.db)
    try:
        deadline = db.stamp(datetime.now(UTC) + timedelta(days=7))
        courses.add_assignment(engine, DEMO_ASSIGNMENT, "happy-or-sad", deadline,
                               late_penalty_per_day=10, max_attempts=5, cooldown_seconds=10,
                               title="Happy or Sad (demo)")
        links, _ = courses.import_roster(engine, list(DEMO_STUDENTS), DEMO_ASSIGNMENT,
                                         args.base_url)
    finally:
        engine.dispose()
    courses.write_links(links, args.dir / "links.csv")
    _say(f"demo course in {args.dir}: assignment {DEMO_ASSIGNMENT!r}, students "
         f"{', '.join(DEMO_STUDENTS)}")
    for link in links:
        _say(f"  {link.student}: {link.url}")
    _say(f"instructor: log in at {args.base_url}/login as 'instructor' with the password in "
         f"{secret}\nstart it:   grader serve --dir {args.dir}")
    return EXIT_OK


def run_backup(args: argparse.Namespace) -> int:
    import sqlite3

    from grader.errors import UsageError
    from grader.service import config

    folder = config.open_folder(args.dir, args.db)
    if not folder.embedded:
        raise UsageError("backup copies the embedded SQLite database; for PostgreSQL use "
                         "pg_dump (docs/service.md)")
    source = sqlite3.connect(folder.database_url.removeprefix("sqlite:///"))
    target = sqlite3.connect(args.to)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    _say(f"database copied to {args.to} (uploads: copy {folder.uploads}/ as well)")
    return EXIT_OK
