"""Password hashing (Argon2id) and JWTs with a pinned algorithm.

Tokens are verified with ``algorithms=[ALGORITHM]`` and every claim required, so ``alg=none``, a
swapped algorithm, a missing ``exp`` or a refresh token presented as an access token all fail the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from uuid import uuid4

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from raylake.platform.clock import utcnow
from raylake.platform.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "raylake"
REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "tid", "sid", "typ", "iss"]
TokenType = Literal["access", "refresh"]

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """The password's Argon2 hash, to store."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    """Whether the password matches a stored hash (False for a malformed hash)."""
    try:
        return _hasher.verify(password, hashed)
    except Exception:  # a malformed stored hash is a failed login, not a crash
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("raylake-timing-equaliser")


def burn_password_check(password: str) -> None:
    """Spend the same time as a real check, so unknown users cannot be told apart by latency."""
    verify_password(password, _dummy_hash())


def issue_token(
    *,
    secret: str,
    token_type: TokenType,
    user_id: int,
    tenant_id: str,
    session_id: str,
    ttl: timedelta,
    jti: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """A signed JWT of this type for a user's session, and its claims."""
    now = utcnow()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user_id),
        "tid": tenant_id,
        "sid": session_id,
        "typ": token_type,
        "jti": jti or str(uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), claims


def decode_token(token: str, *, secret: str, expected_type: TokenType) -> dict[str, Any]:
    """A token's claims once its signature, issuer, required claims and type check; 401 otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("Could not validate credentials") from exc
    if claims.get("typ") != expected_type or not str(claims.get("sub", "")).isdigit():
        raise Unauthorized("Could not validate credentials")
    return claims


def expiry(claims: dict[str, Any]) -> datetime:
    """When a token's claims say it expires."""
    return datetime.fromtimestamp(claims["exp"], tz=UTC)
