"""LTI Advantage against a real platform, on SQLite and on PostgreSQL: grade passback
(AGS) after every grading and regrade, delivered once even when the LMS's token endpoint
was down, never a 0 for a grader failure; the tool's key rotated; roster sync (NRPS);
deep linking (the instructor adds an assignment to the course)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from lti_fixtures import ASSIGNMENT, Browser, Lms, auto_form, gradebook, launch, upload
from service_fixtures import csrf_of

WAIT = 120.0  # seconds: generous; a busy machine is slower, never a failure


@pytest.fixture(scope="module")
def lms(lms_on_each_database: Lms) -> Lms:
    """Every test here runs on SQLite and on PostgreSQL."""
    return lms_on_each_database


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {WAIT} s: {what}")


def received(lms: Lms, user: str) -> list[dict[str, Any]]:
    return [s for s in lms.platform.state()["scores_received"] if s["userId"] == user]


def test_each_grading_and_regrade_reaches_the_lms_gradebook(lms: Lms) -> None:
    browser = Browser()
    try:
        launch(browser, lms.platform.launch_url("student-1", lms.link))
        upload(browser, lms.tool, "# fake: fail-hidden\n")  # the test hook: 80 of 100
        score = wait_for("the first score", lambda: gradebook(lms, "student-1"))
        assert (score["scoreGiven"], score["scoreMaximum"]) == (80, 100)
        assert score["gradingProgress"] == "FullyGraded"
        upload(browser, lms.tool)  # 100: the best attempt counts
        wait_for("the better score", lambda: (gradebook(lms, "student-1") or {})
                 .get("scoreGiven") == 100)
    finally:
        browser.close()
    teacher = Browser()
    try:
        page = launch(teacher, lms.platform.launch_url("instructor-1", lms.link))
        sent = len(received(lms, "student-1"))
        answer = teacher.request("POST", f"{lms.tool}/instructor/assignments/{ASSIGNMENT}"
                                 "/regrade", data={"csrf": csrf_of(page.text)})
        assert answer.status_code == 303
        wait_for("the regrade's score", lambda: len(received(lms, "student-1")) > sent)
        dashboard = teacher.get(f"{lms.tool}/instructor/assignments/{ASSIGNMENT}").text
        assert "Grades sent to the LMS" in dashboard
        assert re.search(r"100 / 100</td>\s*<td[^>]*>sent", dashboard), dashboard
    finally:
        teacher.close()


def test_scores_due_while_the_token_endpoint_is_down_arrive_once_it_is_back(
        lms: Lms) -> None:
    lms.platform.token_endpoint(down=True)
    students = {"student-2": Browser(), "student-3": Browser()}
    lms.platform.add_member("student-3", "Katherine Johnson", "kj@example.edu")
    try:
        for user, browser in students.items():
            launch(browser, lms.platform.launch_url(user, lms.link))
            upload(browser, lms.tool)
        refused_before = lms.platform.state()["token_refusals"]
        wait_for("two refused token requests",
                 lambda: lms.platform.state()["token_refusals"] >= refused_before + 2)
        assert not received(lms, "student-2") and not received(lms, "student-3")
        lms.platform.token_endpoint(down=False)
        for user in students:
            wait_for(f"{user}'s score", lambda user=user: gradebook(lms, user))
        time.sleep(3)  # a duplicate would come within the sender's next turns
        for user in students:
            assert len(received(lms, user)) == 1, received(lms, user)
            assert received(lms, user)[0]["scoreGiven"] == 100
    finally:
        lms.platform.token_endpoint(down=False)
        for browser in students.values():
            browser.close()


def test_a_grader_failure_is_sent_as_not_graded_never_as_zero(lms: Lms) -> None:
    lms.platform.add_member("student-6", "Annie Easley", "ae@example.edu")
    browser = Browser()
    try:
        launch(browser, lms.platform.launch_url("student-6", lms.link))
        upload(browser, lms.tool, "# fake: crash\n")  # the test hook fails as the grader
        [score] = wait_for("the failure's notice", lambda: received(lms, "student-6"))
    finally:
        browser.close()
    assert score["gradingProgress"] == "Failed" and score["scoreGiven"] is None
    assert "could not be graded" in score["comment"]


def test_a_tool_key_rotation_keeps_grades_flowing(lms: Lms) -> None:
    """After `grader serve lti rotate-key`, the platform meets a new kid in the tool's
    client assertion, fetches the tool's key set again and keeps taking scores."""
    from grader.service.lti import keys

    kid, _ = keys.rotate(lms.engine)
    browser = Browser()
    try:
        launch(browser, lms.platform.launch_url("student-1", lms.link))
        sent = len(received(lms, "student-1"))
        upload(browser, lms.tool)
        wait_for("a score after the rotation", lambda: len(received(lms, "student-1")) > sent)
    finally:
        browser.close()
    assert kid in [key["kid"] for key in Browser().get(f"{lms.tool}/lti/jwks").json()["keys"]]


def test_roster_sync_withdraws_who_left_and_adds_who_joined(lms: Lms) -> None:
    leaving = Browser()
    try:
        lms.platform.add_member("student-4", "Mary Jackson", "mj@example.edu")
        launch(leaving, lms.platform.launch_url("student-4", lms.link))
        assert leaving.get(f"{lms.tool}/me").status_code == 200
        lms.platform.remove_member("student-4")
        lms.platform.add_member("student-5", "Dorothy Vaughan", "dv@example.edu")
        teacher = Browser()
        try:
            dashboard = launch(teacher, lms.platform.launch_url("instructor-1", lms.link))
        finally:
            teacher.close()
        row = re.search(r"<tr>\s*<td[^>]*><a[^>]*>dv</a></td>.*?</tr>", dashboard.text, re.S)
        assert row and "Dorothy Vaughan" in row.group(0)  # listed before she ever launched
        assert "from the LMS" in row.group(0)
        assert leaving.get(f"{lms.tool}/me").status_code == 401  # her access ended
    finally:
        leaving.close()


def test_deep_linking_adds_an_assignment_to_the_course(lms: Lms) -> None:
    from grader.service import courses

    courses.add_assignment(lms.engine, "hw2", "happy-or-sad", title="Happy or sad, again")
    teacher = Browser()
    try:
        start = teacher.get(lms.platform.deep_link_url("instructor-1"))
        login = teacher.get(start.headers["location"])
        page = teacher.get(login.headers["location"])
        action, fields = auto_form(page.text)
        picker = teacher.request("POST", action, data=fields)
        assert picker.status_code == 200 and "Add which assignment" in picker.text
        policy = picker.headers["content-security-policy"]
        assert f"form-action 'self' {lms.platform.url};" in policy  # the LMS, and us
        forms = re.findall(r'<form method="post" action="([^"]+)" class="inline">\s*'
                           r'<input type="hidden" name="JWT" value="([^"]+)">\s*'
                           r'<button[^>]*>Add ([^<]+)</button>', picker.text)
        assert [title for _, _, title in forms] == ["Happy or sad", "Happy or sad, again"]
        action, jwt_value, _ = forms[1]
        added = teacher.request("POST", action, data={"JWT": jwt_value})
        assert added.status_code == 200, added.text
    finally:
        teacher.close()
    link = next(link for link in lms.platform.state()["links"]
                if link["custom"].get("assignment") == "hw2")
    student = Browser()
    try:
        page = launch(student, lms.platform.launch_url("student-1", link["id"]))
        assert "Happy or sad, again" in page.text
    finally:
        student.close()
