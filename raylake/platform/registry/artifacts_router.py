"""A model's artifacts (upload, list, download, delete) and its external versions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["registry"])
