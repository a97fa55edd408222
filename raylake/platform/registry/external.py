"""External versions: a model file trained elsewhere, registered as the model's next version.

Registration loads the uploaded file in its safe format (``ml/external.load_external``: ONNX, LightGBM
text, skops with trusted types only; a pickle never) and predicts a probe row with the signature given,
so a file that cannot be served, or a signature that does not fit it, is a 422 now rather than at the
first call. The version is then a completed run like a trained one: its own copy of the file under
``<tenant>/models/<run>/`` with a manifest, its columns from the signature, and the same replicas,
predictions, deployments and explanations.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from raylake.core.layout import model_prefix
from raylake.core.types import DataType
from raylake.core.vocabulary import ArtifactKind, JobStatus, ModelFormat, ModelStatus, Task
from raylake.ml.external import ExternalModel, ModelRefused, Signature, load_external
from raylake.platform.clock import utcnow
from raylake.platform.errors import Invalid
from raylake.platform.lake import Lake
from raylake.platform.registry import lifecycle
from raylake.platform.registry.artifacts import artifact_of, undo_on_rollback
from raylake.platform.registry.external_files import ALGORITHM, KIND, MANIFEST, MODEL_FILE
from raylake.platform.registry.models import Predictor
from raylake.platform.registry.service import get_model
from raylake.platform.storage import FileStore
from raylake.platform.tenancy import Principal
from raylake.platform.training.models import TrainingRun
from raylake.schemas.artifacts import ExternalVersionCreate

EXPORT_ADVICE = (
    "pickle and joblib files are stored but never loaded (loading one runs its code): export the model "
    "to ONNX (skl2onnx, onnxmltools) or skops (skops.io.dump) and upload that"
)


def _signature(model: Predictor, body: ExternalVersionCreate) -> Signature:
    task = body.task or Task(model.task)
    if task == Task.FORECASTING:
        raise Invalid("an external model cannot be registered as a forecaster: register a tabular task")
    if task.problem_type.value != model.problem_type:
        raise Invalid(f"model {model.id} is a {model.task} model; the version says {task}")
    inputs = (
        [(column.name, column.data_type.value) for column in body.inputs]
        if body.inputs
        else _factory_inputs(model)
    )
    names = [name for name, _ in inputs]
    if len(set(names)) != len(names):
        raise Invalid("inputs name a column twice")
    if task == Task.REGRESSION and body.class_order:
        raise Invalid("a regressor has no class_order")
    if task != Task.REGRESSION:
        if not body.class_order:
            raise Invalid("a classifier's class_order (its labels in output order) is required")
        if len(set(body.class_order)) != len(body.class_order):
            raise Invalid("class_order names a label twice")
        if task == Task.BINARY_CLASSIFICATION and len(body.class_order) != 2:
            raise Invalid(f"a binary classifier has 2 labels, not {len(body.class_order)}")
    return Signature(
        inputs=inputs,
        task=task,
        class_order=list(body.class_order) if body.class_order else None,
    )


def _factory_inputs(model: Predictor) -> list[tuple[str, str]]:
    """The inputs of the model's spec with the types of its column schema (the model factory's)."""
    spec_inputs = (model.spec or {}).get("inputs") or []
    types = {c["name"]: c.get("data_type") for c in (model.columns_schema or {}).get("columns", [])}
    if not spec_inputs:
        raise Invalid(
            f"model {model.id} has no spec with inputs (POST /models/factory with model_id sets one): "
            "give the version's inputs"
        )
    untyped = [name for name in spec_inputs if not types.get(name)]
    if untyped:
        raise Invalid(f"the model's column schema gives no type for its inputs: {', '.join(untyped)}")
    return [(name, str(types[name])) for name in spec_inputs]


def check_loadable(store: FileStore, key: str, fmt: ModelFormat, signature: Signature) -> ExternalModel:
    """Load a stored model file with its signature; 422 saying why when it cannot be served."""
    if fmt == ModelFormat.PICKLE:
        raise Invalid(EXPORT_ADVICE)
    with tempfile.TemporaryDirectory(prefix="raylake-external-") as tmp:
        path = Path(tmp) / "model"
        path.write_bytes(store.read_bytes(key))
        try:
            return load_external(path, fmt, signature)
        except ModelRefused as exc:
            raise Invalid(str(exc)) from None
        except ValueError as exc:
            raise Invalid(f"the signature does not fit the model: {exc}") from None


def register(
    *, session: Session, ctx: Lake, principal: Principal, model_id: int | str, body: ExternalVersionCreate
) -> TrainingRun:
    """Register an uploaded model file as the model's next version (completed at once, ``trained``)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    lifecycle.check_usable(model, "given a version")
    artifact = artifact_of(session, model, body.artifact_id)
    if artifact.file_kind != ArtifactKind.MODEL:
        raise Invalid(f"artifact {artifact.id} is a {artifact.file_kind} file, not a model")
    fmt = ModelFormat(artifact.format or ModelFormat.UNKNOWN)
    signature = _signature(model, body)
    check_loadable(ctx.store, artifact.storage_key, fmt, signature)
    target = body.target or model.target or "prediction"
    if target in {name for name, _ in signature.inputs}:
        raise Invalid(f"the target {target!r} is also an input")
    classifier = signature.task != Task.REGRESSION
    columns: list[dict[str, Any]] = [
        {"name": name, "data_type": data_type, "attribute": "Feature", "default": None}
        for name, data_type in signature.inputs
    ]
    columns.append(
        {
            "name": target,
            "data_type": DataType.STRING.value if classifier else DataType.FLOAT.value,
            "attribute": "Target",
            "default": None,
        }
    )
    metrics: dict[str, Any] = {"task": signature.task.value, **(body.metrics or {})}
    if classifier:
        metrics["labels"] = signature.class_order
    version = session.exec(
        select(func.coalesce(func.max(TrainingRun.version), 0)).where(TrainingRun.predictor_id == model.id)
    ).one()
    now = utcnow()
    assert model.id is not None
    run = TrainingRun(
        tenant_id=model.tenant_id,
        predictor_id=model.id,
        version=int(version) + 1,
        dataset_name=artifact.filename,
        data_source=KIND,
        problem_type=signature.task.problem_type.value,
        domain=model.domain,
        columns=columns,
        algorithm=ALGORITHM,
        model_algorithm=f"{ALGORITHM} ({fmt.value})",
        status=JobStatus.COMPLETED.value,
        stage=JobStatus.COMPLETED.value,
        percent=100,
        metrics=metrics,
        source_artifact_id=artifact.id,
        created_by=principal.username,
        started_at=now,
        finished_at=now,
    )
    session.add(run)
    session.flush()
    prefix = model_prefix(run)
    manifest = {
        "kind": KIND,
        "format": fmt.value,
        "file": MODEL_FILE,
        "sha256": artifact.sha256,
        "artifact_id": artifact.id,
        "signature": {
            "inputs": [list(pair) for pair in signature.inputs],
            "task": signature.task.value,
            "class_order": signature.class_order,
        },
    }
    ctx.store.put_bytes(f"{prefix}/{MODEL_FILE}", ctx.store.read_bytes(artifact.storage_key))
    ctx.store.put_bytes(f"{prefix}/{MANIFEST}", json.dumps(manifest).encode())
    undo_on_rollback(session, lambda: ctx.store.delete_prefix(prefix))
    run.artifact_key = prefix
    session.add(run)
    if model.target is None:
        model.target = target
    if model.status in (ModelStatus.DRAFT, ModelStatus.FAILED):
        lifecycle.start_training(session, model, principal.username)
    session.add(model)
    session.flush()
    lifecycle.run_ended(session, run)
    return run
