"""Reference document 002 (MLConnector) at ``/compat/mlconnector``: its own paths, fields, envelopes
and status codes, mapped onto raylake's native services."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/compat/mlconnector"
router = APIRouter(prefix=PREFIX, tags=["compat: MLConnector"])
