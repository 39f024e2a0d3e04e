"""schemathesis against the service's own OpenAPI schema (/openapi.json), on both
databases: for every operation, generated requests — valid and invalid, with a student's
token, with none — never get a 5xx, and every response (errors included) has a documented
status, content type and body shape.

One of schemathesis's default checks is left out: positive_data_acceptance ("schema-valid
data must be accepted"). The schema says an upload is a file; that it must be a notebook
or a module with a code cell cannot be said in OpenAPI, so a valid-per-schema random file
is rightly refused (415/422) — exactly what test_service_api.py checks case by case.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from service_fixtures import Course, module

EXAMPLES = 20


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
