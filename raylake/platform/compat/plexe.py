"""Reference document 003 (models by name and version) at ``/compat/plexe``: its own paths, fields, envelopes
and status codes, mapped onto raylake's native services."""

from __future__ import annotations

from fastapi import APIRouter

PREFIX = "/compat/plexe"
router = APIRouter(prefix=PREFIX, tags=["compat: models by name"])
