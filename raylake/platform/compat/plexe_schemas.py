"""Wire shapes of reference document 003 (models by name and version), as ``compat/plexe.py`` answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from raylake.core.vocabulary import ModelType
from raylake.schemas.common import Strict

# The document's upload id is raylake's dataset id: a number, sent as a number or as text.
UploadId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,10}$")] | int


class ModelCreateBody(Strict):
    upload_id: UploadId = Field(description="The dataset to train on (its raylake dataset id)")
    intent: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    metric: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = (
        None
    )
    provider: ModelType = Field(
        ModelType.AUTO, description="raylake addition: the model type; auto searches the families"
    )


class ModelOut(BaseModel):
    model_id: str
    model_name: str
    model_version: str | None = None
    status: str
    created_at: datetime
    intent: str | None = None
    provider: str
    metric_name: str | None = None
    metric_value: float | None = None
    upload_id: str | None = None


class ModelDetail(ModelOut):
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]


class StatusOut(BaseModel):
    status: str
    result: dict[str, Any] | None
    error: str | None


class DescribeOut(BaseModel):
    description: str
    features: list[str]
    target: str | None
    performance: dict[str, Any]
