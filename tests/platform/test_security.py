"""Token and password primitives: every forged or stale token is the same 401."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest

from raylake.platform.errors import Unauthorized
from raylake.platform.security import (
    ALGORITHM,
    decode_token,
    hash_password,
    issue_token,
    verify_password,
)

SECRET = "s" * 40


def _token(**overrides):
    kwargs = dict(
        secret=SECRET, token_type="access", user_id=1, tenant_id="t", session_id="s", ttl=timedelta(minutes=5)
    )
    kwargs.update(overrides)
    return issue_token(**kwargs)


def test_roundtrip_has_required_claims():
    token, claims = _token()
    decoded = decode_token(token, secret=SECRET, expected_type="access")
    assert {"exp", "iat", "jti", "sub", "tid", "sid", "typ"} <= decoded.keys()
    assert decoded["jti"] == claims["jti"]


def test_wrong_signature():
    token, _ = _token(secret="other" * 10)
    with pytest.raises(Unauthorized):
        decode_token(token, secret=SECRET, expected_type="access")


def test_expired():
    token, _ = _token(ttl=timedelta(seconds=-1))
    with pytest.raises(Unauthorized):
        decode_token(token, secret=SECRET, expected_type="access")


def test_alg_none_refused():
    _, claims = _token()
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    forged = f"{header.decode()}.{body.decode()}."
    with pytest.raises(Unauthorized):
        decode_token(forged, secret=SECRET, expected_type="access")


def test_other_algorithm_refused():
    _, claims = _token()
    forged = jwt.encode(claims, SECRET, algorithm="HS512")
    assert ALGORITHM == "HS256"
    with pytest.raises(Unauthorized):
        decode_token(forged, secret=SECRET, expected_type="access")


def test_refresh_token_is_not_an_access_token():
    token, _ = _token(token_type="refresh")
    with pytest.raises(Unauthorized):
        decode_token(token, secret=SECRET, expected_type="access")


def test_missing_claim_refused():
    _, claims = _token()
    del claims["tid"]
    with pytest.raises(Unauthorized):
        decode_token(jwt.encode(claims, SECRET, algorithm=ALGORITHM), secret=SECRET, expected_type="access")


def test_garbage_refused():
    with pytest.raises(Unauthorized):
        decode_token("not.a.jwt", secret=SECRET, expected_type="access")


def test_argon2id_hash():
    hashed = hash_password("pa55word!")
    assert hashed.startswith("$argon2id$")
    assert verify_password("pa55word!", hashed)
    assert not verify_password("wrong", hashed)
    assert not verify_password("x", "not-a-hash")
