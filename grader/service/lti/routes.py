"""The LTI endpoints of `grader serve`.

    GET|POST /lti/login      OIDC third-party login: the LMS starts here; we answer with
                             a redirect to its authorization endpoint (state, nonce)
    POST     /lti/launch     the LMS posts the signed id_token here: validated, then a
                             student lands on /me, an instructor on the assignment's
                             dashboard, a deep-linking request on the assignment picker
    GET      /lti/jwks       the tool's public keys (keys.py)
    GET      /lti/config     the tool's URLs, as an LMS's registration form asks them
    GET      /lti/register   dynamic registration (registration.py), with a one-time secret
    POST     /lti/links/<id> an instructor chooses the assignment a link opens

Why a launch does not answer with a redirect to /me: the launch is a cross-site POST,
and a redirect keeps that navigation cross-site, so the browser would not send the
session cookie (SameSite=Strict) to /me; a page of ours that moves on (meta refresh,
and a link) starts a same-site navigation, which does.
Why these routes skip the CSRF check of web.check_form: the LMS's POST is cross-site by
design; what authenticates it is the id_token's signature, the nonce and the state
cookie, all checked by adapter.ToolLaunch before anything is stored.
"""

from __future__ import annotations

import html
import logging
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.lineitem import LineItem
from starlette.concurrency import run_in_threadpool

from grader.service import auth, courses, db, web
from grader.service.lti import adapter, keys, launch, outbox, platforms, registration, roster

router = APIRouter(include_in_schema=False)
LOG = logging.getLogger("grader.service.lti")
RETRY = " Open the assignment again from your course; if it keeps failing, tell your " \
        "instructor."
# pylti1p3's reasons, in words a student or instructor can act on
REASONS = {
    "State not found": "this launch did not start in this browser (or took longer than "
                       "10 minutes), so it cannot be trusted.",
    "Missing state param": "the LMS sent no state with the launch.",
    "Invalid Nonce": "this launch was already used once.",
    '"nonce" is empty': "the launch has no nonce.",
    "Unable to find public key": "the launch was not signed by a key your LMS publishes.",
    "Can't decode id_token": "the launch's signature or dates do not check out.",
    "Invalid audience": "the launch was meant for another tool.",
    "Invalid authorized party": "the launch was meant for another tool.",
    "Invalid issued at": "the launch claims to come from the future.",
    "Unable to find deployment": "this deployment of the tool is not registered here.",
    "Client id not registered": "it names a client id this tool is not registered with "
                                "here (it was meant for another tool, or your LMS is not "
                                "registered with this service).",
    "Invalid id_token": "the launch is not a signed token.",
    "Invalid JWT format": "the launch is not a signed token.",
    "JWT KID not found": "the launch does not say which key signed it.",
    "JWT ALG not found": "the launch does not say how it was signed.",
    "could not read the platform's key set": "your LMS's public keys could not be read.",
}


def _refused(exc: Exception, status: int = 401) -> web.Problem:
    text = str(exc)
    reason = next((words for key, words in REASONS.items() if text.startswith(key)),
                  "it could not be verified.")
    LOG.info("LTI launch refused: %s", text[:300])
    return web.Problem(status, "Your course's launch was refused: " + reason + RETRY)


def tool_urls(base_url: str) -> dict[str, str]:
    base = base_url.rstrip("/")
    return {"login_url": f"{base}/lti/login", "launch_url": f"{base}/lti/launch",
            "redirect_uri": f"{base}/lti/launch", "jwks_url": f"{base}/lti/jwks",
            "deep_linking_url": f"{base}/lti/launch", "domain": urlsplit(base).netloc}


async def _params(request: Request) -> dict[str, str]:
    params = {k: v for k, v in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


@router.api_route("/lti/login", methods=["GET", "POST"])
async def login(request: Request) -> Response:
    params = await _params(request)
    engine = request.app.state.engine
    issuer = params.get("iss", "")
    platform = await run_in_threadpool(platforms.find, engine, issuer,
                                       params.get("client_id") or None)
    if platform is None:
        raise web.Problem(400, f"The LMS {issuer[:200]!r} is not registered with this "
                               "grading service: its administrator adds it with `grader serve "
                               "lti add-platform` (docs/lti.md).")
    cookies = adapter.StateCookies(request)
    lti_request = adapter.LtiRequest(request, params)
    urls = tool_urls(request.app.state.settings.base_url)

    def redirect() -> Response:
        config = platforms.tool_config(engine, platform)
        login = adapter.ToolLogin(lti_request, config, adapter.SessionService(lti_request),
                                  cookies, launch_data_storage=adapter.DatabaseStorage(engine))
        return login.redirect(urls["launch_url"])  # type: ignore[no-any-return]

    try:
        response = await run_in_threadpool(redirect)
    except (OIDCException, LtiException) as exc:
        raise web.Problem(400, f"The LMS's login request is incomplete: {exc}."
                               + RETRY) from None
    return cookies.apply(response)


@router.post("/lti/launch")
async def launch_endpoint(request: Request) -> Response:
    params = await _params(request)
    engine = request.app.state.engine
    claims = adapter.unverified_claims(params.get("id_token", ""))
    audience = claims.get("aud")
    client_id = audience[0] if isinstance(audience, list) and audience else audience
    platform = await run_in_threadpool(
        platforms.find, engine, str(claims.get("iss", "")),
        client_id if isinstance(client_id, str) else None)
    if platform is None:
        raise _refused(LtiException("Client id not registered"))
    cookies = adapter.StateCookies(request)
    adopting = None if platform.deployments else \
        str(claims.get(launch.CLAIM + "deployment_id") or "") or None
    config = await run_in_threadpool(platforms.tool_config, engine, platform, adopting)
    checked = adapter.ToolLaunch(adapter.LtiRequest(request, params), config, engine, cookies)
    try:
        await run_in_threadpool(checked.validate)
        entry = launch.read(platform, checked.body())
    except (LtiException, KeyError, TypeError, ValueError) as exc:
        raise _refused(exc) from None
    if adopting:  # validated: the platform itself signed this deployment id
        await run_in_threadpool(platforms.adopt_deployment, engine, platform, adopting)
    if entry.message_type == launch.DEEP_LINKING:
        if not entry.staff:
            raise web.Problem(403, "Only instructors can add this tool to a course.")
        return await run_in_threadpool(_picker, request, engine, platform, entry)
    outcome = await run_in_threadpool(launch.enter, engine, entry)
    return await _signed_in(request, engine, entry, outcome)


async def _signed_in(request: Request, engine: Any, entry: launch.Launch,
                     outcome: launch.Outcome) -> Response:
    kept = request.app.state.settings.sessions_kept
    if outcome.kind == "unassigned":
        raise web.Problem(409, "This link of your course does not open an assignment yet: "
                               "your instructor has not chosen one. Try again later.")
    if outcome.kind == "student":
        session_id, _ = await run_in_threadpool(
            auth.start_session, engine, "student", token_id=outcome.token_id, kept=kept)
        target, hours = "/me", auth.SESSION_HOURS["student"]
    else:
        session_id, _ = await run_in_threadpool(
            auth.start_session, engine, "instructor", instructor=outcome.instructor_id,
            kept=kept)
        hours = auth.SESSION_HOURS["instructor"]
        if outcome.assignment is not None:
            target = f"/instructor/assignments/{quote(outcome.assignment.name, safe='')}"
        else:
            target = f"/lti/links/{outcome.link_id}" if outcome.link_id else "/instructor"
        if entry.memberships_url:
            await run_in_threadpool(_sync_quietly, engine, entry)
    response = web.page(request, "service/lti_continue.html.j2", target=target,
                        name=entry.name)
    web.set_cookie(request, response, auth.SESSION_COOKIE, session_id, hours * 3600)
    return response


def _sync_quietly(engine: Any, entry: launch.Launch) -> None:
    """An instructor's launch syncs their course's roster; the LMS being slow or down
    never stops the instructor from reaching the dashboard (the next launch tries again)."""
    try:
        roster.sync_context(engine, entry.platform.id, entry.context_id)
    except Exception as exc:  # noqa: BLE001 - logged; the dashboard still opens
        LOG.warning("roster sync for %s failed: %s", entry.context_id, str(exc)[:300])


def _picker(request: Request, engine: Any, platform: platforms.Platform,
            entry: launch.Launch) -> Response:
    """Deep linking: one button per assignment, each a form that posts a response signed
    by the tool's key to the LMS (the assignment in its custom parameter, a grade
    column of 100 points)."""
    settings = entry.deep_linking
    return_url = settings.get("deep_link_return_url") if isinstance(settings, dict) else None
    if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
        raise web.Problem(400, "The LMS's deep-linking request has no return address.")
    registration = platforms.registration(engine, platform)
    linker = DeepLink(registration, entry.deployment_id, settings)  # type: ignore[arg-type]
    launch_url = tool_urls(request.app.state.settings.base_url)["launch_url"]
    choices = []
    for assignment in courses.assignments(engine):
        title = assignment.title or assignment.name
        resource = (DeepLinkResource().set_url(launch_url).set_title(title)
                    .set_custom_params({launch.ASSIGNMENT_PARAMETER: assignment.name})
                    .set_lineitem(LineItem().set_label(title).set_score_maximum(100)
                                  .set_resource_id(assignment.name).set_tag(outbox.TAG)))
        choices.append((assignment, linker.get_response_jwt([resource])))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(return_url))
    response = web.page(request, "service/lti_pick.html.j2", choices=choices,
                        return_url=return_url, context=entry.context_title, link=None)
    response.headers["Content-Security-Policy"] = web.PAGE_CSP.replace(
        "form-action 'self'", f"form-action 'self' {html.escape(origin)}")
    return response


@router.get("/lti/links/{link_id}")
def link_page(request: Request, link_id: int) -> Response:
    current = web.instructor(request)
    with db.reading(request.app.state.engine) as connection:
        link = connection.execute(db.lti_links.select().where(db.lti_links.c.id == link_id)
                                  ).first()
    if link is None:
        raise web.Problem(404, "no such LMS link")
    return web.page(request, "service/lti_pick.html.j2", link=link, csrf=current.csrf,
                    choices=[(a, None) for a in courses.assignments(request.app.state.engine)],
                    return_url=None, context=link.context_title)


@router.post("/lti/links/{link_id}")
def choose(request: Request, link_id: int,
           assignment: Annotated[str, Form(max_length=255)] = "",
           csrf: Annotated[str | None, Form()] = None) -> Response:
    current = web.instructor(request)
    web.check_form(request, {"csrf": csrf}, current)
    chosen = launch.assign_link(request.app.state.engine, link_id, assignment)
    if chosen is None:
        raise web.Problem(404, f"no assignment {assignment!r}")
    return RedirectResponse(f"/instructor/assignments/{quote(chosen.name, safe='')}",
                            status_code=303)


@router.get("/lti/register")
def register(request: Request, secret: str = "", openid_configuration: str = "",
             registration_token: str | None = None) -> Response:
    """Dynamic registration (registration.py), opened by the LMS in its admin's browser,
    often in a frame of its page: framing by the LMS is allowed here, and the page tells
    its opener or parent that the registration is over."""
    engine = request.app.state.engine
    if not registration.use_secret(engine, secret):
        raise web.Problem(403, "This registration address is not valid: it was mistyped, "
                               "used already or is over a day old. Print a new one with "
                               "`grader serve lti registration-url`.")
    try:
        done = registration.register(engine, openid_configuration, registration_token,
                                     tool_urls(request.app.state.settings.base_url))
    except registration.RegistrationError as exc:
        raise web.Problem(400, f"The registration failed: {exc}. Print a new address with "
                               "`grader serve lti registration-url` and try again.") from None
    response = web.page(request, "service/lti_registered.html.j2", platform=done.platform,
                        new=done.new)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(openid_configuration))
    response.headers["Content-Security-Policy"] = web.PAGE_CSP.replace(
        "frame-ancestors 'none'", f"frame-ancestors {origin}")
    return response  # (its X-Frame-Options DENY is ignored where frame-ancestors is set)


@router.get("/lti/jwks")
def jwks(request: Request) -> Response:
    return JSONResponse(keys.jwks(request.app.state.engine),
                        headers={"Cache-Control": "max-age=300"})


@router.get("/lti/config")
def config(request: Request) -> Response:
    return JSONResponse(tool_urls(request.app.state.settings.base_url))
