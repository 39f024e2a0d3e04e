"""The LTI pieces without a platform: `grader serve lti` registers a platform and prints
the URLs an LMS asks for; the tool's key set keeps a rotated key published for its grace
period; a nonce is good once; and the claims of a launch, whatever an LMS puts in them,
are read without an error other than the refusal of a launch (Hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_fixtures import PASSWORD

from grader.cli import main
from grader.service import courses, db
from grader.service.lti import adapter, keys, launch, platforms


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    courses.init(root, "prof", PASSWORD, None, "https://grader.example.edu")
    return root


def test_add_platform_registers_it_and_prints_the_tools_urls(folder: Path, capsys: Any) -> None:
    argv = ["serve", "lti", "add-platform", "--dir", str(folder),
            "--issuer", "https://moodle.example.edu", "--client-id", "abc123",
            "--auth-login-url", "https://moodle.example.edu/mod/lti/auth.php",
            "--auth-token-url", "https://moodle.example.edu/mod/lti/token.php",
            "--key-set-url", "https://moodle.example.edu/mod/lti/certs.php",
            "--deployment-id", "7", "--name", "Moodle"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "registered platform https://moodle.example.edu (client id abc123; " \
        "deployments: 7)" in out
    for line in ("Tool URL / redirect URI / launch: https://grader.example.edu/lti/launch",
                 "Initiate login URL: https://grader.example.edu/lti/login",
                 "Public keyset URL: https://grader.example.edu/lti/jwks"):
        assert line in out
    assert main([*argv[:-4], "--deployment-id", "8"]) == 0  # a second deployment
    assert "updated platform" in capsys.readouterr().out
    assert main(["serve", "lti", "list", "--dir", str(folder)]) == 0
    assert "deployments 7, 8" in capsys.readouterr().out
    bad = [*argv]
    bad[bad.index("--key-set-url") + 1] = "certs.php"
    assert main(bad) == 2
    assert "--key-set-url 'certs.php' is not an http(s) URL" in capsys.readouterr().err


def test_a_rotated_key_stays_published_for_its_grace_period(folder: Path, capsys: Any) -> None:
    _, engine = courses.open_service(folder)
    try:
        first = keys.signing_key(engine).kid
        assert [k["kid"] for k in keys.jwks(engine)["keys"]] == [first]
        assert main(["serve", "lti", "rotate-key", "--dir", str(folder)]) == 0
        assert "stay published for 7 days" in capsys.readouterr().out
        second = keys.signing_key(engine).kid
        assert second != first
        assert [k["kid"] for k in keys.jwks(engine)["keys"]] == [second, first]
        with db.writing(engine) as connection:  # the grace period is over
            connection.execute(db.lti_keys.update().where(db.lti_keys.c.kid == first)
                               .values(retired_at="2000-01-01T00:00:00.000Z"))
        published = keys.jwks(engine)["keys"]
        assert [k["kid"] for k in published] == [second]
        assert set(published[0]) >= {"kty", "n", "e", "kid", "alg", "use"}
        assert "d" not in published[0]  # never the private part
    finally:
        engine.dispose()


def test_a_nonce_is_good_once(folder: Path) -> None:
    _, engine = courses.open_service(folder)
    try:
        storage = adapter.DatabaseStorage(engine)
        storage.set_value("lti1p3-nonce-abc", True, 600)
        assert storage.check_value("lti1p3-nonce-abc") is True
        assert storage.check_value("lti1p3-nonce-abc") is False
        assert storage.check_value("lti1p3-nonce-never-made") is False
    finally:
        engine.dispose()


PLATFORM = platforms.Platform(1, "https://lms.example", "c", "https://lms.example/a",
                              "https://lms.example/t", "https://lms.example/k", None, ("d",))
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=10)
CLAIMS = [launch.CLAIM + name for name in ("context", "resource_link", "custom", "roles",
                                           "message_type", "deployment_id")] + \
    [launch.AGS_CLAIM, launch.NRPS_CLAIM, "name", "given_name", "family_name", "email"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sub=st.text(min_size=1, max_size=300) | st.integers(),
       claims=st.dictionaries(st.sampled_from(CLAIMS), JSON, max_size=len(CLAIMS)))
def test_any_claims_are_read_into_bounded_text(sub: object, claims: dict[str, Any]) -> None:
    if not str(sub).strip():
        with pytest.raises(ValueError, match="names no user"):  # refused, as a bad launch
            launch.read(PLATFORM, {"sub": sub, **claims})
        return
    found = launch.read(PLATFORM, {"sub": sub, **claims})
    assert 0 < len(found.sub) <= 255 and len(found.name) <= 1000
    for value in (found.resource_link_id, found.context_id, found.assignment_name):
        assert value is None or (isinstance(value, str) and 0 < len(value) <= 255)
    for value in (found.lineitem_url, found.lineitems_url, found.memberships_url):
        assert value is None or (isinstance(value, str) and len(value) <= 2000)
    assert all(isinstance(scope, str) for scope in found.ags_scopes)
    assert isinstance(found.staff, bool)


@given(st.text(max_size=400) | st.binary(max_size=300).map(lambda b: b.hex()))
def test_unverified_claims_of_any_text_are_a_dict(text: str) -> None:
    assert isinstance(adapter.unverified_claims(text), dict)


@pytest.mark.parametrize(("roles", "staff"), [
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"], True),
    (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], False),
    # a faculty member enrolled as a learner is a learner in this course
    (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",
      "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], False),
    ("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor", False),  # not a list
    ([], False),
])
def test_only_course_staff_roles_open_the_instructors_pages(roles: object, staff: bool) -> None:
    assert launch.is_staff(roles) is staff


def test_the_tool_config_names_the_platform_and_the_tools_key(folder: Path) -> None:
    _, engine = courses.open_service(folder)
    try:
        config = platforms.tool_config(engine, PLATFORM)
        registration = config.find_registration_by_issuer(PLATFORM.issuer)
        assert registration.get_client_id() == "c"
        assert registration.get_kid() == keys.signing_key(engine).kid
        assert json.loads(json.dumps(registration.get_jwks()))[0]["kid"] == \
            keys.signing_key(engine).kid
    finally:
        engine.dispose()


FIELD = st.text(max_size=60) | st.sampled_from(["https://lms.example", "c", "d", "x.y.z"])


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(["/lti/login", "/lti/launch", "/lti/register"]),
       method=st.sampled_from(["GET", "POST"]),
       fields=st.dictionaries(st.sampled_from(["iss", "login_hint", "client_id", "id_token",
                                               "state", "target_link_uri", "secret",
                                               "openid_configuration", "lti_message_hint"]),
                              FIELD, max_size=6))
def test_what_anyone_sends_the_lti_routes_is_answered_never_a_500(
        tmp_path_factory: pytest.TempPathFactory, route: str, method: str,
        fields: dict[str, str]) -> None:
    from fastapi.testclient import TestClient

    from grader.service import web
    from grader.service.app import create_app

    app = _APPS.get("app")
    if app is None:
        root = tmp_path_factory.mktemp("lti-fuzz") / "course"
        courses.init(root, "prof", PASSWORD, None, "http://testserver")
        _, engine = courses.open_service(root)
        platforms.add(engine, "https://lms.example", "c", "https://lms.example/a",
                      "https://lms.example/t", "https://127.0.0.1:9/k", ["d"])
        app = _APPS["app"] = create_app(web.Settings(root=root, base_url="http://testserver"),
                                        engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.request(method, route, params=fields if method == "GET" else None,
                                data=fields if method == "POST" else None,
                                follow_redirects=False)
    assert answer.status_code < 500 or answer.status_code == 503, (route, fields)
    assert answer.status_code in (302, 400, 401, 403, 405, 409), (route, answer.text[-400:])


_APPS: dict[str, Any] = {}
