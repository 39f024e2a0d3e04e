"""LTI Dynamic Registration (IMS, 2021): the LMS's administrator pastes one URL and the
tool registers itself, instead of copying six values each way.

    grader serve lti registration-url --dir D   → BASE/lti/register?secret=…
    the LMS opens it with ?openid_configuration=…&registration_token=…
    the tool reads that configuration (issuer, endpoints), posts its own to the LMS's
    registration endpoint, and records the platform with the client id (and deployment)
    the LMS returns

Why a secret in the URL: a registered platform can sign people in, instructors included.
Without the secret anyone could register an "LMS" of their own and launch as an
instructor. The secret is random, kept hashed with an expiry (REGISTRATION_HOURS), and
used once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from sqlalchemy import Engine

from grader.service.auth import token_hash
from grader.service.lti import adapter, platforms

REGISTRATION_HOURS = 24
SECRET_KEY = "registration-"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
SCOPES = ("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
          "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
          "https://purl.imsglobal.org/spec/lti-ags/scope/score",
          "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly")
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
            "registration_endpoint")


class RegistrationError(Exception):
    """Why a registration failed, in one line for the administrator."""


def new_url(engine: Engine, base_url: str) -> str:
    """A registration URL with a fresh one-time secret."""
    secret = secrets.token_urlsafe(32)
    adapter.DatabaseStorage(engine).set_value(SECRET_KEY + token_hash(secret), True,
                                              REGISTRATION_HOURS * 3600)
    return f"{base_url.rstrip('/')}/lti/register?" + urlencode({"secret": secret})


def use_secret(engine: Engine, secret: str) -> bool:
    """True once for a secret `new_url` made and that has not expired."""
    return bool(secret) and len(secret) <= 200 and \
        adapter.DatabaseStorage(engine).check_value(SECRET_KEY + token_hash(secret))


def _https_or_loopback(url: object, what: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.netloc or not (
            parts.scheme == "https" or parts.scheme == "http" and
            parts.hostname in ("127.0.0.1", "localhost", "::1")):
        raise RegistrationError(f"the LMS's {what} is not an https URL: {str(url)[:200]!r}")
    return str(url)


def tool_configuration(urls: dict[str, str], name: str) -> dict[str, Any]:
    """What the tool asks to be registered with (the OpenID client registration)."""
    return {
        "application_type": "web", "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls["login_url"], "redirect_uris": [urls["launch_url"]],
        "client_name": name, "jwks_uri": urls["jwks_url"],
        "token_endpoint_auth_method": "private_key_jwt", "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": urls["domain"], "target_link_uri": urls["launch_url"],
            "description": "Grades TensorFlow course notebooks and sends the score back.",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [{"type": "LtiDeepLinkingRequest",
                          "target_link_uri": urls["deep_linking_url"],
                          "label": f"{name}: add an assignment"}]}}


@dataclass(frozen=True)
class Registered:
    platform: platforms.Platform
    new: bool


def register(engine: Engine, openid_configuration: str, registration_token: str | None,
             urls: dict[str, str], name: str = "Grader") -> Registered:
    """Read the LMS's configuration, register the tool with it, record the platform."""
    session = adapter.TimedSession()
    auth = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    config_url = _https_or_loopback(openid_configuration, "OpenID configuration address")
    try:
        config = session.get(config_url, headers=auth).json()
    except (requests.RequestException, ValueError):
        raise RegistrationError("the LMS's OpenID configuration could not be read") from None
    if not isinstance(config, dict) or any(not isinstance(config.get(k), str)
                                           for k in REQUIRED):
        raise RegistrationError("the LMS's OpenID configuration lacks "
                                + ", ".join(k for k in REQUIRED
                                            if not isinstance(config.get(k), str)))
    issuer = _https_or_loopback(config["issuer"], "issuer")
    if urlsplit(issuer).hostname != urlsplit(config_url).hostname:
        raise RegistrationError("the LMS's configuration names an issuer on another host "
                                f"({issuer[:200]}) than its own address")
    endpoints = {k: _https_or_loopback(config[k], k.replace("_", " ")) for k in REQUIRED}
    try:
        answer = session.post(endpoints["registration_endpoint"], headers=auth,
                              json=tool_configuration(urls, name))
        body = answer.json() if answer.content else {}
    except (requests.RequestException, ValueError):
        raise RegistrationError("the LMS's registration endpoint did not answer") from None
    if not answer.ok or not isinstance(body, dict) or not isinstance(body.get("client_id"), str):
        raise RegistrationError(f"the LMS refused the registration ({answer.status_code})")
    tool = body.get(TOOL_CONFIGURATION)
    deployment = tool.get("deployment_id") if isinstance(tool, dict) else None
    platform, new = platforms.add(
        engine, issuer, body["client_id"], endpoints["authorization_endpoint"],
        endpoints["token_endpoint"], endpoints["jwks_uri"],
        [str(deployment)] if deployment else [], name=_product(config),
        deployment_required=False)
    return Registered(platform, new)


def _product(config: dict[str, Any]) -> str | None:
    product = config.get("https://purl.imsglobal.org/spec/lti-platform-configuration")
    code = product.get("product_family_code") if isinstance(product, dict) else None
    return str(code)[:100] if code else None
