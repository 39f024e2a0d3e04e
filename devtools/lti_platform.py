"""A small LTI 1.3 / LTI Advantage platform: the LMS stand-in of the LTI tests and the demo.

It lets the grader's LTI tool be launched, post grades (AGS), read the roster (NRPS) and be
placed by deep linking without a real LMS: tests/lti/platform_process.py runs it as a process,
and a person uses its home page in `make serve-demo`. NOT for production: all in memory, and
the /admin endpoints (loopback, no auth) change the course, rotate the key, take the token
endpoint down and sign forged tokens. lti1p3platform does the registration, keys and JWKS, the
id_token, the access tokens and the deep-linking response; this file the rest.

    python devtools/lti_platform.py --port 8010 --tool http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import json
import math
import secrets
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import jwt
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.responses import Response as HTTPResponse
from jwcrypto.jwk import JWK
from lti1p3platform import exceptions as lti
from lti1p3platform.ltiplatform import JWKS, LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration

ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"
AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
DL_CLAIM, LTI_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/", \
    "https://purl.imsglobal.org/spec/lti/claim/"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
COURSE, MEDIA = "course-1", "application/vnd.ims.lis.v2."
LINEITEMS, MEMBERSHIPS = f"/contexts/{COURSE}/lineitems", f"/contexts/{COURSE}/memberships"
ACTIVITY = ("Initialized", "Started", "InProgress", "Submitted", "Completed")
GRADING = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")
# What lti1p3platform raises for a bad token or request, and what a malformed JWT body raises
REFUSED = (lti.LtiException, lti.LtiDeepLinkingResponseException, lti.MissingRequiredClaim,
           lti.UnsupportedGrantType, lti.InvalidKeySetUrl, jwt.PyJWTError, KeyError, TypeError,
           AttributeError, ValueError)
KeyPair = tuple[str, str]  # private and public key, PEM


class Invalid(Exception):
    """A bad request: answered 400 with the message as one line of text."""


def new_key() -> KeyPair:
    key = JWK.generate(kty="RSA", size=2048)
    return key.export_to_pem(private_key=True, password=None).decode(), key.export_to_pem().decode()


def kid_of(key: KeyPair) -> str:
    return str(Registration.get_jwk(key[1])["kid"])  # the library's kid: the RFC 7638 thumbprint


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_time(value: Any) -> datetime:
    try:
        stamp: datetime | None = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise Invalid(f"timestamp {value!r} is not an ISO 8601 date-time with a time zone")
    return stamp


def audiences(claims: dict[str, Any]) -> list[Any]:
    return claims["aud"] if isinstance(claims.get("aud"), list) else [claims.get("aud")]


class PlatformConfig(LTI1P3PlatformConfAbstract):
    """The one registration (our client_id and deployment) of the tool at --tool."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self.settings, self.tool_claims = kwargs, cast(dict[str, Any], {})

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        s, tool = self.settings, self.settings["tool"]
        return (Registration().set_iss(s["iss"]).set_client_id(s["client_id"])
                .set_deployment_id(s["deployment_id"]).set_oidc_login_url(tool + "/lti/login")
                .set_launch_url(tool + "/lti/launch").set_deeplink_launch_url(tool + "/lti/launch")
                .set_tool_key_set_url(tool + "/lti/jwks")
                .set_platform_private_key(s["key"][0]).set_platform_public_key(s["key"][1]))

    def fetch_public_key(self, key_set_url: str) -> JWKS:
        # The library uses requests, which honours HTTP(S)_PROXY: this platform stays on loopback.
        try:
            return cast(JWKS, httpx.get(key_set_url, timeout=10, trust_env=False).json())
        except (httpx.HTTPError, ValueError) as exc:
            raise lti.LtiException(f"cannot read the tool's key set {key_set_url}: {exc}") from exc

    def get_tool_public_key(self) -> bytes:
        # The library keeps the first key set it fetched: a kid it does not know may mean the
        # tool rotated its key, so fetch the set once more before refusing the JWT.
        try:
            return super().get_tool_public_key()
        except lti.LtiException as exc:
            registration = self.get_registration()
            url = registration.get_tool_key_set_url()
            if "Unable to find public key" not in str(exc) or not url:
                raise
            registration.set_tool_key_set(self.fetch_public_key(url))
            return super().get_tool_public_key()

    def tool_validate_and_decode(self, jwt_token_string: str) -> dict[str, Any]:
        # kept for the checks the library leaves out (aud, iss, sub, jti, deployment, data)
        self.tool_claims = super().tool_validate_and_decode(jwt_token_string)
        return self.tool_claims


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=302)


class Launch(LTIAdvantageMessageLaunchAbstract):
    """One launch (a resource link, or a deep linking request) for an authorization request."""

    def __init__(self, params: dict[str, str], lms: Lms, hint: dict[str, Any],
                 form: bool = True) -> None:
        super().__init__(cast(Any, None), lms.config)
        self.params, self.lms, self.hint, self.form = params, lms, hint, form

    def get_preflight_response(self) -> dict[str, Any]:
        return self.params

    def prepare_launch(self, preflight_response: dict[str, Any]) -> None:
        lms, member = self.lms, self.lms.members[self.hint["user"]]
        self.set_user_data(member["user_id"], member["roles"], member["name"], member.get("email"))
        self.set_launch_context_claim(COURSE, [COURSE_OFFERING], lms.title, "TF101")
        self.set_launch_presentation_claim("window", lms.base + "/")
        self.set_nrps(lms.base + MEMBERSHIPS)
        if self.hint["type"] == "LtiDeepLinkingRequest":
            self.set_ags(lms.lineitems_url, results_service_enabled=False)
            self.set_dl(lms.base + "/deep-link-return", f"Add an activity to {lms.title}",
                        "Choose the exercise to grade", accept_types={"ltiResourceLink"})
            assert self._deep_linking_launch_data is not None
            # "data" (opaque to the tool) comes back in the response: it names this request
            settings = self._deep_linking_launch_data[DL_CLAIM + "deep_linking_settings"]
            settings["data"] = self.hint["data"]
            return
        link = lms.links[self.hint["link"]]
        self.set_launch_url(link["url"])
        self.set_resource_link_claim(link["id"], title=link["title"])
        if link["custom"]:
            self.set_custom_parameters_claim(link["custom"])
        self.set_ags(lms.lineitems_url, lms.lineitem_of(link["id"]), allow_creating_lineitems=True,
                     results_service_enabled=False)  # no result service here: scores only

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> Any:
        if not self.form:  # /admin/launch-claims
            return launch_data
        fields = "".join(f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
                         for name, value in launch_data.items() if name in ("id_token", "state"))
        return HTMLResponse(
            f'<!doctype html><html><head><meta charset="utf-8"><title>Launching…</title></head>'
            f'<body><form method="post" action="{html.escape(launch_data["launch_url"])}">'
            f"{fields}<noscript><button>Continue</button></noscript></form>"
            f"<script>document.forms[0].submit()</script></body></html>")


class Lms:
    """The course, its links, line items, scores and the keys; every change under `lock`."""

    def __init__(self, base: str, tool: str, client_id: str, deployment_id: str, title: str):
        self.base, self.tool, self.title = base, tool.rstrip("/"), title
        self.launch_url, self.lineitems_url = self.tool + "/lti/launch", base + LINEITEMS
        # `verify_lock`: the library's checks of the tool's JWTs (may fetch the tool's key set)
        self.lock, self.verify_lock = threading.RLock(), threading.Lock()
        self.key, self.old_key, self.throwaway = new_key(), cast(KeyPair | None, None), new_key()
        self.client_id, self.deployment_id = client_id, deployment_id
        self.settings = {"iss": base, "client_id": client_id, "deployment_id": deployment_id,
                         "tool": self.tool}
        self.config = PlatformConfig(key=self.key, **self.settings)
        self.config.set_accepted_deeplinking_types(["ltiResourceLink"])
        self.registration = self.config.get_registration()
        self.grace: PlatformConfig | None = None  # the previous key while it stays published
        self.members: dict[str, dict[str, Any]] = {}
        self.links: dict[str, dict[str, Any]] = {}
        self.lineitems: dict[str, dict[str, Any]] = {}  # by id, the line item's URL
        self.scores_received: list[dict[str, Any]] = []
        self.gradebook: dict[str, dict[str, dict[str, Any]]] = {}  # line item, user: score
        self.hints: dict[str, dict[str, Any]] = {}  # lti_message_hint: user, link, type
        self.jtis: set[str] = set()
        self.token_requests = self.token_refusals = 0
        self.token_down = False
        self.registration_tokens: set[str] = set()  # dynamic registration, each used once
        self.tool_registrations: list[dict[str, Any]] = []  # what tools registered with
        self.add_members([{"user_id": "instructor-1", "name": "Grace Hopper", "role": "Instructor"},
                          {"user_id": "student-1", "name": "Ada Lovelace", "role": "Learner",
                           "email": "ada@example.edu"},
                          {"user_id": "student-2", "name": "Alan Turing", "role": "Learner",
                           "email": "alan@example.edu"}])

    def add_members(self, people: list[dict[str, Any]]) -> None:
        for person in people:
            user, role = person.get("user_id"), person.get("role", "Learner")
            if not isinstance(user, str) or not user or role not in ("Learner", "Instructor"):
                raise Invalid("a member needs a user_id and a role Learner or Instructor")
            self.members[user] = {"user_id": user, "name": str(person.get("name") or user),
                                  "roles": [ROLE + role]}
            if person.get("email"):
                self.members[user]["email"] = str(person["email"])

    def is_instructor(self, user: str) -> bool:
        return ROLE + "Instructor" in self.members[user]["roles"]

    def lineitem_of(self, link_id: str) -> str | None:
        """The line item of a link when it has exactly one (the AGS claim's `lineitem`)."""
        ids = [i["id"] for i in self.lineitems.values() if i.get("resourceLinkId") == link_id]
        return ids[0] if len(ids) == 1 else None

    @staticmethod
    def clean_lineitem(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("label"), str) \
                or not data["label"].strip() or not is_number(data.get("scoreMaximum")) \
                or data["scoreMaximum"] <= 0:
            raise Invalid("a line item needs a label and a scoreMaximum > 0")
        item = {k: data[k] for k in ("label", "scoreMaximum", "resourceLinkId", "resourceId",
                                     "tag", "startDateTime", "endDateTime") if data.get(k)}
        if any(not isinstance(v, str) for k, v in item.items() if k != "scoreMaximum"):
            raise Invalid("the line item's fields other than scoreMaximum are strings")
        return item

    def add_lineitem(self, item: dict[str, Any]) -> dict[str, Any]:
        item = {"id": f"{self.lineitems_url}/{len(self.lineitems) + 1}", **item}
        self.lineitems[item["id"]] = item
        return item

    @staticmethod
    def clean_link(title: Any, url: Any, custom: Any) -> None:
        if not isinstance(title, str) or not title.strip() or not isinstance(url, str | None):
            raise Invalid("a link needs a title (and its url, if any, is a string)")
        if not isinstance(custom, dict) or not all(isinstance(v, str) for v in custom.values()):
            raise Invalid("custom must be an object of strings")

    def add_link(self, title: Any, url: Any, custom: Any, lineitem: Any) -> dict[str, Any]:
        self.clean_link(title, url, custom)
        item = self.clean_lineitem(lineitem) if lineitem is not None else None
        link = {"id": f"link-{len(self.links) + 1}", "title": title, "url": url or self.launch_url,
                "custom": custom}
        self.links[link["id"]] = link
        if item is not None:
            self.add_lineitem({**item, "resourceLinkId": link["id"]})
        return self.link_view(link)

    def link_view(self, link: dict[str, Any]) -> dict[str, Any]:
        return {**link, "lineitem": self.lineitem_of(link["id"])}

    def record_score(self, lineitem: str, data: dict[str, Any]) -> None:
        user, given, maximum = data.get("userId"), data.get("scoreGiven"), data.get("scoreMaximum")
        if not isinstance(user, str) or user not in self.members:
            raise Invalid(f"userId {user!r} is not a member of {COURSE}")
        if data.get("activityProgress") not in ACTIVITY:
            raise Invalid(f"activityProgress must be one of {', '.join(ACTIVITY)}")
        if data.get("gradingProgress") not in GRADING:
            raise Invalid(f"gradingProgress must be one of {', '.join(GRADING)}")
        if given is not None and not (is_number(given) and given >= 0 and is_number(maximum)
                                      and maximum > 0):
            raise Invalid("scoreGiven must be a number >= 0 with a scoreMaximum > 0")
        stamp = parse_time(data.get("timestamp"))
        score = {"lineitem": lineitem, **{k: data.get(k) for k in (
            "userId", "scoreGiven", "scoreMaximum", "activityProgress", "gradingProgress",
            "timestamp", "comment")}, "received_at": datetime.now(UTC).isoformat()}
        self.scores_received.append(score)  # every score, in order; the gradebook the newest
        held = self.gradebook.setdefault(lineitem, {}).get(user)
        if held is None or parse_time(held["timestamp"]) <= stamp:
            self.gradebook[lineitem][user] = score

    def state(self) -> dict[str, Any]:
        return {"issuer": self.base, "client_id": self.client_id,
                "deployment_id": self.deployment_id, "members": list(self.members.values()),
                "links": [self.link_view(link) for link in self.links.values()],
                "lineitems": list(self.lineitems.values()), "scores_received": self.scores_received,
                "gradebook": self.gradebook, "token_requests": self.token_requests,
                "token_refusals": self.token_refusals, "kid": kid_of(self.key),
                "tool_registrations": self.tool_registrations}


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise Invalid("the body is not JSON") from None
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    return body


async def params_of(request: Request) -> dict[str, str]:
    data = await request.form() if request.method == "POST" else request.query_params
    return {key: value for key, value in data.items() if isinstance(value, str)}


def loopback_only(request: Request) -> None:
    try:
        if request.client and ipaddress.ip_address(request.client.host).is_loopback:
            return
    except ValueError:
        pass
    raise HTTPException(403, "the admin endpoints answer loopback clients only")


def create_app(lms: Lms) -> FastAPI:
    app, admin = FastAPI(title="Test LMS"), APIRouter(dependencies=[Depends(loopback_only)])
    app.add_exception_handler(Invalid, lambda _r, exc: PlainTextResponse(str(exc), 400))
    Json, Params = Depends(json_body), Depends(params_of)  # the bodies, parsed before the thread
    e = html.escape

    def bearer(request: Request, scopes: list[str]) -> None:
        """An access token of ours with one of the scopes, else 401 (403: another scope)."""
        header = request.headers.get("authorization", "")
        with lms.lock:  # the current key, then the previous one while it is still published
            configs = [c for c in (lms.config, lms.grace) if c is not None]
            for config in configs if header[:7].lower() == "bearer " else []:
                try:
                    allowed = config.validate_token(header[7:].strip(), scopes)
                except (lti.LtiException, jwt.PyJWTError):
                    continue
                if not allowed:
                    raise HTTPException(403, f"the token lacks the scope {' or '.join(scopes)}")
                return
        raise HTTPException(401, "a valid bearer token is required",
                            {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def lineitem(n: int) -> str:
        if (url := f"{lms.lineitems_url}/{n}") not in lms.lineitems:
            raise HTTPException(404, f"no line item {n}")
        return url

    def login(user: str, hint: dict[str, Any], target: str) -> RedirectResponse:
        lms.hints[key := secrets.token_urlsafe(16)] = {"user": user, **hint}
        start = Login(None, lms.config).set_launch_url(target)
        start.set_lti_message_hint(hint=key)
        return cast(RedirectResponse, start.initiate_login(user))

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        with lms.lock:
            people = "".join(
                f"<li>{e(m['name'])} ({e(m['user_id'])}, {e(m['roles'][0].split('#')[1])})"
                + (f' <a href="/deep-link?user={e(m["user_id"])}">Add the grader (deep linking)'
                   "</a>" if lms.is_instructor(m["user_id"]) else "") + "</li>"
                for m in lms.members.values())
            links = "".join(f"<li>{e(link['title'])}: " + " · ".join(
                f'<a href="/launch?user={e(m["user_id"])}&amp;link={e(link["id"])}">Open as '
                f"{e(m['name'])}</a>" for m in lms.members.values()) + "</li>"
                for link in lms.links.values()) or "<li>none yet</li>"
            rows = "".join(
                f"<tr><td>{e(lms.lineitems[url]['label'])}</td><td>{e(user)}</td>"
                f"<td>{s['scoreGiven'] if s['scoreGiven'] is not None else '—'}/"
                f"{s['scoreMaximum'] or '—'}</td><td>{e(s['activityProgress'])}</td>"
                f"<td>{e(s['gradingProgress'])}</td><td>{e(s['timestamp'])}</td></tr>"
                for url, scores in lms.gradebook.items() for user, s in scores.items())
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>Test LMS — "
                f"{e(lms.title)}</title></head><body><h1>Test LMS — {e(lms.title)}</h1>"
                f"<h2>Members</h2><ul>{people}</ul><h2>Activities</h2><ul>{links}</ul>"
                "<h2>Gradebook</h2><table border='1'><tr><th>Line item</th><th>User</th>"
                "<th>Score</th><th>Activity</th><th>Grading</th><th>Timestamp</th></tr>"
                f"{rows}</table></body></html>")

    @app.get("/launch")
    def launch(user: str, link: str) -> HTTPResponse:
        with lms.lock:
            if user not in lms.members or link not in lms.links:
                raise HTTPException(404, "no such user or link")
            return login(user, {"link": link, "type": "LtiResourceLinkRequest"},
                         lms.links[link]["url"])

    @app.get("/deep-link")
    def deep_link(user: str) -> HTTPResponse:
        with lms.lock:
            if user not in lms.members:
                raise HTTPException(404, "no such user")
            if not lms.is_instructor(user):
                raise HTTPException(403, "only an instructor adds activities")
            return login(user, {"link": None, "type": "LtiDeepLinkingRequest",
                                "data": secrets.token_urlsafe(16)}, lms.launch_url)

    @app.api_route("/authorize", methods=["GET", "POST"])
    def authorize(params: dict[str, str] = Params) -> HTTPResponse:
        with lms.lock:
            for name, value in {"scope": "openid", "response_type": "id_token", "prompt": "none",
                                "response_mode": "form_post", "client_id": lms.client_id}.items():
                if params.get(name) != value:
                    raise Invalid(f"{name} must be {value}, not {params.get(name)!r}")
            hint = lms.hints.get(params.get("lti_message_hint", ""))
            if hint is None or hint["user"] != params.get("login_hint"):
                raise Invalid("login_hint and lti_message_hint do not match a launch we started")
            if hint["user"] not in lms.members or (hint["link"] and hint["link"] not in lms.links):
                raise Invalid("the user or the link of this launch is gone")
            target = lms.links[hint["link"]]["url"] if hint["link"] else lms.launch_url
            if params.get("redirect_uri") not in (lms.launch_url, target):
                raise Invalid(f"redirect_uri must be {lms.launch_url}")
            if not params.get("nonce") or not params.get("state"):
                raise Invalid("nonce and state are required")
            return cast(HTMLResponse, Launch(params, lms, hint).lti_launch())

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        with lms.lock:
            old = lms.grace.get_jwks()["keys"] if lms.grace else []
            return {"keys": lms.config.get_jwks()["keys"] + old}

    @app.post("/token")
    def token(data: dict[str, str] = Params) -> JSONResponse:
        with lms.lock:
            lms.token_requests += 1
            lms.token_refusals += lms.token_down
            if lms.token_down:
                return JSONResponse({"error": "temporarily_unavailable"}, 503)
        try:
            with lms.verify_lock:  # the assertion's signature, against the tool's key set
                answer, claims = lms.config.get_access_token(data), lms.config.tool_claims
            if data.get("client_assertion_type") != JWT_BEARER:
                raise lti.LtiException(f"client_assertion_type must be {JWT_BEARER}")
            if not {lms.base + "/token", lms.base} & set(audiences(claims)):
                raise lti.LtiException("the assertion's aud is neither this token URL nor the iss")
            if claims.get("iss") != lms.client_id or claims.get("sub") != lms.client_id:
                raise lti.LtiException("the assertion's iss and sub must be the client_id")
            with lms.lock:
                if "exp" not in claims or not claims.get("jti") or claims["jti"] in lms.jtis:
                    raise lti.LtiException("the assertion needs exp and a jti not seen before")
                lms.jtis.add(claims["jti"])
            return JSONResponse(dict(answer))
        except REFUSED as exc:
            with lms.lock:
                lms.token_refusals += 1
            error = {lti.MissingRequiredClaim: "invalid_request",
                     lti.UnsupportedGrantType: "unsupported_grant_type"}.get(type(exc))
            return JSONResponse({"error": error or "invalid_client",
                                 "error_description": str(exc) or type(exc).__name__}, 400)

    @app.get(LINEITEMS)
    def lineitems(request: Request, resource_link_id: str | None = None, tag: str | None = None,
                  resource_id: str | None = None) -> JSONResponse:
        bearer(request, [AGS_SCOPE + "lineitem", AGS_SCOPE + "lineitem.readonly"])
        wanted = {"resourceLinkId": resource_link_id, "tag": tag, "resourceId": resource_id}
        with lms.lock:
            found = [i for i in lms.lineitems.values()
                     if all(v is None or i.get(k) == v for k, v in wanted.items())]
        return JSONResponse(found, media_type=MEDIA + "lineitemcontainer+json")

    @app.post(LINEITEMS)
    def new_lineitem(request: Request, data: dict[str, Any] = Json) -> JSONResponse:
        bearer(request, [AGS_SCOPE + "lineitem"])
        with lms.lock:
            item = lms.clean_lineitem(data)
            if "resourceLinkId" in item and item["resourceLinkId"] not in lms.links:
                raise Invalid(f"no resource link {item['resourceLinkId']}")
            return JSONResponse(lms.add_lineitem(item), 201, media_type=MEDIA + "lineitem+json")

    @app.get(LINEITEMS + "/{n}")
    def one_lineitem(request: Request, n: int) -> JSONResponse:
        bearer(request, [AGS_SCOPE + "lineitem", AGS_SCOPE + "lineitem.readonly"])
        with lms.lock:
            return JSONResponse(lms.lineitems[lineitem(n)], media_type=MEDIA + "lineitem+json")

    @app.post(LINEITEMS + "/{n}/scores", status_code=204)
    def score(request: Request, n: int, data: dict[str, Any] = Json) -> HTTPResponse:
        bearer(request, [AGS_SCOPE + "score"])
        with lms.lock:
            lms.record_score(lineitem(n), data)
        return HTTPResponse(status_code=204)

    @app.get(MEMBERSHIPS)
    def memberships(request: Request) -> JSONResponse:
        bearer(request, [NRPS_SCOPE])
        with lms.lock:
            members = [{**m, "status": "Active"} for m in lms.members.values()]
        return JSONResponse({"id": lms.base + MEMBERSHIPS, "members": members, "context": {
            "id": COURSE, "label": "TF101", "title": lms.title}},
            media_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")

    @app.post("/deep-link-return", response_class=HTMLResponse)
    def deep_link_return(data: dict[str, str] = Params) -> str:
        try:
            with lms.verify_lock:  # signature (the tool's key set), message type, item types
                items = lms.config.validate_deeplinking_resp({"JWT": data.get("JWT", "")})
                claims = lms.config.tool_claims
            todo = [(i.get("title") or "Untitled", i.get("url"), i.get("custom") or {},
                     i.get("lineItem")) for i in items]
        except REFUSED as exc:
            raise Invalid(f"invalid deep linking response: {exc}") from exc
        if lms.base not in audiences(claims) or claims.get("iss") != lms.client_id:
            raise Invalid("the response's aud must be the platform's issuer, its iss the client_id")
        if not claims.get("nonce") or claims.get(LTI_CLAIM + "deployment_id") != lms.deployment_id:
            raise Invalid("the response needs a nonce and our deployment_id")
        with lms.lock:
            hint = next((h for h in lms.hints.values() if h.get("data")
                         and h["data"] == claims.get(DL_CLAIM + "data")), None)
            if hint is None:
                raise Invalid("the data of a deep linking request of ours is not returned")
            for title, url, custom, line in todo:  # all or nothing
                lms.clean_link(title, url, custom)
                if line is not None:
                    lms.clean_lineitem(line)
            hint["data"] = None  # one response per request
            added = [lms.add_link(*item)["title"] for item in todo]
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>Deep linking</title>"
                f"</head><body><p>Added {e(', '.join(added) or 'nothing')} to {e(lms.title)}.</p>"
                "<p><a href='/'>Back to the course</a></p></body></html>")

    @admin.get("/admin/state")
    def state() -> dict[str, Any]:
        with lms.lock:
            return cast(dict[str, Any], json.loads(json.dumps(lms.state())))

    @admin.post("/admin/members")
    def members(data: dict[str, Any] = Json) -> dict[str, Any]:
        with lms.lock:
            lms.add_members(list(data.get("add") or []))
            for user in data.get("remove") or []:
                lms.members.pop(str(user), None)
            return {"members": list(lms.members.values())}

    @admin.post("/admin/links")
    def links(data: dict[str, Any] = Json) -> dict[str, Any]:
        with lms.lock:
            return lms.add_link(data.get("title"), data.get("url"), data.get("custom") or {},
                                data.get("lineitem"))

    @admin.post("/admin/rotate-key")
    def rotate_key(data: dict[str, Any] = Json) -> dict[str, Any]:
        with lms.lock:
            lms.old_key, lms.key = lms.key, new_key()
            lms.grace = PlatformConfig(key=lms.old_key, **lms.settings) if data.get("keep_old") \
                else None
            if lms.grace:
                lms.grace.get_registration()
            lms.registration.set_platform_private_key(lms.key[0])
            lms.registration.set_platform_public_key(lms.key[1])
            return {"kid": kid_of(lms.key), "previous_kid": kid_of(lms.old_key)}

    @admin.post("/admin/token-endpoint")
    def token_endpoint(data: dict[str, Any] = Json) -> dict[str, bool]:
        with lms.lock:
            lms.token_down = bool(data.get("down"))
            return {"down": lms.token_down}

    @admin.post("/admin/sign")
    def sign(data: dict[str, Any] = Json) -> dict[str, str]:
        with lms.lock:
            key = {"current": lms.key, "old": lms.old_key, "throwaway": lms.throwaway}.get(
                data.get("key", "current"))
            if key is None or not isinstance(data.get("claims"), dict):
                raise Invalid("claims is an object; key current, throwaway or old (once rotated)")
            headers = {"kid": kid_of(key), **(data.get("headers") or {})}
            try:
                return {"jwt": Registration.encode_and_sign(data["claims"], key[0], headers),
                        "kid": headers["kid"]}
            except REFUSED as exc:  # e.g. headers naming an algorithm an RSA key cannot do
                raise Invalid(f"cannot sign: {exc}") from exc

    @admin.post("/admin/launch-claims")
    def launch_claims(data: dict[str, Any] = Json) -> dict[str, Any]:
        with lms.lock:
            user, link, nonce = data.get("user"), data.get("link"), data.get("nonce")
            if user not in lms.members or (link is not None and link not in lms.links):
                raise HTTPException(404, "no such user or link")
            if not isinstance(nonce, str) or not nonce:
                raise Invalid("a nonce is required")
            hint = {"user": user, "link": link, "type": "LtiResourceLinkRequest"}
            if link is None:  # a deep linking request
                hint.update(type="LtiDeepLinkingRequest", data=secrets.token_urlsafe(16))
                lms.hints[secrets.token_urlsafe(16)] = hint
            params = {"nonce": nonce, "state": "admin", "client_id": lms.client_id,
                      "redirect_uri": lms.launch_url}
            signed = Launch(params, lms, hint, form=False).lti_launch()["id_token"]
            return {"claims": jwt.decode(signed, options={"verify_signature": False})}

    # -- LTI Dynamic Registration (what Moodle 4.1+ and Canvas offer) --
    @app.get("/.well-known/openid-configuration")
    def openid_configuration() -> dict[str, Any]:
        return {
            "issuer": lms.base, "authorization_endpoint": lms.base + "/authorize",
            "token_endpoint": lms.base + "/token", "jwks_uri": lms.base + "/jwks",
            "registration_endpoint": lms.base + "/register",
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", NRPS_SCOPE, AGS_SCOPE + "score",
                                 AGS_SCOPE + "lineitem"],
            "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": "grader-test-lms", "version": "1.0",
                "messages_supported": [{"type": "LtiResourceLinkRequest"},
                                       {"type": "LtiDeepLinkingRequest"}]}}

    @app.post("/register", status_code=201)
    def register(request: Request, data: dict[str, Any] = Json) -> dict[str, Any]:
        """The tool's registration: its URLs must be the tool's this platform launches."""
        token = request.headers.get("authorization", "")[7:].strip()
        with lms.lock:
            if token not in lms.registration_tokens:
                raise HTTPException(401, "a registration token this platform issued is needed")
            lms.registration_tokens.discard(token)
            expected = {"initiate_login_uri": lms.tool + "/lti/login",
                        "jwks_uri": lms.tool + "/lti/jwks"}
            wrong = [k for k, v in expected.items() if data.get(k) != v]
            if wrong or lms.launch_url not in (data.get("redirect_uris") or []):
                raise Invalid(f"the tool's URLs are not the ones of {lms.tool}: "
                              f"{', '.join(wrong) or 'redirect_uris'}")
            lms.tool_registrations.append(data)
            return {**data, "client_id": lms.client_id,
                    "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                        **(data.get("https://purl.imsglobal.org/spec/lti-tool-configuration")
                           or {}), "deployment_id": lms.deployment_id}}

    @admin.post("/admin/registration")
    def registration_start(data: dict[str, Any] = Json) -> dict[str, str]:
        """The query an admin's browser would open the tool's registration URL with."""
        with lms.lock:
            lms.registration_tokens.add(token := secrets.token_urlsafe(16))
            return {"openid_configuration": lms.base + "/.well-known/openid-configuration",
                    "registration_token": token}

    app.include_router(admin)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--tool", required=True, help="the tool's base URL (loopback)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--client-id", default="grader-tool")
    parser.add_argument("--deployment-id", default="deployment-1")
    parser.add_argument("--title", default="Intro to TensorFlow")
    args = parser.parse_args(argv)
    tool = urlsplit(args.tool)
    try:  # the platform fetches the tool's key set: never beyond loopback
        loopback = tool.hostname == "localhost" or ipaddress.ip_address(tool.hostname).is_loopback
    except ValueError:
        loopback = False
    if not loopback or tool.scheme not in ("http", "https"):
        parser.error(f"--tool must be an http(s) URL on loopback, not {args.tool}")
    sock = socket.create_server((args.host, args.port))
    base = f"http://{args.host}:{sock.getsockname()[1]}"
    lms = Lms(base, args.tool, args.client_id, args.deployment_id, args.title)
    server = uvicorn.Server(uvicorn.Config(create_app(lms), log_level="warning", lifespan="off"))
    for sig in (signal.SIGINT, signal.SIGTERM):  # uvicorn shuts down, then re-raises the signal
        signal.signal(sig, lambda *_: sys.exit(0))
    print(f"lti platform: listening on {base}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
