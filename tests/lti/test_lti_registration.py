"""LTI Dynamic Registration against a real platform: the administrator's one-time URL,
opened with the platform's OpenID configuration, registers the tool there and the
platform here; launches work at once; the URL works once, and without it nothing is
registered (a stranger cannot make their own "LMS" sign people in)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from lti_fixtures import Browser, Lms, launch, served_lms

from grader.service.lti import platforms, registration


@pytest.fixture(scope="module")
def unregistered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lms]:
    with served_lms(tmp_path_factory.mktemp("lti-reg"), register=False) as served:
        yield served


def _open(lms: Lms, secret: str) -> tuple[int, str, str]:
    browser = Browser()
    try:
        answer = browser.get(f"{lms.tool}/lti/register", params={
            "secret": secret, **lms.platform.registration_query()})
    finally:
        browser.close()
    return answer.status_code, answer.text, answer.headers.get("content-security-policy", "")


def test_a_stranger_cannot_register_a_platform(unregistered: Lms) -> None:
    for secret in ("", "guessed", "x" * 500):
        status, text, _ = _open(unregistered, secret)
        assert status == 403 and "registration address is not valid" in text
    assert platforms.all_platforms(unregistered.engine) == []
    assert unregistered.platform.state()["tool_registrations"] == []


def test_the_administrators_url_registers_the_tool_once(unregistered: Lms) -> None:
    lms = unregistered
    url = registration.new_url(lms.engine, lms.tool)
    secret = parse_qs(urlsplit(url).query)["secret"][0]
    status, text, policy = _open(lms, secret)
    assert status == 200, text
    assert "Registered with grader-test-lms" in text and "deployment deployment-1" in text
    assert f"frame-ancestors {lms.platform.url}" in policy  # the LMS may frame this page
    assert "/static/lti-close.js" in text
    sent = lms.platform.state()["tool_registrations"]
    assert len(sent) == 1 and sent[0]["redirect_uris"] == [f"{lms.tool}/lti/launch"]
    assert sent[0]["scope"].split() == list(registration.SCOPES)
    [platform] = platforms.all_platforms(lms.engine)
    assert (platform.issuer, platform.client_id, platform.deployments) == \
        (lms.platform.issuer, lms.platform.client_id, (lms.platform.deployment_id,))
    assert platform.auth_login_url == lms.platform.auth_login_url
    assert platform.key_set_url == lms.platform.key_set_url
    status, text, _ = _open(lms, secret)  # the same URL again
    assert status == 403 and "used already" in text
    page = launch(Browser(), lms.platform.launch_url("student-1", lms.link))
    assert str(page.url) == f"{lms.tool}/me" and "Ada Lovelace" in page.text


def test_a_platform_registered_without_a_deployment_takes_its_first_signed_one(
        unregistered: Lms) -> None:
    """Canvas makes the deployment after the registration: the first launch the platform
    signs names it, and it is the platform's only deployment from then on."""
    from grader.service import db

    lms = unregistered
    platform, _ = platforms.add(lms.engine, lms.platform.issuer, lms.platform.client_id,
                                lms.platform.auth_login_url, lms.platform.auth_token_url,
                                lms.platform.key_set_url, [], deployment_required=False)
    with db.writing(lms.engine) as connection:  # as if registered without one
        connection.execute(db.lti_deployments.delete().where(
            db.lti_deployments.c.platform_id == platform.id))
    page = launch(Browser(), lms.platform.launch_url("student-2", lms.link))
    assert str(page.url) == f"{lms.tool}/me"
    [found] = [p for p in platforms.all_platforms(lms.engine) if p.id == platform.id]
    assert found.deployments == (lms.platform.deployment_id,)
