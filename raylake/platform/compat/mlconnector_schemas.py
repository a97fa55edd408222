"""Wire shapes of reference document 002 (MLConnector), as ``compat/mlconnector.py`` takes and answers them.

The document leaves most item shapes open (``hyperparameter``, ``featurelist``, ...): they are kept as
the client sent them. raylake additions are marked; none is required.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from raylake.core.vocabulary import MAX_ID, ModelType
from raylake.schemas.common import Strict
from raylake.schemas.inference import FeatureValue
from raylake.schemas.training import PredictorName

PREFIX = "/compat/mlconnector"  # where the document's paths live (its deployments' endpoints name it)

Items = Annotated[list[dict[str, Any]], Field(max_length=2000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | int
Text = Annotated[str, StringConstraints(max_length=100_000)]


class DriftDetection(Strict):
    is_true: Annotated[int, Field(ge=0, le=1)] = 0
    method: Annotated[int, Field(ge=0, le=3, description="0 psi, 1 ks, 2 js, 3 chi2")] = 0


class MLModelUpdate(Strict):
    modelname: PredictorName | None = None
    modelkind: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    hyperparameter: Items | None = None
    modelperformance: Items | None = None
    trainingresource: Items | None = None
    runresource: Items | None = None
    featurelist: Items | None = None
    inference: Items | None = None
    modeltags: Annotated[list[Tag], Field(max_length=50)] | None = None
    drift_detection: Annotated[list[DriftDetection], Field(max_length=1)] | None = None


class MLModelCreate(MLModelUpdate):
    modelname: PredictorName
    modelkind: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    # raylake additions: what /mltraining/add trains on, and what a classifier's uploaded file outputs.
    dataset_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None
    target: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    class_order: Annotated[list[str], Field(min_length=2, max_length=10_000)] | None = None
    model_type: ModelType = ModelType.AUTO


class MLModel(BaseModel):
    modelid: str
    modelname: str
    modelkind: str
    hyperparameter: list[dict[str, Any]]
    modelperformance: list[dict[str, Any]]
    trainingresource: list[dict[str, Any]]
    runresource: list[dict[str, Any]]
    featurelist: list[dict[str, Any]]
    inference: list[dict[str, Any]]
    modeltags: list[str]
    drift_detection: list[DriftDetection]
    # raylake additions
    status: str
    versions: list[str]
    dataset_id: int | None
    target: str | None
    created_at: datetime


class FileSchema(BaseModel):
    fileid: str
    modelid: str
    filename: str
    file_kind: str
    format: str | None
    size: int
    sha256: str
    created_at: datetime
    version: str | None = Field(None, description="raylake: the version a model file was registered as")


class Placement(BaseModel):
    clusterID: str = "*"
    node: str = "*"
    continuum: bool = False


class MLTrainCreate(Strict):
    modelid: Ref
    placement: Placement = Placement()
    dataset_id: Annotated[int, Field(ge=1, le=MAX_ID)] | None = None  # raylake: another dataset


class MLTrain(BaseModel):
    modelid: str
    trainid: str
    version: str
    status: str
    placement: Placement


class MLDeploymentCreate(Strict):
    modelid: Ref
    ownerid: Annotated[str, StringConstraints(max_length=64)] | None = None
    placement: Placement = Placement()
    deployment_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    inference_data: int | None = None
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None  # raylake


class MLDeployment(BaseModel):
    deployment_id: str
    modelid: str
    ownerid: str
    placement: dict[str, Any]
    status: str
    version: str
    endpoint: str
    reason: str | None = None
    created_at: datetime


class DeploymentStatusOut(BaseModel):
    deployment_id: str
    status: str
    reason: str | None
    ready_replicas: int
    target_replicas: int


class MLDeploymentOposCreate(Strict):
    ownerid: Annotated[str, StringConstraints(max_length=64)] | None = None
    deploymentid: Ref
    modelid: Ref
    data: Text | None = None
    result: Text | None = None


class MLDeploymentOposReturn(BaseModel):
    operationid: str | None = None
    ownerid: str
    deploymentid: str
    modelid: str | None
    status_code: int | None = None
    rows: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    timestamp: datetime | None = None


Row = dict[str, FeatureValue]
Values = list[FeatureValue]


class PredictBody(Strict):
    """One row or many: named (``{"x0": 1.0, ...}``) or by position in the model's feature order."""

    data: Row | Values | list[Row] | list[Values]
    explain: bool = False
