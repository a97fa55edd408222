"""Dedicated deployments: create with placement, list, status, delete, predict, operations log."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["deployments"])
