"""What every route of the web tier shares: settings, the page renderer, errors as JSON
or HTML, who is asking (bearer token, student session, instructor session), the CSRF
check of every form, and cookies.

Why errors are decided here: every failure must reach the browser or the script as a
clear message with the right status (400/401/403/404/409/413/415/422/429), never as a
500; API paths (/api/…) and clients that ask for JSON get {"status", "error", "detail"},
people get a page.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment

from grader.service import auth
from grader.service.uploads import DEFAULT_LIMIT

PAGE_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")
FRAME_RULES = "; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


@dataclass(frozen=True)
class Settings:
    root: Path
    base_url: str
    upload_limit: int = DEFAULT_LIMIT
    secure_cookies: bool = False  # also Secure whenever the request came over https
    uploads_per_minute: int = 10  # per student and assignment, in the web process
    logins_per_minute: int = 10  # per instructor name


class Problem(Exception):
    """An error to answer with `status` and one line; HTML or JSON as the client wants."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class LoginRequired(Exception):
    """An instructor page without an instructor session: people go to /login."""


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path == "/healthz" \
            or "authorization" in request.headers:  # a script, not a person
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_body(status: int, detail: str) -> dict[str, Any]:
    return {"status": status, "error": HTTPStatus(status).phrase, "detail": detail}


def error_response(request: Request, status: int, detail: str,
                   headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        return JSONResponse(error_body(status, detail), status_code=status, headers=headers)
    page = render(request, "service/error.html.j2", status=status,
                  phrase=HTTPStatus(status).phrase, detail=detail)
    return HTMLResponse(page, status_code=status, headers=headers)


def environment(request: Request) -> Environment:
    return request.app.state.templates  # type: ignore[no-any-return]


def render(request: Request, template: str, **values: Any) -> str:
    session = getattr(request.state, "session", None)
    return environment(request).get_template(template).render(
        request_path=request.url.path, session=session, **values)


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(render(request, template, **values), status_code=status,
                        headers={"Cache-Control": "no-store"})


def report_response(document: str) -> HTMLResponse:
    """A report or summary served as the self-contained file it is, under its own policy
    (the one in its meta tag) plus the rules a meta tag cannot carry."""
    found = _META_CSP.search(document)
    policy = html.unescape(found.group(1)) if found else "default-src 'none'"
    return HTMLResponse(document, headers={"Content-Security-Policy": policy + FRAME_RULES,
                                           "Cache-Control": "no-store"})


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Problem(401, "the Authorization header must be 'Bearer <your token>'",
                      {"WWW-Authenticate": "Bearer"})
    return value.strip()


def session(request: Request) -> auth.Session | None:
    if not hasattr(request.state, "session"):
        request.state.session = auth.session_for(request.app.state.engine,
                                                 request.cookies.get(auth.SESSION_COOKIE))
    return request.state.session  # type: ignore[no-any-return]


def student(request: Request) -> auth.Student:
    """The student asking: by bearer token (scripts, `grader submit`) or by the session
    their link started (the browser). 401 otherwise."""
    token = bearer(request)
    if token is not None:
        found = auth.student_for_token(request.app.state.engine, token)
        if found is None:
            raise Problem(401, "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
        return found
    current = session(request)
    if current is not None and current.student is not None:
        return current.student
    raise Problem(401, "sign in with your personal link, or send 'Authorization: Bearer "
                       "<your token>'", {"WWW-Authenticate": "Bearer"})


def instructor(request: Request) -> auth.Session:
    current = session(request)
    if current is None or current.kind != "instructor":
        if wants_json(request):
            raise Problem(401, "instructors only: log in first")
        raise LoginRequired()
    return current


def check_form(request: Request, form: Any, current: auth.Session | None) -> None:
    """Every form's CSRF defence: the request comes from our own pages (Origin, when the
    browser sends it) and carries the session's token, or before a session the token
    that was double-submitted as a cookie."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise Problem(403, "this form was sent from another site")
    sent = form.get("csrf") if form is not None else None
    expected = current.csrf if current is not None else request.cookies.get(auth.CSRF_COOKIE)
    if not isinstance(sent, str) or not auth.same(sent, expected):
        raise Problem(403, "the form has expired or did not come from this site; reload "
                           "the page and try again")


def secure(request: Request) -> bool:
    return bool(request.app.state.settings.secure_cookies) or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict", secure=secure(request))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.set_cookie(name, "", max_age=0, path="/", httponly=True, samesite="strict",
                        secure=secure(request))


def form_page(request: Request, template: str, status: int = 200,
              **values: Any) -> HTMLResponse:
    """A page whose form is shown before there is a session (login, a student's link):
    its CSRF token is double-submitted, in a cookie and in the form."""
    token = request.cookies.get(auth.CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, template, status, csrf=token, **values)
    set_cookie(request, response, auth.CSRF_COOKIE, token, 3600)
    return response
