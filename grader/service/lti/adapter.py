"""pylti1p3 (the tool side of LTI 1.3, a maintained library) on FastAPI and this database.

pylti1p3 ships Django and Flask adapters; this is the FastAPI one, written here:
* `LtiRequest` — the request's parameters (query and form) and cookies;
* `StateCookies` — the OIDC `state` cookie. SameSite=None and Secure: the launch is a
  cross-site POST from the LMS, on which a Lax or Strict cookie is not sent. It only
  binds the launch to the browser that began the login; it opens nothing by itself;
* `DatabaseStorage` — the nonce of each login, kept in the database (every web process
  sees it) and *consumed* by the launch that uses it: pylti1p3's own check only looks a
  nonce up, so a captured launch could be replayed while the nonce lived;
* `ToolLaunch` — pylti1p3's MessageLaunch with the checks in a safer order and stricter:
  the signature is verified before anything is stored or consumed; `exp` and `iat` are
  required; `aud` must name this tool's client id and `azp`, when sent or needed, too;
  the platform's key set is cached for KEY_SET_SECONDS and fetched again (at most once a
  REFETCH_SECONDS) when a token names a kid it does not hold: a platform that rotated
  its keys mid-term is followed, a token signed by a key it no longer publishes is not.
Every outgoing request has a timeout (pylti1p3's default session has none).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request as PyltiRequest
from pylti1p3.session import SessionService
from sqlalchemy import Engine, delete, select

from grader.service import db

HTTP_TIMEOUT = 10.0  # seconds for a platform's key set, token or service endpoint
KEY_SET_SECONDS = 600.0
REFETCH_SECONDS = 1.0
NONCE_SECONDS = 600  # a login must end in its launch within this
COOKIE_PREFIX = "lti1p3-"
CLOCK_SKEW = 60  # seconds an iat may lie in the future


class TimedSession(requests.Session):
    """A requests session whose every request has a timeout."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


class LtiRequest(PyltiRequest):
    def __init__(self, request: Request, params: dict[str, str]) -> None:
        self.request, self.params = request, params

    @property
    def session(self) -> dict[str, Any]:  # pylti1p3's default storage; never used here
        return {}

    def is_secure(self) -> bool:
        return self.request.url.scheme == "https"

    def get_param(self, key: str) -> str:
        return self.params.get(key, "")


class StateCookies(CookieService):
    def __init__(self, request: Request) -> None:
        self.request = request
        self.to_set: list[tuple[str, str, int | None]] = []

    def get_cookie(self, name: str) -> str | None:
        return self.request.cookies.get(COOKIE_PREFIX + name)

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.to_set.append((COOKIE_PREFIX + name, str(value), exp))

    def apply(self, response: Response) -> Response:
        for name, value, age in self.to_set:
            response.set_cookie(name, value, max_age=age, path="/lti/", httponly=True,
                                secure=True, samesite="none")
        return response


class DatabaseStorage(LaunchDataStorage[Any]):
    _session_cookie_name = ""  # keys are global, not per browser: the state cookie binds

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        with db.reading(self.engine) as connection:
            row = connection.execute(select(db.lti_launch_data.c.value, db.lti_launch_data
                                            .c.expires_at).where(
                db.lti_launch_data.c.key == self._prepare_key(key)[:255])).first()
        return json.loads(row.value) if row and row.expires_at > db.now() else None

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        expires = db.stamp(datetime.now(UTC) + timedelta(seconds=min(exp or NONCE_SECONDS,
                                                                     NONCE_SECONDS)))
        with db.writing(self.engine) as connection:
            connection.execute(delete(db.lti_launch_data)
                               .where(db.lti_launch_data.c.expires_at < db.now()))
            connection.execute(db.lti_launch_data.insert().values(
                key=self._prepare_key(key)[:255], value=json.dumps(value),
                expires_at=expires))

    def check_value(self, key: str) -> bool:
        """True once: the key (a nonce) is deleted by the check that finds it alive."""
        with db.writing(self.engine) as connection:
            return connection.execute(delete(db.lti_launch_data).where(
                db.lti_launch_data.c.key == self._prepare_key(key)[:255],
                db.lti_launch_data.c.expires_at > db.now())).rowcount == 1


class _Redirect(Redirect[Response]):
    def __init__(self, location: str) -> None:
        self.location = location

    def do_redirect(self) -> Response:
        return RedirectResponse(self.location, status_code=302)

    def do_js_redirect(self) -> Response:
        return self.do_redirect()

    def set_redirect_url(self, location: str) -> None:
        self.location = location

    def get_redirect_url(self) -> str:
        return self.location


class ToolLogin(OIDCLogin):  # type: ignore[type-arg]
    def get_redirect(self, url: str) -> _Redirect:
        return _Redirect(url)


class _KeySets:
    """The platforms' key sets, by URL, shared by the launches of this process. A token
    naming a kid the cached set lacks asks for a fresh set (`fresh`): one fetch at a time,
    at most one a REFETCH_SECONDS per URL (a caller inside that window waits for it, so a
    launch signed by a just-rotated key is taken, and a burst of forged kids costs the LMS
    one fetch a second)."""

    def __init__(self) -> None:
        self.lock, self.fetching = threading.Lock(), threading.Lock()
        self.held: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, url: str, session: requests.Session, fresh: bool = False
            ) -> dict[str, Any] | None:
        asked = time.monotonic()
        with self.lock:
            found = self.held.get(url)
        if found and not fresh and asked - found[0] < KEY_SET_SECONDS:
            return found[1]
        with self.fetching:
            with self.lock:
                found = self.held.get(url)
            if found and found[0] >= asked:  # fetched while this call waited
                return found[1]
            if found and fresh:
                wait = REFETCH_SECONDS - (time.monotonic() - found[0])
                if wait > 0:
                    time.sleep(wait)
            keys = self._fetch(url, session)
            with self.lock:
                self.held[url] = (time.monotonic(), keys)
            return keys

    @staticmethod
    def _fetch(url: str, session: requests.Session) -> dict[str, Any]:
        try:
            keys = session.get(url).json()
        except (requests.RequestException, ValueError):
            raise LtiException(f"could not read the platform's key set at {url}") from None
        if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
            raise LtiException(f"the platform's key set at {url} is not a JWKS")
        return keys


KEY_SETS = _KeySets()


class ToolLaunch(MessageLaunch):  # type: ignore[type-arg]
    def __init__(self, request: LtiRequest, tool_config: Any, engine: Engine,
                 cookies: StateCookies) -> None:
        super().__init__(request, tool_config, session_service=SessionService(request),
                         cookie_service=cookies, launch_data_storage=DatabaseStorage(engine),
                         requests_session=TimedSession())
        self.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)  # type: ignore[no-any-return]

    def validate(self) -> MessageLaunch:
        if self._restored:
            raise LtiException("Can't validate restored launch")
        self._validated = True
        try:
            self._state_from_cookie()
            (self.validate_jwt_format().validate_registration().validate_jwt_signature()
             .validate_deployment().validate_message())
            self.validate_nonce()  # last: only a genuine launch uses up its nonce
        except Exception:
            self._validated = False
            raise
        return self

    def _state_from_cookie(self) -> None:
        state = self._get_request_param("state")
        if not state:
            raise LtiException("Missing state param")
        if state != self._cookie_service.get_cookie(state):
            raise LtiException("State not found")

    def fetch_public_key(self, key_set_url: str) -> Any:
        return KEY_SETS.get(key_set_url, self._requests_session)

    def get_public_key(self) -> tuple[str, str]:
        try:
            return super().get_public_key()  # type: ignore[no-any-return]
        except LtiException as exc:
            if "Unable to find public key" not in str(exc):
                raise
        assert self._registration is not None
        url = self._registration.get_key_set_url()
        self._registration.set_key_set(KEY_SETS.get(url, self._requests_session, fresh=True))
        return super().get_public_key()  # type: ignore[no-any-return]

    def validate_jwt_signature(self) -> MessageLaunch:
        super().validate_jwt_signature()
        body = self._jwt.get("body", {})
        client_id = self._registration.get_client_id() if self._registration else None
        audience = body.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if client_id not in audiences:
            raise LtiException("Invalid audience")
        if ("azp" in body or len(audiences) > 1) and body.get("azp") != client_id:
            raise LtiException("Invalid authorized party")
        if not isinstance(body.get("iat"), int | float) or \
                body["iat"] > time.time() + CLOCK_SKEW:
            raise LtiException("Invalid issued at")
        return self

    def save_launch_data(self) -> MessageLaunch:
        return self  # no launch is restored later: nothing kept

    def body(self) -> dict[str, Any]:
        return dict(self._get_jwt_body())


def unverified_claims(id_token: str) -> dict[str, Any]:
    """The claims of a token before any check: only to find which platform to check it
    against (iss, aud). Nothing read here is believed."""
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}
