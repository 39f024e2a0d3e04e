"""schemathesis against the service's own OpenAPI schema (/openapi.json), on both
databases: for every operation, generated requests — valid and invalid, with a student's
token, with none — never get a 5xx, and every response (errors included) has a documented
status, content type and body shape.

One of schemathesis's default checks is left out: positive_data_acceptance ("schema-valid
data must be accepted"). The schema says an upload is a file; that it must be a notebook
or a module with a code cell cannot be said in OpenAPI, so a valid-per-schema random file
is rightly refused (415/422) — exactly what test_service_api.py checks case by case.

The people's pages and forms (student pages, login, the instructor's) are left out of
/openapi.json on purpose: that schema is the API's public contract, shown at /docs, and
pages are no API. Their test builds a schema of its own from the same app's routes, every
route included (`every_route_schema`), and asks only that nothing answers 5xx: pages
document no statuses. It calls them as nobody, as a signed-in student and as the
instructor, with the session's real CSRF token and its own Origin in every form (so the
forms run past their CSRF check), and now and then with the course's real names and ids
in the path (so the instructor's pages reach past their 404).
"""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_fixtures import Course, as_instructor, as_student, client, csrf_of, module

EXAMPLES = 20
PAGE_EXAMPLES = 6  # per page and identity: ~25 pages, 3 identities, two databases


def test_no_request_gets_a_5xx_and_every_answer_matches_the_schema(course: Course) -> None:
    app = course.app(uploads_per_minute=0)
    from service_fixtures import client

    seeded = client(app).post("/api/v1/submissions", headers=course.headers("ada"),
                              files={"file": ("sol.py", module())})
    assert seeded.status_code == 202  # so that ids 1 exist: one ada's, none of bo's
    course.grade_queued()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /api/v1/submissions",
                                               "GET /attempts/{attempt_id}/report"}
    identities = [course.headers("ada"), course.headers("bo"), None,
                  {"Authorization": "Bearer forged"}]
    left_out = [schemathesis.checks.positive_data_acceptance]
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            for headers in identities:
                case.call_and_validate(headers=headers, excluded_checks=left_out)

        check()


def every_route_schema(app: Any) -> dict[str, Any]:
    """The app's OpenAPI schema with the routes it leaves out of /openapi.json put in:
    for this test only, so the public schema and /docs stay the API's. Made from the
    routers create_app includes (the app's own route list nests them, by FastAPI version)."""
    from grader.service import api, instructor, pages

    routes = []
    for router in (api.router, pages.router, instructor.router):
        for route in router.routes:
            if isinstance(route, APIRoute):
                route = copy.copy(route)
                route.include_in_schema = True
            routes.append(route)
    return get_openapi(title=app.title, version=app.version, routes=routes)


def identity(browser: Any, page: str) -> dict[str, Any]:
    """The headers a signed-in browser sends, and the CSRF token its forms carry."""
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in browser.cookies.jar)
    return {"headers": {"Cookie": cookies, "Origin": "http://testserver"},
            "csrf": csrf_of(browser.get(page).text)}


def test_no_page_or_form_gets_a_5xx(course: Course) -> None:
    app = course.app(uploads_per_minute=0)
    seeded = client(app).post("/api/v1/submissions", headers=course.headers("bo"),
                              files={"file": ("sol.py", module())})
    assert seeded.status_code == 202  # attempt 1, bo's, graded: reports exist
    course.grade_queued()
    known = {"name": "hw1", "student": "bo", "attempt_id": 1, "view": "report",
             "token": course.tokens["ada"], "page": "index.html", "file": "results.csv"}
    public = {op.label for op in
              (r.ok() for r in schemathesis.openapi.from_asgi("/openapi.json", app)
               .get_all_operations())}
    schema = schemathesis.openapi.from_dict(every_route_schema(app))
    schema.app = app
    operations = [r.ok() for r in schema.get_all_operations()]
    pages = [op for op in operations if op.label not in public]
    assert {op.label for op in pages} >= {"POST /me/submissions", "POST /login",
                                          "POST /instructor/assignments/{name}/regrade",
                                          "GET /instructor/assignments/{name}"}
    assert not public & {op.label for op in pages}
    identities = [{"headers": {}, "csrf": None},
                  identity(as_student(app, course.tokens["ada"]), "/me"),
                  identity(as_instructor(app), "/instructor")]
    seen: dict[str, set[int]] = {}
    for operation in pages:

        @settings(max_examples=PAGE_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), real_names=st.booleans())
        def check(case: schemathesis.Case, real_names: bool) -> None:
            if real_names:
                case.path_parameters = {key: known.get(key, value) for key, value
                                        in (case.path_parameters or {}).items()}
            for who in identities:
                if isinstance(case.body, dict) and "csrf" in case.body and who["csrf"] \
                        and case.path != "/logout":  # logging out would end the session
                    case.body["csrf"] = who["csrf"]
                answer = case.call_and_validate(
                    headers=who["headers"], checks=[schemathesis.checks.not_a_server_error])
                seen.setdefault(case.operation.label, set()).add(answer.status_code)

        check()
    # the forms ran past their CSRF check: a file judged, a regrade asked for
    assert seen["POST /me/submissions"] - {401, 403}, seen["POST /me/submissions"]
    assert seen["POST /instructor/assignments/{name}/regrade"] - {401, 403, 404, 422}, seen
