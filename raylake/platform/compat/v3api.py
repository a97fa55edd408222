"""Reference document 001 (model REST API v3) at ``/compat/v3api``: its own paths, fields, envelopes
and status codes, mapped onto raylake's native services."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/compat/v3api"
router = APIRouter(prefix=PREFIX, tags=["compat: model API v3"])
