"""API contracts of deployments: a model version's own Serve application, placed on the cluster's nodes,
its live status, predictions through it and the log of those calls."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from raylake.core.vocabulary import DeploymentStatus
from raylake.schemas.common import Strict
from raylake.schemas.inference import FeatureValue

MAX_REPLICAS = 16
# Ray schedules custom resources in units of 1/10000: a finer amount would be rounded by Ray, not by us.
RESOURCE_UNIT = 0.0001
RESERVED_RESOURCES = frozenset({"CPU", "GPU", "memory", "object_store_memory"})
# A custom resource's name as ``ray start --resources`` takes it (``node:<ip>`` included).
ResourceName = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/\-]+$")
]
# Ray's label syntax (Kubernetes'): an optional DNS prefix and a name; a selector is a value, ``!value``,
# ``in(a,b)`` or ``!in(a,b)``.
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9_.\-]{0,61}[A-Za-z0-9])?"
_PREFIX = r"[A-Za-z0-9]([A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?"
LabelKey = Annotated[str, StringConstraints(max_length=317, pattern=rf"^({_PREFIX}/)?{_LABEL}$")]
LabelSelector = Annotated[
    str, StringConstraints(max_length=300, pattern=rf"^!?(in\({_LABEL}(, ?{_LABEL})*\)|{_LABEL})$")
]
Replicas = Annotated[int, Field(ge=1, le=MAX_REPLICAS)]


class PlacementIn(Strict):
    """Where the replicas may run: nodes with these Ray custom resources (per replica) and labels."""

    resources: Annotated[dict[ResourceName, float], Field(max_length=16)] = Field(default_factory=dict)
    node_labels: Annotated[dict[LabelKey, LabelSelector], Field(max_length=16)] = Field(default_factory=dict)
    # Deploy even when no node fits now (a node may join later); the deployment reads ``pending``.
    allow_pending: bool = False

    @model_validator(mode="after")
    def _amounts(self) -> "PlacementIn":
        for name, amount in self.resources.items():
            if name in RESERVED_RESOURCES:
                raise ValueError(f"resource {name!r} is not a custom resource (replicas take no CPU or GPU)")
            if not 0 < amount <= 1_000_000:
                raise ValueError(f"resource {name!r} needs an amount above 0 (at most 1000000), not {amount}")
            if abs(round(amount / RESOURCE_UNIT) * RESOURCE_UNIT - amount) > RESOURCE_UNIT / 100:
                raise ValueError(f"resource {name!r}: {amount} is finer than Ray's unit of {RESOURCE_UNIT}")
        return self


class Autoscaling(Strict):
    """Serve autoscales the replicas between these bounds (instead of a fixed count)."""

    min_replicas: Replicas
    max_replicas: Replicas

    @model_validator(mode="after")
    def _bounds(self) -> "Autoscaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas {self.min_replicas} is above max_replicas {self.max_replicas}")
        return self


class DeploymentCreate(Strict):
    # The model's id or uid.
    model_id: Annotated[str | int, Field(union_mode="left_to_right")]
    # ``v3``, ``3`` or an alias; the model's latest completed version when omitted.
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    replicas: Replicas = 1
    autoscaling: Autoscaling | None = None
    placement: PlacementIn = Field(default_factory=PlacementIn)


class ReplicaNode(BaseModel):
    node_id: str
    node_ip: str | None
    replicas: int


class DeploymentPublic(BaseModel):
    id: int
    uid: str
    model_id: int
    version: str
    train_id: int
    app_name: str
    replicas: int
    min_replicas: int | None
    max_replicas: int | None
    placement: dict[str, Any]
    status: DeploymentStatus
    reason: str | None
    # Live, from Serve: replicas running now, the count Serve is working towards, and where they run.
    ready_replicas: int
    target_replicas: int
    nodes: list[ReplicaNode]
    created_by: str
    created_at: datetime
    updated_at: datetime


class DeploymentsPublic(BaseModel):
    items: list[DeploymentPublic]
    total: int
    limit: int
    offset: int


class DeploymentPredict(Strict):
    """Many rows (``rows``) or one (``data``), each a flat row of named feature values."""

    rows: list[dict[str, FeatureValue]] | None = None
    data: dict[str, FeatureValue] | None = None
    explain: bool = False


class DeploymentPrediction(BaseModel):
    deployment_id: int
    model_id: int
    version: str
    # Each as the model replica answers it: prediction, probabilities, explanation (and its method).
    predictions: list[dict[str, Any]]


class OperationPublic(BaseModel):
    id: int
    deployment_id: int
    caller: str
    status_code: int
    latency_ms: float
    rows: int
    error: str | None
    created_at: datetime


class OperationsPublic(BaseModel):
    items: list[OperationPublic]
    total: int
    limit: int
    offset: int
