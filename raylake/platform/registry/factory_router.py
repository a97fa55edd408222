"""The model factory (a dataset's or file's column schema and spec suggestion) and a model's columns."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["registry"])
