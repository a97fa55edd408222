"""Imports every feature's tables so SQLModel.metadata (and Alembic) sees the whole schema."""

from raylake.platform.apikeys.models import ApiKey
from raylake.platform.auth.models import AuthSession, LoginFailure, RefreshToken
from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import Dataset, DatasetFile, DatasetStatistics, DatasetVersion
from raylake.platform.events.models import Event, Webhook, WebhookDelivery
from raylake.platform.inference.models import Prediction
from raylake.platform.monitoring.drift_models import DriftReport
from raylake.platform.rbac.models import Permission, Role, RolePermission, UserRole
from raylake.platform.registry.models import (
    DeploymentOperation,
    ModelAlias,
    ModelArtifact,
    ModelDeployment,
    ModelTag,
    Predictor,
    Project,
    SurrogateJob,
)
from raylake.platform.standby import JobStandby
from raylake.platform.templates.models import Template, TemplateColumn
from raylake.platform.tenants.models import Tenant
from raylake.platform.training.models import FeatureImportanceJob, PreprocessState, TrainingRun
from raylake.platform.users.models import User

__all__ = [
    "ApiKey",
    "AuthSession",
    "Dataset",
    "DatasetFile",
    "DatasetStatistics",
    "DatasetVersion",
    "DeploymentOperation",
    "DriftReport",
    "Event",
    "FeatureImportanceJob",
    "JobStandby",
    "LakeTable",
    "LoginFailure",
    "ModelAlias",
    "ModelArtifact",
    "ModelDeployment",
    "ModelTag",
    "Permission",
    "Prediction",
    "Predictor",
    "PreprocessState",
    "Project",
    "RefreshToken",
    "Role",
    "RolePermission",
    "SurrogateJob",
    "Template",
    "TemplateColumn",
    "Tenant",
    "TrainingRun",
    "User",
    "UserRole",
    "Webhook",
    "WebhookDelivery",
]
