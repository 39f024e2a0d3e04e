"""The student's pages, the login form and the shared entry points.

    /s/<token>            a personal link: "continue as <name>" (a POST starts the session,
                          so a page elsewhere cannot sign a student in as someone else)
    /me                   the assignment, its rules, the upload form, every attempt
    /me/attempts/<id>     one attempt, live: place in the queue, time running, then the
                          score and the report
    /attempts/<id>/report the student report (api.py), the report.html view, never the
                          instructor's
    /login, /logout       instructors (instructor.py has their pages)

The link's token is used once, to start a session, and never written into a page: the
form posts back to the address it came from. Pages poll /api/v1/jobs/<id> with the
session cookie (static/service.js); without JavaScript they refresh themselves.
"""

from __future__ import annotations

import importlib.resources
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from grader.service import api, auth, courses, db, logins, policy, queue, views, web
from grader.service.lti import outbox

router = APIRouter(include_in_schema=False)
CSRF = Annotated[str | None, Form()]


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


@router.get("/")
def home(request: Request) -> Response:
    current = web.session(request)
    if current is not None:
        return _redirect("/instructor" if current.kind == "instructor" else "/me")
    return web.page(request, "service/home.html.j2")


SCRIPTS = frozenset({"service.js", "lti-close.js"})  # templates/service/; the pages' only


@router.get("/static/{name}")
def script(name: str) -> Response:
    if name not in SCRIPTS:
        raise web.Problem(404, "no such file")
    text = importlib.resources.files("grader.templates").joinpath(f"service/{name}")
    return Response(text.read_text(encoding="utf-8"), media_type="text/javascript",
                    headers={"Cache-Control": "max-age=300"})


@router.get("/s/{token}")
def link(request: Request, token: str) -> Response:
    student = auth.student_for_token(request.app.state.engine, token)
    if student is None:
        raise web.Problem(404, "this link is not valid: it was mistyped, or your instructor "
                               "revoked it. Ask them for a new one.")
    return web.form_page(request, "service/link.html.j2", student=student)


@router.post("/s/{token}")
def start(request: Request, token: str, csrf: CSRF = None) -> Response:
    web.check_form(request, {"csrf": csrf}, None)
    student = auth.student_for_token(request.app.state.engine, token)
    if student is None:
        raise web.Problem(404, "this link is not valid any more")
    session_id, _ = auth.start_session(request.app.state.engine, "student",
                                       token_id=student.token_id,
                                       replaces=web.session_id(request),
                                       kept=request.app.state.settings.sessions_kept)
    response = _redirect("/me")
    web.set_cookie(request, response, auth.SESSION_COOKIE, session_id,
                   auth.SESSION_HOURS["student"] * 3600)
    web.clear_cookie(request, response, auth.CSRF_COOKIE)
    return response


def _student_session(request: Request) -> tuple[auth.Session, auth.Student]:
    current = web.session(request)
    if current is None or current.student is None:
        raise web.Problem(401, "open your personal link again to sign in")
    return current, current.student


def _my_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    current, student = _student_session(request)
    with db.reading(request.app.state.engine) as connection:
        assignment = courses.assignment_by_id(connection, student.assignment_id)
        mine = views.attempts(connection, assignment, student.student_id)
        in_lms = outbox.has_seat(connection, student.student_id, assignment.id)
    left = None if assignment.max_attempts is None else \
        max(0, assignment.max_attempts - len(mine))
    return web.page(request, "service/student.html.j2", status=status, student=student,
                    assignment=assignment, attempts=list(reversed(mine)), left=left,
                    rules=policy.rules_text(assignment), csrf=current.csrf, error=error,
                    limit_mb=request.app.state.settings.upload_limit / 2**20,
                    counting=next((a for a in mine if a.counts), None),
                    pending=any(a.state in (db.QUEUED, db.RUNNING) for a in mine),
                    in_lms=in_lms)


@router.get("/me")
def my_page(request: Request) -> Response:
    return _my_page(request)


@router.post("/me/submissions")
def upload(request: Request, file: Annotated[UploadFile | None, File()] = None,
           csrf: CSRF = None) -> Response:
    current, student = _student_session(request)
    web.check_form(request, {"csrf": csrf}, current)
    if file is None or not file.filename:
        return _my_page(request, 400, "choose a .ipynb or .py file first")
    try:
        accepted = api.accept(request, student, file)
    except web.Problem as problem:
        response = _my_page(request, problem.status, problem.detail)
        response.headers.update({k: v for k, v in problem.headers.items()
                                 if k == "Retry-After"})
        return response
    return _redirect(f"/me/attempts/{accepted.attempt}")


@router.get("/me/attempts/{attempt_id}")
def attempt_page(request: Request, attempt_id: api.Id) -> Response:
    _student_session(request)
    assignment, found = api.owned_attempt(request, attempt_id)
    with db.reading(request.app.state.engine) as connection:
        typical = queue.typical_seconds(connection)
    from grader.reports import view

    return web.page(request, "service/attempt.html.j2", assignment=assignment,
                    attempt=found, typical=typical,
                    verdict=view.verdict(found.counted) if found.counted else "",
                    live=found.state in (db.QUEUED, db.RUNNING))


@router.get("/login")
def login_form(request: Request) -> Response:
    return web.form_page(request, "service/login.html.j2")


@router.post("/login")
async def login(request: Request, name: Annotated[str, Form(max_length=255)] = "",
                password: Annotated[str, Form(max_length=1024)] = "",
                csrf: CSRF = None) -> Response:
    """Async so that a delayed try (logins.py) waits without holding a thread; the
    database and the password check run in worker threads."""
    web.check_form(request, {"csrf": csrf}, None)
    guard = logins.guard(request.app)
    address = request.client.host if request.client else ""
    wait = guard.refused(address)
    if wait is not None:
        await guard.pause()  # paced: a client retrying each refusal at once waits too
        raise web.Problem(429, f"too many failed logins from your address; try again in "
                               f"{wait} s", {"Retry-After": str(wait)})
    key = name.strip().lower()
    if guard.slowed(key):
        await guard.pause()
    engine = request.app.state.engine
    try:
        found = await guard.check(lambda: auth.instructor_id(engine, name.strip(), password))
    except logins.Busy:  # counted and paced, like a failure
        guard.failed(address, key)
        await guard.pause()
        raise web.Problem(503, "too many logins at once; try again in a few seconds",
                          {"Retry-After": "2"}) from None
    if found is None:
        guard.failed(address, key)
        return web.form_page(request, "service/login.html.j2", status=401,
                             error="wrong name or password", name=name)
    session_id, _ = await run_in_threadpool(
        auth.start_session, engine, "instructor", instructor=found,
        replaces=web.session_id(request), kept=request.app.state.settings.sessions_kept)
    response = _redirect("/instructor")
    web.set_cookie(request, response, auth.SESSION_COOKIE, session_id,
                   auth.SESSION_HOURS["instructor"] * 3600)
    web.clear_cookie(request, response, auth.CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, csrf: CSRF = None) -> Response:
    current = web.session(request)
    if current is not None:
        web.check_form(request, {"csrf": csrf}, current)
        auth.end_session(request.app.state.engine, web.session_id(request))
    response = _redirect("/")
    web.clear_cookie(request, response, auth.SESSION_COOKIE)
    return response
