"""The instructor's pages: every assignment, its live dashboard, each student's attempts,
regrades, revoking a link, the class summary and every download.

    /instructor                                 assignments, with their queues
    /instructor/assignments/<a>                 the dashboard (rules, queue, students,
                                                regrade, downloads)
    /instructor/assignments/<a>/students/<s>    one student's attempts and reports
    /instructor/assignments/<a>/summary/…       the class summary (index.html view) and
                                                what it links to, at the relative
                                                addresses it uses in a batch folder
    /instructor/attempts/<id>/<view>            an attempt's student or instructor report

An instructor session is needed for every one (people are sent to /login, scripts get 401),
and every POST carries the session's CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from grader.service import api, auth, courses, db, downloads, policy, queue, views, web
from grader.service.lti import outbox

router = APIRouter(include_in_schema=False)
CSRF = Annotated[str | None, Form()]


def _assignment(connection: object, name: str) -> policy.Assignment:
    found = courses.assignment_of(connection, name)  # type: ignore[arg-type]
    if found is None:
        raise web.Problem(404, f"no assignment {name!r}")
    return found


@router.get("/instructor")
def assignments(request: Request) -> Response:
    current = web.instructor(request)
    engine = request.app.state.engine
    with db.reading(engine) as connection:
        listed = [(a, len(courses.roster(connection, a.id)),
                   len(views.attempts(connection, a))) for a in courses.assignments(engine)]
        counts = queue.counts(connection)
    return web.page(request, "service/instructor_home.html.j2", assignments=listed,
                    counts=counts, csrf=current.csrf)


@router.get("/instructor/assignments/{name}")
def dashboard(request: Request, name: str, message: str | None = None) -> Response:
    current = web.instructor(request)
    with db.reading(request.app.state.engine) as connection:
        assignment = _assignment(connection, name)
        rows = views.class_rows(connection, assignment)
        counts = queue.counts(connection)
        typical = queue.typical_seconds(connection)
        lms = outbox.deliveries(connection, assignment.id)
        from_lms = outbox.seated_students(connection, assignment.id)
    graded = [r.counting.counted for r in rows if r.counting and r.counting.counted]
    return web.page(request, "service/dashboard.html.j2", assignment=assignment, rows=rows,
                    counts=counts, typical=typical, csrf=current.csrf, quote=quote,
                    rules=policy.rules_text(assignment), graded=graded,
                    message=message if message in _MESSAGES else None,
                    messages=_MESSAGES, formats=downloads.FORMATS, lms=lms,
                    from_lms=from_lms)


_MESSAGES = {"regrade": "Regrade queued: the attempts are graded again after the students' "
                        "new uploads; their new results replace the old ones (the old ones "
                        "stay in the gradebook's history).",
             "revoked": "Link revoked: it no longer opens anything, and the sessions it "
                        "started have ended."}


@router.get("/instructor/assignments/{name}/status")
def status(request: Request, name: str) -> Response:
    web.instructor(request)
    with db.reading(request.app.state.engine) as connection:
        _assignment(connection, name)
        return JSONResponse(queue.counts(connection))


@router.get("/instructor/assignments/{name}/students/{student}")
def student_page(request: Request, name: str, student: str) -> Response:
    current = web.instructor(request)
    with db.reading(request.app.state.engine) as connection:
        assignment = _assignment(connection, name)
        row = next((r for r in views.class_rows(connection, assignment)
                    if r.student == student), None)
    if row is None:
        raise web.Problem(404, f"no student {student!r} in {name!r}")
    return web.page(request, "service/student_detail.html.j2", assignment=assignment,
                    row=row, attempts=list(reversed(row.attempts)), csrf=current.csrf,
                    quote=quote)


@router.post("/instructor/assignments/{name}/regrade")
def regrade(request: Request, name: str, csrf: CSRF = None,
            student: Annotated[str | None, Form(max_length=255)] = None) -> Response:
    current = web.instructor(request)
    web.check_form(request, {"csrf": csrf}, current)
    with db.writing(request.app.state.engine) as connection:
        assignment = _assignment(connection, name)
        query = select(db.attempts.c.id).where(db.attempts.c.assignment_id == assignment.id)
        if student:
            sid = connection.execute(select(db.students.c.id)
                                     .where(db.students.c.student == student)).scalar()
            if sid is None:
                raise web.Problem(404, f"no student {student!r}")
            query = query.where(db.attempts.c.student_id == sid)
        busy = select(db.jobs.c.attempt_id).where(db.jobs.c.state.in_([db.QUEUED,
                                                                       db.RUNNING]))
        for (attempt_id,) in connection.execute(query.where(db.attempts.c.id.not_in(busy))
                                                .order_by(db.attempts.c.id)):
            queue.enqueue(connection, attempt_id, db.REGRADE)
    back = f"/instructor/assignments/{quote(name, safe='')}"
    if student:
        back += f"/students/{quote(student, safe='')}"
    return RedirectResponse(back + "?message=regrade", status_code=303)


@router.post("/instructor/assignments/{name}/students/{student}/revoke")
def revoke(request: Request, name: str, student: str, csrf: CSRF = None) -> Response:
    current = web.instructor(request)
    web.check_form(request, {"csrf": csrf}, current)
    from grader.errors import UsageError

    try:
        courses.revoke(request.app.state.engine, name, student)
    except UsageError as exc:
        raise web.Problem(404, str(exc)) from None
    auth.drop_revoked_sessions(request.app.state.engine)
    return RedirectResponse(f"/instructor/assignments/{quote(name, safe='')}/students/"
                            f"{quote(student, safe='')}?message=revoked", status_code=303)


@router.get("/instructor/attempts/{attempt_id}/{view}")
def attempt_report(request: Request, attempt_id: api.Id,
                   view: Literal["student", "instructor"]) -> Response:
    web.instructor(request)
    with db.reading(request.app.state.engine) as connection:
        if views.attempt_owner(connection, attempt_id) is None:
            raise web.Problem(404, f"no attempt {attempt_id}")
        assignment, found = views.one_attempt(connection, attempt_id)
    return api.report_html(request, assignment, found, view)


def _counting(request: Request, name: str) -> tuple[policy.Assignment, list[views.StudentRow]]:
    web.instructor(request)
    with db.reading(request.app.state.engine) as connection:
        assignment = _assignment(connection, name)
        return assignment, views.class_rows(connection, assignment)


@router.get("/instructor/assignments/{name}/summary/index.html")
def summary(request: Request, name: str) -> Response:
    from grader import reports

    _, rows = _counting(request, name)
    results = [r.counting.counted for r in rows if r.counting and r.counting.counted]
    links = {"Grades with attempts and late penalties (CSV)": "exports/grades.csv",
             **{f"{f.capitalize()} (zip of JSON)": f"exports/{f}.zip"
                for f in downloads.FORMATS}}
    return web.report_response(reports.render_summary(results, links))


@router.get("/instructor/assignments/{name}/summary/results.csv")
def results_csv(request: Request, name: str) -> Response:
    assignment, rows = _counting(request, name)
    results = [r.counting.counted for r in rows if r.counting and r.counting.counted]
    return _download(downloads.results_csv(results), "text/csv",
                     f"{assignment.name}-results.csv")


@router.get("/instructor/assignments/{name}/summary/exports/{file}")
def export(request: Request, name: str, file: str) -> Response:
    assignment, rows = _counting(request, name)
    results = [r.counting.counted for r in rows if r.counting and r.counting.counted]
    if file == "grades.csv":
        return _download(downloads.grades_csv(rows, assignment), "text/csv",
                         f"{assignment.name}-grades.csv")
    stem = file.removesuffix(".zip")
    if not file.endswith(".zip") or stem not in downloads.FORMATS:
        raise web.Problem(404, f"no export {file!r}")
    return _download(downloads.format_zip(results, stem), "application/zip",
                     f"{assignment.name}-{stem}.zip")


@router.get("/instructor/assignments/{name}/summary/{student}/{page}")
def summary_report(request: Request, name: str, student: str,
                   page: Literal["report.html", "instructor.html"]) -> Response:
    assignment, rows = _counting(request, name)
    row = next((r for r in rows if r.student == student), None)
    if row is None or row.counting is None:
        raise web.Problem(404, f"no graded attempt of {student!r}")
    view = "student" if page == "report.html" else "instructor"
    return api.report_html(request, assignment, row.counting, view)


def _download(data: bytes, media_type: str, filename: str) -> Response:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{safe}"',
                             "Cache-Control": "no-store"})
