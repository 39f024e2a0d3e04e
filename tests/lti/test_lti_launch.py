"""LTI 1.3 launches from a real platform (devtools/lti_platform.py, on lti1p3platform):
a student lands on their page signed in, an instructor on the dashboard, and every
forged or replayed launch is refused with a page that says why, storing nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from lti_fixtures import ASSIGNMENT, Browser, Lms, begin, launch, post, upload

STUDENT, OTHER, TEACHER = "student-1", "student-2", "instructor-1"


@pytest.fixture
def browser() -> Iterator[Browser]:
    made = Browser()
    yield made
    made.close()


def test_a_student_lands_on_their_assignment_signed_in(lms: Lms, browser: Browser) -> None:
    page = launch(browser, lms.platform.launch_url(STUDENT, lms.link))
    assert page.status_code == 200 and str(page.url) == f"{lms.tool}/me"
    assert "Ada Lovelace" in page.text and "Happy or sad" in page.text
    assert "sent to your course's gradebook" in page.text
    # the student is who the LMS said, enrolled in the link's assignment
    from grader.service import db

    with lms.engine.connect() as connection:
        row = connection.execute(
            db.students.select().join(db.lti_users,
                                      db.lti_users.c.student_id == db.students.c.id)
            .where(db.lti_users.c.sub == STUDENT)).one()
    assert row.name == "Ada Lovelace" and row.student == "ada"  # from ada@example.edu


def test_a_second_launch_is_the_same_student_and_cannot_see_anothers_attempt(
        lms: Lms, browser: Browser) -> None:
    launch(browser, lms.platform.launch_url(STUDENT, lms.link))
    attempt = upload(browser, lms.tool)
    again = Browser()
    try:
        launch(again, lms.platform.launch_url(STUDENT, lms.link))
        assert again.get(f"{lms.tool}/me/attempts/{attempt}").status_code == 200
    finally:
        again.close()
    other = Browser()
    try:
        launch(other, lms.platform.launch_url(OTHER, lms.link))
        for path in (f"/me/attempts/{attempt}", f"/attempts/{attempt}/report"):
            assert other.get(lms.tool + path).status_code in (403, 404), path
        assert "mine.py" not in other.get(f"{lms.tool}/me").text
    finally:
        other.close()


def test_an_instructor_lands_on_the_dashboard_and_a_student_cannot_reach_it(
        lms: Lms, browser: Browser) -> None:
    page = launch(browser, lms.platform.launch_url(TEACHER, lms.link))
    assert str(page.url) == f"{lms.tool}/instructor/assignments/{ASSIGNMENT}"
    assert "Grace Hopper (LMS)" in page.text
    student = Browser()
    try:
        launch(student, lms.platform.launch_url(STUDENT, lms.link))
        for path in ("/instructor", f"/instructor/assignments/{ASSIGNMENT}",
                     f"/instructor/assignments/{ASSIGNMENT}/summary/exports/grades.csv"):
            answer = student.get(lms.tool + path)
            assert answer.status_code in (303, 401) and "Ada" not in answer.text, path
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login")
    finally:
        student.close()


def _forged(lms: Lms, form_nonce: str, key: str = "current", **changes: object) -> str:
    claims = lms.platform.launch_claims(STUDENT, lms.link, form_nonce)
    claims.update(changes)
    return lms.platform.sign({k: v for k, v in claims.items() if v is not None}, key=key)


def _refused(lms: Lms, browser: Browser, make_token: Callable[[str], str], reason: str
             ) -> None:
    """A launch whose id_token `make_token(nonce)` makes is refused for `reason`, with no
    session given and no row stored."""
    form = begin(browser, lms.platform.launch_url(STUDENT, lms.link))
    before = lms.counts()
    answer = post(browser, form, id_token=make_token(form.nonce))
    assert answer.status_code == 401, answer.text
    assert "launch was refused" in answer.text and reason in answer.text, answer.text
    assert "grader_session" not in answer.headers.get("set-cookie", "")
    assert lms.counts() == before


def _unsigned(lms: Lms, nonce: str) -> str:
    import jwt

    claims = lms.platform.launch_claims(STUDENT, lms.link, nonce)
    return jwt.encode(claims, key=None, algorithm="none",
                      headers={"kid": lms.platform.state()["kid"]})


DEPLOYMENT = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
FORGERIES: dict[str, tuple[Callable[[Lms, str], str], str]] = {
    "signed by a key the LMS never published": (
        lambda lms, nonce: _forged(lms, nonce, key="throwaway"),
        "not signed by a key your LMS publishes"),
    "alg none": (_unsigned, "not signed by a key your LMS publishes"),
    "expired": (lambda lms, nonce: _forged(lms, nonce, exp=int(time.time()) - 120,
                                           iat=int(time.time()) - 600),
                "signature or dates do not check out"),
    "wrong audience": (lambda lms, nonce: _forged(lms, nonce, aud="another-tool",
                                                  azp="another-tool"),
                       "meant for another tool"),
    "unknown deployment": (lambda lms, nonce: _forged(lms, nonce,
                                                      **{DEPLOYMENT: "deployment-9"}),
                           "deployment of the tool is not registered"),
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_a_forged_launch_is_refused_and_stores_nothing(lms: Lms, browser: Browser,
                                                       case: str) -> None:
    make, reason = FORGERIES[case]
    _refused(lms, browser, lambda nonce: make(lms, nonce), reason)


def test_a_launch_posted_from_another_browser_is_refused(lms: Lms, browser: Browser) -> None:
    """The genuine token, posted by a browser that did not begin the login (login CSRF:
    someone else's launch planted in a victim's browser)."""
    form = begin(browser, lms.platform.launch_url(STUDENT, lms.link))
    stranger = Browser()
    before = lms.counts()
    try:
        answer = post(stranger, form)
    finally:
        stranger.close()
    assert answer.status_code == 401 and "did not start in this browser" in answer.text
    assert lms.counts() == before


def test_a_replayed_launch_is_refused(lms: Lms, browser: Browser) -> None:
    form = begin(browser, lms.platform.launch_url(STUDENT, lms.link))
    assert post(browser, form).status_code == 200
    before = lms.counts()
    again = post(browser, form)
    assert again.status_code == 401 and "already used once" in again.text, again.text
    assert lms.counts() == before


def test_an_unregistered_platform_is_refused(lms: Lms, browser: Browser) -> None:
    answer = browser.get(f"{lms.tool}/lti/login", params={
        "iss": "https://lms.elsewhere.example", "login_hint": "x",
        "target_link_uri": f"{lms.tool}/lti/launch"})
    assert answer.status_code == 400 and "is not registered" in answer.text


def test_a_platform_key_rotation_mid_term(lms: Lms, browser: Browser) -> None:
    """After the platform rotates its key, launches signed by the new key are taken (the
    tool fetches the key set again) and a token signed by the retired key is not."""
    launch(browser, lms.platform.launch_url(STUDENT, lms.link))  # the old key is cached
    lms.platform.rotate_key(keep_old=False)
    page = launch(Browser(), lms.platform.launch_url(STUDENT, lms.link))
    assert str(page.url) == f"{lms.tool}/me"
    _refused(lms, browser, lambda nonce: _forged(lms, nonce, key="old"),
             "not signed by a key your LMS publishes")
