"""The web application: `create_app(settings, engine)` builds it; server.py runs it.

Pure-ASGI layers wrap every route, outermost first:
* AccessLog — one line per request: method, path, status, milliseconds. Never a query
  string, never a header, and the token of a personal link (/s/<token>) is written as
  /s/…: tokens and passwords never reach a log. Control characters a request put in the
  path are escaped by the log's formatter (logs.py), as in every other record.
* SecurityHeaders — a Content-Security-Policy on every response that allows no request
  to any other site (a route may set a stricter one: reports keep their own), nosniff,
  no Referer (a link's token must not leak to anything a page links to), no framing,
  no caching of what a route did not say may be cached.
* Crashes — an unexpected exception becomes a 500 here, inside the two layers above, so
  it carries the security headers and is logged with its status (Starlette's own
  handler of last resort sits outside every middleware: no headers, logged as 0).
* AuthFirst — a body that may be larger than a form (chunked, or over SMALL_BODY) is
  read only for someone the headers identify (a valid bearer token or a live session):
  otherwise 401 and the connection closed, before a byte of it is read.
* BodyLimit — a body larger than the upload limit is refused with 413 before it is
  read (Content-Length) or as soon as it passes the limit (chunked), whatever the route
  would have answered once its parser failed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader import __version__
from grader.service import web
from grader.service.storage import Storage

ACCESS = logging.getLogger("grader.service.access")
LOG = logging.getLogger("grader.service")
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the other fields of an upload
SMALL_BODY = 64 * 1024  # a login or other form: read without an identity (AuthFirst)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"), (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


def redacted(path: str) -> str:
    if path.startswith("/s/"):
        return "/s/…"
    return path if len(path) <= 200 else path[:200] + "…"


class _HttpOnly:
    """An ASGI middleware that acts on HTTP requests and passes anything else through
    (lifespan, websocket) untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise NotImplementedError


class AccessLog(_HttpOnly):
    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started, status = time.perf_counter(), [0]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method, path = scope.get("method"), redacted(scope.get("path", ""))
            milliseconds = round(1000 * (time.perf_counter() - started))
            ACCESS.info("%s %s %s %d ms", method, path, status[0], milliseconds,
                        extra={"method": method, "path": path, "status": status[0],
                               "duration_ms": milliseconds})


class SecurityHeaders(_HttpOnly):
    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", web.PAGE_CSP.encode()))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


class Crashes(_HttpOnly):
    """The 500 of an unexpected exception, answered inside SecurityHeaders and AccessLog."""

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = [False]

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            request = Request(scope, receive)
            LOG.exception("internal error on %s %s", request.method,
                          redacted(request.url.path))
            if started[0]:
                return  # too late for a status: uvicorn closes the connection
            if web.wants_json(request):
                response: Response = JSONResponse(web.error_body(500, "internal error"),
                                                  status_code=500)
            else:
                response = web.error_response(request, 500, "internal error; the "
                                              "instructor's log has the details")
            await response(scope, receive, send)


class AuthFirst(_HttpOnly):
    """No large body from someone the headers do not identify (module docstring)."""

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if not _large_body(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        refusal = await run_in_threadpool(_refusal, request)
        if refusal is not None:
            response = web.error_response(request, refusal.status, refusal.detail,
                                          {**refusal.headers, "Connection": "close"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _large_body(scope: dict[str, Any]) -> bool:
    """Whether the request may carry more than a form's worth of body."""
    headers = dict(scope.get("headers", []))
    if b"transfer-encoding" in headers:
        return True
    length = headers.get(b"content-length")
    if length is None:
        return False
    try:  # an empty or non-numeric length cannot be read: an identity first
        return int(length) > SMALL_BODY
    except ValueError:
        return True


def _refusal(request: Request) -> web.Problem | None:
    """Why the headers alone do not allow this body to be read, or None: they must name a
    student (bearer token, link session) or an instructor (session), and a cookie request
    that changes something must come from our own pages (web.same_origin; its token may
    be in the form, so the route checks that). Checked before the body, in a thread (the
    database is asked)."""
    cookie_only = "authorization" not in request.headers
    if cookie_only and request.method not in web.SAFE_METHODS and not web.same_origin(request):
        return web.Problem(403, "this request was sent from another site")
    try:
        web.student(request)
        return None
    except web.Problem:
        if web.session(request) is not None:
            return None
    return web.Problem(401, "sign in first: an upload needs your personal link's session or "
                       "'Authorization: Bearer <your token>'", {"WWW-Authenticate": "Bearer"})


class _BodyTooLarge(Exception):
    pass


class BodyLimit(_HttpOnly):
    def __init__(self, app: Any, limit: int) -> None:
        super().__init__(app)
        self.limit = limit

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", []))
        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        if declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen, started, over = [0], [False], [False]

        async def receiving() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > self.limit:
                    over[0] = True
                    raise _BodyTooLarge
            return message  # type: ignore[no-any-return]

        async def sending(message: dict[str, Any]) -> None:
            if over[0] and not started[0]:
                return  # the route's answer to its parser's failure (a 400): ours instead
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except Exception:
            if not over[0]:  # a route may re-raise our signal as something else
                raise
        if over[0] and not started[0]:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        detail = f"the request is larger than the {self.limit / 2**20:.0f} MB this service " \
                 "accepts"
        request = Request(scope, receive)
        response = web.error_response(request, 413, detail, {"Connection": "close"})
        await response(scope, receive, send)


def create_app(settings: web.Settings, engine: Engine) -> FastAPI:
    from grader.reports import environment
    from grader.service import api, instructor, pages, ratelimit
    from grader.service.lti import routes as lti_routes

    app = FastAPI(title="Grading service", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json",
                  description="Submit a notebook or module, follow its grading, read the "
                  "report. Students authenticate with `Authorization: Bearer <token>` "
                  "(the token of their personal link).")
    app.state.settings, app.state.engine = settings, engine
    app.state.storage = Storage(settings.root / "uploads")
    app.state.templates = environment()
    app.state.upload_limiter = ratelimit.SlidingWindow(settings.uploads_per_minute, 60)
    app.state.reports = {}
    _errors(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(instructor.router)
    app.include_router(lti_routes.router)
    app.add_middleware(BodyLimit, limit=settings.upload_limit + FORM_OVERHEAD)
    app.add_middleware(AuthFirst)
    app.add_middleware(Crashes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(web.Problem)
    async def problem(request: Request, exc: web.Problem) -> Response:
        return web.error_response(request, exc.status, exc.detail, exc.headers)

    @app.exception_handler(web.LoginRequired)
    async def login(request: Request, _: web.LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and detail == "Not Found":
            detail = "there is nothing at this address"
        return web.error_response(request, exc.status_code, detail,
                                  dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return web.error_response(request, 422, "; ".join(problems) or "invalid request")

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        LOG.error("database error on %s: %s", redacted(request.url.path),
                  str(getattr(exc, "orig", exc)).splitlines()[0][:200])
        return web.error_response(request, 503, "the service is busy; try again in a moment",
                                  {"Retry-After": "5"})
