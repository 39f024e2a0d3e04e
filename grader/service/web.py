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
import ipaddress
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

from grader.service import auth, uploads
from grader.service.transport import Limits
from grader.service.uploads import DEFAULT_LIMIT

PAGE_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'")
FRAME_RULES = "; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # change nothing: no CSRF check
HOST_PREFIX = "__Host-"  # Secure, Path=/, no Domain: no other host can set it
_META_CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


@dataclass(frozen=True)
class Settings:
    root: Path
    base_url: str
    upload_limit: int = DEFAULT_LIMIT
    secure_cookies: bool = False  # also Secure whenever the request came over https
    uploads_per_minute: int = 10  # per student and assignment, in the web process
    logins_per_minute: int = 10  # per instructor name
    # -- login and sessions (auth.py, pages.py) --
    login_failures_per_address: int = 20  # a minute; over it: 429, nothing hashed
    login_failures_global: int = 200  # a minute, all names; over it: the delay
    login_delay: float = 3.0  # seconds before checking a name (or all) over its limit
    login_hashes: int = 1  # password checks at once in a web process (argon2 uses 4 threads)
    login_queue: int = 8  # logins waiting for a check; beyond: 503, nothing hashed
    sessions_kept: int = auth.SESSIONS_KEPT  # per instructor and per student link
    # -- fair use per student (uploads.py, api.py) --
    queued_per_student: int = uploads.DEFAULT_QUEUED  # 0: no limit
    upload_bytes_per_day: int = uploads.DEFAULT_BYTES_PER_DAY  # per student; 0: none
    public_health_counts: bool = False  # /healthz's queue counts to anyone
    # -- connections, bodies and logs (app.py, server.py) --
    header_timeout: float = Limits.header_timeout  # s for a request's line and headers
    body_timeout: float = Limits.body_timeout  # s without a byte of a body being received
    max_connections: int = Limits.max_connections  # open at once, in all (per process)
    max_connections_per_address: int = Limits.per_address  # open at once, per client
    log_format: str = "text"  # or "json" (logs.FORMATS)


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


def session_id(request: Request) -> str | None:
    """The session cookie's value, read only under the name this request's cookie is set
    with (never the unprefixed name on a secure request, where another host can set it)."""
    return request.cookies.get(cookie_name(request, auth.SESSION_COOKIE))


def session(request: Request) -> auth.Session | None:
    if not hasattr(request.state, "session"):
        request.state.session = auth.session_for(request.app.state.engine,
                                                 session_id(request))
    return request.state.session  # type: ignore[no-any-return]


def student(request: Request) -> auth.Student:
    """The student asking: by bearer token (scripts, `grader submit`) or by the session
    their link started (the browser). 401 otherwise. A session on a request that changes
    something must pass the CSRF check too (the token in an `X-CSRF-Token` header): the
    browser sends the cookie with a request another same-site page started."""
    token = bearer(request)
    if token is not None:
        found = auth.student_for_token(request.app.state.engine, token)
        if found is None:
            raise Problem(401, "unknown or revoked token", {"WWW-Authenticate": "Bearer"})
        return found
    current = session(request)
    if current is not None and current.student is not None:
        if request.method not in SAFE_METHODS:
            check_form(request, None, current)
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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: Request) -> bool:
    """Whether the browser says this request came from our own pages. `Sec-Fetch-Site`,
    when sent (browsers since 2020-2023), must be "same-origin"; `Origin`, when sent, must
    be this address (as the Host header or the configured base URL name it). "null" is
    what our own pages send (their Referrer-Policy is no-referrer), so it says nothing
    either way. A request with neither (older browsers, or no browser) passes here: the
    token decides, which another site cannot read."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() != "same-origin":
        return False
    origin = (request.headers.get("origin") or "null").strip().lower()
    if origin == "null":
        return True
    ours = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower(),
            _origin(request.app.state.settings.base_url)}
    return origin in ours


def check_form(request: Request, form: Any, current: auth.Session | None) -> None:
    """The one CSRF rule of every request that changes something and is authenticated by
    a cookie (bearer-token requests never reach here): it comes from our own pages
    (same_origin) and carries the token - the form's `csrf` field, else an
    `X-CSRF-Token` header (scripts, fetch) - which is the session's, or before a session
    the one double-submitted as a cookie."""
    if not same_origin(request):
        raise Problem(403, "this request was sent from another site")
    sent = form.get("csrf") if form is not None else None
    if not isinstance(sent, str):
        sent = request.headers.get("x-csrf-token")
    expected = current.csrf if current is not None else \
        request.cookies.get(cookie_name(request, auth.CSRF_COOKIE))
    if not isinstance(sent, str) or not auth.same(sent, expected):
        raise Problem(403, "the form has expired or did not come from this site; reload "
                           "the page and try again")


def _loopback(host: str | None) -> bool:
    """Hosts whose plain-http pages browsers treat as secure, so that they keep Secure
    cookies (Chromium 156 and Firefox >= 75 do; tests/browser checks Chromium)."""
    name = (host or "").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def secure(request: Request) -> bool:
    """Whether cookies are Secure with the `__Host-` prefix: over https, with
    --secure-cookies, and on loopback addresses (the local demo). Plain http on another
    address (a demo on a LAN) gets unprefixed cookies that browsers accept there."""
    return bool(request.app.state.settings.secure_cookies) or request.url.scheme == "https" \
        or _loopback(request.url.hostname)


def cookie_name(request: Request, name: str) -> str:
    """The one name a cookie has on this request: set under it and read only under it."""
    return HOST_PREFIX + name if secure(request) else name


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int | None) -> None:
    response.set_cookie(cookie_name(request, name), value, max_age=max_age, path="/",
                        httponly=True, samesite="strict", secure=secure(request))


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.set_cookie(cookie_name(request, name), "", max_age=0, path="/", httponly=True,
                        samesite="strict", secure=secure(request))


def form_page(request: Request, template: str, status: int = 200,
              **values: Any) -> HTMLResponse:
    """A page whose form is shown before there is a session (login, a student's link):
    its CSRF token is double-submitted, in a cookie and in the form."""
    token = request.cookies.get(cookie_name(request, auth.CSRF_COOKIE)) or \
        secrets.token_urlsafe(32)
    response = page(request, template, status, csrf=token, **values)
    set_cookie(request, response, auth.CSRF_COOKIE, token, 3600)
    return response
