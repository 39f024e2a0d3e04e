"""The LMSs (platforms) registered with the service, and the pylti1p3 tool configuration
built from them.

A platform is an issuer and the client id it gave this tool, plus its three URLs
(login/authorization, token, key set) and the deployment ids it may launch with. A launch
from anything else is refused before its token is even read for claims (launch.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from jwcrypto.jwk import JWK
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfDict
from sqlalchemy import Connection, Engine, select

from grader.errors import UsageError
from grader.service import db
from grader.service.lti import keys


@dataclass(frozen=True)
class Platform:
    id: int
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    name: str | None
    deployments: tuple[str, ...]


def _url(name: str, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise UsageError(f"--{name} {value!r} is not an http(s) URL")
    return value.strip()


def add(engine: Engine, issuer: str, client_id: str, auth_login_url: str,
        auth_token_url: str, key_set_url: str, deployment_ids: list[str],
        name: str | None = None, deployment_required: bool = True) -> tuple[Platform, bool]:
    """Register a platform, or add deployments to one already registered (same issuer and
    client id; its URLs are updated). Returns (the platform, whether it is new).
    A platform registered with no deployment (dynamic registration, when the LMS makes
    the deployment later: Canvas) takes the deployment its first signed launch names."""
    values = {"auth_login_url": _url("auth-login-url", auth_login_url),
              "auth_token_url": _url("auth-token-url", auth_token_url),
              "key_set_url": _url("key-set-url", key_set_url), "name": name}
    issuer, client_id = issuer.strip(), client_id.strip()
    if not issuer or not client_id:
        raise UsageError("--issuer and --client-id must not be empty")
    deployments = [d.strip() for d in deployment_ids if d.strip()]
    if not deployments and deployment_required:
        raise UsageError("give at least one --deployment-id (the LMS shows it with the "
                         "tool's registration)")
    with db.writing(engine) as connection:
        found = _find_id(connection, issuer, client_id)
        new = found is None
        if new:
            found = int(connection.execute(db.lti_platforms.insert().values(
                issuer=issuer, client_id=client_id, created_at=db.now(), **values))
                .inserted_primary_key[0])
        else:
            connection.execute(db.lti_platforms.update()
                               .where(db.lti_platforms.c.id == found).values(**values))
        known = set(connection.execute(select(db.lti_deployments.c.deployment_id).where(
            db.lti_deployments.c.platform_id == found)).scalars())
        for deployment in deployments:
            if deployment not in known:
                connection.execute(db.lti_deployments.insert().values(
                    platform_id=found, deployment_id=deployment))
        platform = by_id(connection, found)
    keys.signing_key(engine)  # the JWKS the platform will fetch is ready
    return platform, new


def _find_id(connection: Connection, issuer: str, client_id: str) -> int | None:
    found = connection.execute(select(db.lti_platforms.c.id).where(
        db.lti_platforms.c.issuer == issuer,
        db.lti_platforms.c.client_id == client_id)).scalar()
    return int(found) if found is not None else None


def by_id(connection: Connection, platform_id: int) -> Platform:
    row = connection.execute(select(db.lti_platforms)
                             .where(db.lti_platforms.c.id == platform_id)).one()
    deployments = tuple(connection.execute(
        select(db.lti_deployments.c.deployment_id)
        .where(db.lti_deployments.c.platform_id == platform_id)
        .order_by(db.lti_deployments.c.id)).scalars())
    return Platform(row.id, row.issuer, row.client_id, row.auth_login_url,
                    row.auth_token_url, row.key_set_url, row.name, deployments)


def all_platforms(engine: Engine) -> list[Platform]:
    with db.reading(engine) as connection:
        ids = connection.execute(select(db.lti_platforms.c.id)
                                 .order_by(db.lti_platforms.c.id)).scalars().all()
        return [by_id(connection, i) for i in ids]


def find(engine: Engine, issuer: str, client_id: str | None) -> Platform | None:
    """The platform of an issuer (and client id, when the issuer has several)."""
    with db.reading(engine) as connection:
        query = select(db.lti_platforms.c.id).where(db.lti_platforms.c.issuer == issuer)
        if client_id:
            query = query.where(db.lti_platforms.c.client_id == client_id)
        ids = connection.execute(query.limit(2)).scalars().all()
        return by_id(connection, ids[0]) if len(ids) == 1 else None


def adopt_deployment(engine: Engine, platform: Platform, deployment_id: str) -> None:
    """Record the deployment of a platform registered without one (see `add`)."""
    with db.writing(engine) as connection:
        if not connection.execute(select(db.lti_deployments.c.id).where(
                db.lti_deployments.c.platform_id == platform.id)).first():
            connection.execute(db.lti_deployments.insert().values(
                platform_id=platform.id, deployment_id=deployment_id[:255]))


def tool_config(engine: Engine, platform: Platform, adopting: str | None = None
                ) -> ToolConfDict:
    """pylti1p3's view of one platform, with the tool's current signing key. `adopting`:
    the deployment a platform without any may launch with (see `add`)."""
    key = keys.signing_key(engine)
    deployments = list(platform.deployments) or ([adopting] if adopting else [])
    config = ToolConfDict({platform.issuer: [{
        "default": True, "client_id": platform.client_id,
        "auth_login_url": platform.auth_login_url, "auth_token_url": platform.auth_token_url,
        "key_set_url": platform.key_set_url, "key_set": None,
        "deployment_ids": deployments}]})
    public_pem = JWK.from_pem(key.private_pem.encode()).export_to_pem().decode()
    config.set_private_key(platform.issuer, key.private_pem, client_id=platform.client_id)
    config.set_public_key(platform.issuer, public_pem, client_id=platform.client_id)
    return config


def registration(engine: Engine, platform: Platform) -> Registration:
    """pylti1p3's registration of one platform, with the tool's current signing key: what
    signs deep-linking responses and the client assertions of AGS and NRPS."""
    return tool_config(engine, platform).find_registration_by_issuer(platform.issuer)
