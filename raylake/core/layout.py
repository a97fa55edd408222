"""Where a run's and a prediction's outputs live: the names both the jobs that write them and the
services that read and delete them use."""

from __future__ import annotations

from typing import Protocol


class TenantRow(Protocol):
    tenant_id: str
    id: int | None


def model_prefix(run: TenantRow) -> str:
    """The file-store folder of a training run's artifacts (model, preprocessing state, schema)."""
    return f"{run.tenant_id}/models/{run.id}"


def predictions_prefix(prediction: TenantRow) -> str:
    """The file-store folder a batch prediction's outputs are written under."""
    return f"{prediction.tenant_id}/predictions/{prediction.id}/"


def prediction_table(prediction: TenantRow) -> str:
    """The gold table (in namespace ``gold``) of a batch prediction's rows."""
    return f"prediction_{prediction.id}"


def forecast_table(run: TenantRow) -> str:
    """The gold table (in namespace ``gold``) of a forecasting run's forecast."""
    return f"forecast_{run.id}"


def artifacts_prefix(tenant_id: str, model_id: int) -> str:
    """The file-store folder of the files uploaded to a registered model (its artifacts)."""
    return f"{tenant_id}/model-artifacts/{model_id}"


def prediction_log_table(model_id: int) -> str:
    """The gold table (in namespace ``gold``) where a registered model's predictions are captured."""
    return f"prediction_log_{model_id}"


def feedback_table(model_id: int) -> str:
    """The gold table where the true labels sent for a model's captured predictions are kept."""
    return f"feedback_{model_id}"


HANDOFF_NAMESPACE = "raylake"  # Ray's internal key-value namespace of runs handed to notebooks' jobs


def handoff_key(submission_id: str) -> bytes:
    """Where the API leaves a run for the Ray job that asked to train it (``training/handoff.py``)."""
    return f"training-handoff:{submission_id}".encode()
