"""The tool's own RSA key pairs: the newest live one signs (deep-linking responses, the
client assertions that buy AGS/NRPS access tokens), and /lti/jwks publishes every live
one, so a platform that cached the old key set still verifies what the new key signed.

Why keys are rows, not files: every web process and the passback sender must sign with
the same key, on SQLite and on PostgreSQL alike. `rotate` makes a new key and retires
the previous ones after GRACE_DAYS (a retired key leaves the JWKS then): platforms fetch
the JWKS again when they meet an unknown kid, so no launch or grade fails mid-rotation.
The database therefore holds a private key: back it up as a secret (docs/lti.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from sqlalchemy import Connection, Engine, select, update

from grader.service import db

GRACE_DAYS = 7  # a rotated-out key stays in the JWKS this long
KEY_BITS = 2048


@dataclass(frozen=True)
class ToolKey:
    kid: str
    private_pem: str
    public_jwk: dict[str, Any]


def _new_key() -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    jwk = JWK.from_pem(pem.encode())
    kid = jwk.thumbprint()  # the kid pylti1p3 puts in the headers of what it signs
    public = jwk.export_public(as_dict=True)
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return ToolKey(kid, pem, public)


def _insert(connection: Connection, key: ToolKey) -> None:
    connection.execute(db.lti_keys.insert().values(
        kid=key.kid, private_pem=key.private_pem, public_jwk=json.dumps(key.public_jwk),
        created_at=db.now()))


def signing_key(engine: Engine) -> ToolKey:
    """The newest live key; made on first use."""
    with db.reading(engine) as connection:
        found = _newest(connection)
    if found is not None:
        return found
    with db.writing(engine) as connection:
        found = _newest(connection)  # another process may have made it meanwhile
        if found is None:
            found = _new_key()
            _insert(connection, found)
    return found


def _newest(connection: Connection) -> ToolKey | None:
    row = connection.execute(select(db.lti_keys).where(db.lti_keys.c.retired_at.is_(None))
                             .order_by(db.lti_keys.c.created_at.desc()).limit(1)).first()
    return ToolKey(row.kid, row.private_pem, json.loads(row.public_jwk)) if row else None


def rotate(engine: Engine) -> tuple[str, list[str]]:
    """A new signing key; the previous live ones retire now and leave the JWKS after
    GRACE_DAYS. Returns (the new kid, the retired kids)."""
    key = _new_key()
    with db.writing(engine) as connection:
        retired = list(connection.execute(select(db.lti_keys.c.kid)
                                          .where(db.lti_keys.c.retired_at.is_(None))).scalars())
        connection.execute(update(db.lti_keys).where(db.lti_keys.c.retired_at.is_(None))
                           .values(retired_at=db.now()))
        _insert(connection, key)
    return key.kid, retired


def jwks(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The public keys a platform may meet: the live ones and those retired less than
    GRACE_DAYS ago."""
    signing_key(engine)
    since = db.stamp(datetime.now(UTC) - timedelta(days=GRACE_DAYS))
    with db.reading(engine) as connection:
        rows = connection.execute(select(db.lti_keys.c.public_jwk).where(
            db.lti_keys.c.retired_at.is_(None) | (db.lti_keys.c.retired_at > since))
            .order_by(db.lti_keys.c.created_at.desc())).scalars()
        return {"keys": [json.loads(row) for row in rows]}
