"""The JSON API (/api/v1/…), the report address every client shares, /healthz and /docs.

A student authenticates every call with `Authorization: Bearer <token>` (their link's
token; the browser's session cookie works too, so the student's own pages can poll the
same endpoints). They see only their own attempts: another student's attempt answers
the same 404 as one that does not exist (a 403 would tell how many there are). Every
response, errors included, is described in the OpenAPI schema (/openapi.json), which
schemathesis checks. /healthz answers only "ok" unless an instructor session asks.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, Security, UploadFile
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from grader.service import auth, courses, db, policy, queue, uploads, views, web

router = APIRouter()
bearer_scheme = HTTPBearer(auto_error=False, description="the token of your personal link")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
SPEC_SECONDS = 60.0


class ErrorOut(BaseModel):
    status: int
    error: str
    detail: str


class CheckOut(BaseModel):
    id: str
    title: str
    status: str
    score: float
    max_score: float
    message: str
    hint: str


class ResultOut(BaseModel):
    status: str
    score: float
    max_score: float
    verdict: str
    error: str | None
    checks: list[CheckOut]


class AttemptOut(BaseModel):
    id: int
    number: int
    filename: str
    submitted_at: str
    sha256: str
    state: str
    position: int | None
    job: int | None
    late_days: int
    counts: bool
    result: ResultOut | None
    report_url: str


class AssignmentOut(BaseModel):
    name: str
    exercise: str
    title: str | None
    deadline: str | None
    late_policy: str
    late_penalty_per_day: float
    max_attempts: int | None
    cooldown_seconds: int
    counting: str
    rules: list[str]


class MeOut(BaseModel):
    student: str
    name: str
    assignment: AssignmentOut
    attempts_used: int
    attempts_left: int | None
    counting_attempt: int | None
    score: float | None
    max_score: float | None


class AcceptedOut(BaseModel):
    job: int
    attempt: int
    number: int
    state: str
    position: int | None
    sha256: str
    status_url: str
    report_url: str


class JobOut(BaseModel):
    job: int
    state: str
    position: int | None
    running_seconds: float | None
    typical_seconds: float
    attempt: AttemptOut


class HealthOut(BaseModel):
    status: str
    queued: int | None = None  # the counts: for an instructor session only (or all, when
    running: int | None = None  # the operator chose --public-health-counts)
    done: int | None = None
    error: int | None = None


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut} for code in (*codes, 422)}


def _page_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Errors of an address that people open too: JSON for scripts, a page for people."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}},
               "text/html": {"schema": {"type": "string"}}}
    return {code: {"description": HTTPStatus(code).phrase, "content": content}
            for code in (*codes, 422)}


def assignment_out(assignment: policy.Assignment) -> AssignmentOut:
    return AssignmentOut(name=assignment.name, exercise=assignment.exercise,
                         title=assignment.title, deadline=assignment.deadline,
                         late_policy=assignment.late_policy,
                         late_penalty_per_day=assignment.late_penalty_per_day,
                         max_attempts=assignment.max_attempts,
                         cooldown_seconds=assignment.cooldown_seconds,
                         counting=assignment.counting, rules=policy.rules_text(assignment))


def _instructor(request: Request) -> bool:
    """Whether an instructor's browser session asks (a bearer token is always a student's)."""
    if request.headers.get("authorization") is not None:
        return False
    current = web.session(request)
    return current is not None and current.kind == "instructor"


def owned_attempt(request: Request, attempt_id: int, allow_instructor: bool = False,
                  missing: str | None = None) -> tuple[policy.Assignment, views.Attempt]:
    """The attempt, if the one asking may see it; the same 404 when there is none and
    when it is another student's, so that probing ids tells nobody how many attempts
    the service holds (`missing`: the message, when a job was asked for)."""
    engine = request.app.state.engine
    student = None if allow_instructor and _instructor(request) else web.student(request)
    with db.reading(engine) as connection:
        owner = views.attempt_owner(connection, attempt_id)
        if owner is None or student is not None and \
                owner != (student.student_id, student.assignment_id):
            raise web.Problem(404, missing or f"no attempt {attempt_id}")
        return views.one_attempt(connection, attempt_id)


def spec_of(request: Request, exercise: str) -> Any:
    """The exercise spec (its reference layers for the report), re-read once a minute."""
    cache: dict[str, tuple[float, Any]] = request.app.state.reports
    found = cache.get(exercise)
    if found is None or time.monotonic() - found[0] > SPEC_SECONDS:
        from grader.grade import load_exercise

        found = (time.monotonic(), load_exercise(exercise))
        cache[exercise] = found
    return found[1]


def report_html(request: Request, assignment: policy.Assignment, attempt: views.Attempt,
                view: str = "student") -> HTMLResponse:
    from grader import reports

    if attempt.counted is None:
        where = f"position {attempt.position} in the queue" if attempt.position else \
            attempt.state
        raise web.Problem(409, f"attempt {attempt.number} is not graded yet ({where})")
    spec = spec_of(request, assignment.exercise)
    hidden = None
    if view == "instructor":
        from grader.exercise import datasource

        hidden = datasource.resolve(spec).hidden_dir
    return web.report_response(reports.render(attempt.counted, view, spec.reference_layers,
                                              hidden))


@router.get("/api/v1/me", response_model=MeOut, responses=_errors(401),
            summary="Who you are, your assignment's rules and your attempts so far")
def me(request: Request, _: Bearer) -> MeOut:
    student = web.student(request)
    with db.reading(request.app.state.engine) as connection:
        assignment = courses.assignment_by_id(connection, student.assignment_id)
        mine = views.attempts(connection, assignment, student.student_id)
    counting = next((a for a in mine if a.counts), None)
    return MeOut(student=student.student, name=student.name,
                 assignment=assignment_out(assignment), attempts_used=len(mine),
                 attempts_left=None if assignment.max_attempts is None
                 else max(0, assignment.max_attempts - len(mine)),
                 counting_attempt=counting.number if counting else None,
                 score=counting.counted.score if counting and counting.counted else None,
                 max_score=counting.counted.max_score if counting and counting.counted
                 else None)


@router.post("/api/v1/submissions", status_code=202, response_model=AcceptedOut,
             responses=_errors(401, 403, 409, 413, 415, 429),
             summary="Submit a notebook (.ipynb) or module (.py) to be graded")
def submit(request: Request, _: Bearer, file: Annotated[UploadFile, File()],
           assignment: Annotated[str | None, Form(max_length=255)] = None) -> AcceptedOut:
    student = web.student(request)
    if assignment and assignment != student.assignment:
        raise web.Problem(403, f"this token is for assignment {student.assignment!r}, not "
                               f"{assignment!r}")
    return accept(request, student, file)


def accept(request: Request, student: auth.Student, file: UploadFile) -> AcceptedOut:
    """Rate limit, then uploads.accept; shared by the API and the student's page."""
    wait = request.app.state.upload_limiter.hit(student.token_id)
    if wait is not None:
        raise web.Problem(429, f"too many uploads; try again in {wait} s",
                          {"Retry-After": str(wait)})
    settings: web.Settings = request.app.state.settings
    try:
        accepted = uploads.accept(request.app.state.engine, request.app.state.storage,
                                  student, file.file, file.filename, settings.upload_limit,
                                  uploads.FairUse(settings.queued_per_student,
                                                  settings.upload_bytes_per_day))
    except uploads.Refused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
        if refused.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        raise web.Problem(refused.status, refused.message, headers) from None
    return AcceptedOut(job=accepted.job_id, attempt=accepted.attempt_id,
                       number=accepted.number, state=db.QUEUED,
                       position=accepted.position, sha256=accepted.sha256,
                       status_url=f"/api/v1/jobs/{accepted.job_id}",
                       report_url=f"/attempts/{accepted.attempt_id}/report")


@router.get("/api/v1/submissions", response_model=list[AttemptOut], responses=_errors(401),
            summary="Your attempts, oldest first; the one that counts is marked")
def submissions(request: Request, _: Bearer) -> list[AttemptOut]:
    student = web.student(request)
    with db.reading(request.app.state.engine) as connection:
        assignment = courses.assignment_by_id(connection, student.assignment_id)
        mine = views.attempts(connection, assignment, student.student_id)
    return [AttemptOut(**views.attempt_json(a)) for a in mine]


@router.get("/api/v1/attempts/{attempt_id}", response_model=AttemptOut,
            responses=_errors(401, 404), summary="One of your attempts")
def attempt(request: Request, attempt_id: Id, _: Bearer) -> AttemptOut:
    return AttemptOut(**views.attempt_json(owned_attempt(request, attempt_id)[1]))


@router.get("/api/v1/jobs/{job_id}", response_model=JobOut, responses=_errors(401, 404),
            summary="A grading's state: its place in the queue, how long it has run, its "
                    "result when done")
def job(request: Request, job_id: Id, _: Bearer) -> JobOut:
    web.student(request)  # who asks first: 401 before anything about the job
    engine = request.app.state.engine
    with db.reading(engine) as connection:
        attempt_id = views.job_attempt(connection, job_id)
        typical = queue.typical_seconds(connection)
        row = connection.execute(db.jobs.select().where(db.jobs.c.id == job_id)).first()
    if attempt_id is None or row is None:
        raise web.Problem(404, f"no job {job_id}")
    _, found = owned_attempt(request, attempt_id, missing=f"no job {job_id}")
    with db.reading(engine) as connection:
        position = queue.position(connection, job_id)
    running = db.seconds_between(row.started_at, db.now()) if row.state == db.RUNNING else None
    return JobOut(job=job_id, state=row.state, position=position,
                  running_seconds=round(running, 1) if running is not None else None,
                  typical_seconds=typical, attempt=AttemptOut(**views.attempt_json(found)))


@router.get("/attempts/{attempt_id}/report", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "the report"},
                       **_page_errors(401, 404, 409)},
            summary="The student report of an attempt (the report.html view)")
def report(request: Request, attempt_id: Id, _: Bearer) -> HTMLResponse:
    assignment, found = owned_attempt(request, attempt_id, allow_instructor=True)
    return report_html(request, assignment, found)


@router.get("/healthz", response_model=HealthOut, response_model_exclude_none=True,
            summary="Whether the service is up; the queue's counts for an instructor")
def health(request: Request) -> HealthOut:
    """Why the counts are not for everyone: the number of attempts done and waiting tells
    an outsider how busy the class is and, watched, when someone submitted."""
    if not request.app.state.settings.public_health_counts and not _instructor(request):
        return HealthOut(status="ok")
    with db.reading(request.app.state.engine) as connection:
        counts = queue.counts(connection)
    return HealthOut(status="ok", **counts)


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """The API described from its own schema, as a page with nothing from elsewhere (the
    usual Swagger UI is loaded from a CDN, which the policy forbids)."""
    schema = request.app.openapi()
    operations = [(path, method.upper(), operation)
                  for path, methods in schema.get("paths", {}).items()
                  for method, operation in methods.items()]
    return web.page(request, "service/apidocs.html.j2", operations=operations,
                    title=schema["info"]["title"], version=schema["info"]["version"],
                    description=schema["info"].get("description", ""))
