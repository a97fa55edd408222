"""A model's artifacts (upload, list, download, delete) and its external versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile
from fastapi.responses import StreamingResponse

from raylake.core.vocabulary import ArtifactKind
from raylake.platform.deps import (
    CallbackTokenDep,
    JobCallback,
    JobsDep,
    LakeDep,
    SessionDep,
    SettingsDep,
    TrainRead,
    TrainRun,
)
from raylake.platform.inference.deployments import forget_after_commit
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.inference.loading import run_prefix
from raylake.platform.registry import artifacts, external, surrogates, versions
from raylake.platform.registry.lifecycle import version_name
from raylake.platform.registry.models import SurrogateJob
from raylake.platform.registry.paths import ModelRef
from raylake.platform.registry.service import get_model
from raylake.platform.storage import safe_filename
from raylake.platform.training.models import TrainingRun
from raylake.platform.uploads import staged_uploads
from raylake.schemas.artifacts import (
    ArtifactPublic,
    ArtifactsPublic,
    ExternalVersionCreate,
    SurrogatePublic,
    SurrogateRequest,
    SurrogateResult,
)
from raylake.schemas.registry import VersionPublic
from raylake.schemas.training import CallbackAck

router = APIRouter(tags=["registry"])
ArtifactRef = Annotated[
    str,
    Path(
        pattern=r"^([0-9]{1,10}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    ),
]


@router.post("/models/{model_id}/artifacts", response_model=ArtifactPublic, status_code=201)
def upload_artifact(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    principal: TrainRun,
    model_id: ModelRef,
    file: Annotated[UploadFile, File(description="The file: a model, data, code or environment file")],
    file_kind: Annotated[ArtifactKind, Form(description="What the file is")] = ArtifactKind.MODEL,
) -> ArtifactPublic:
    """Upload a file to a model, streamed under the upload cap (413 above it, nothing kept); a model
    file's format is told from its bytes (a pickle is stored but never loaded)."""
    get_model(session=session, principal=principal, model_id=model_id)  # 404 before reading the body
    with staged_uploads(settings, [file]) as staged:
        artifact = artifacts.upload(
            session=session,
            ctx=ctx,
            principal=principal,
            model_id=model_id,
            file_kind=file_kind,
            staged=staged[0],
        )
    return artifacts.public(artifact)


@router.get("/models/{model_id}/artifacts", response_model=ArtifactsPublic)
def list_artifacts(session: SessionDep, principal: TrainRead, model_id: ModelRef) -> ArtifactsPublic:
    """The files uploaded to a model, oldest first, with size and SHA-256."""
    items, total = artifacts.list_artifacts(session=session, principal=principal, model_id=model_id)
    return ArtifactsPublic(items=[artifacts.public(a) for a in items], total=total)


@router.get(
    "/models/{model_id}/artifacts/{artifact_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file as uploaded"}},
)
def download_artifact(
    session: SessionDep, ctx: LakeDep, principal: TrainRead, model_id: ModelRef, artifact_id: ArtifactRef
) -> StreamingResponse:
    """Download an artifact as it was uploaded (by id or uid)."""
    artifact = artifacts.get_artifact(
        session=session, principal=principal, model_id=model_id, artifact_id=artifact_id
    )
    return StreamingResponse(
        artifacts.download(ctx.store, artifact),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{safe_filename(artifact.filename)}"',
            "X-Checksum-SHA256": artifact.sha256,
        },
    )


@router.delete("/models/{model_id}/artifacts/{artifact_id}", status_code=204)
def delete_artifact(
    session: SessionDep, ctx: LakeDep, principal: TrainRun, model_id: ModelRef, artifact_id: ArtifactRef
) -> Response:
    """Delete an artifact and its file; a version registered from it keeps its own copy."""
    artifacts.delete(
        session=session, ctx=ctx, principal=principal, model_id=model_id, artifact_id=artifact_id
    )
    return Response(status_code=204)


@router.post("/models/{model_id}/versions", response_model=VersionPublic, status_code=201)
def register_version(
    session: SessionDep, ctx: LakeDep, principal: TrainRun, model_id: ModelRef, body: ExternalVersionCreate
) -> VersionPublic:
    """Register an uploaded model file (ONNX, LightGBM text, skops) as the model's next version, with
    its signature: the file is loaded and a probe row predicted first (422 if it cannot be served)."""
    run = external.register(session=session, ctx=ctx, principal=principal, model_id=model_id, body=body)
    model = get_model(session=session, principal=principal, model_id=model_id)
    return versions.public(model, run, {})


def _surrogate(run: TrainingRun, job: SurrogateJob) -> SurrogatePublic:
    fitted = job.result or {}
    return SurrogatePublic(
        model_id=run.predictor_id,
        version=version_name(run),
        train_id=job.training_run_id,
        status=job.status,
        stage=job.stage,
        percent=job.percent,
        error=job.error,
        ray_job_id=job.ray_job_id,
        dataset_id=job.dataset_id,
        fidelity=fitted.get("fidelity"),
        metric=fitted.get("metric"),
        rows=fitted.get("rows"),
    )


def _fit_surrogate(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_id: str,
    body: SurrogateRequest,
    replace: bool,
) -> SurrogatePublic:
    run, job = surrogates.submit(
        session=session,
        settings=settings,
        jobs=jobs,
        principal=principal,
        model_id=model_id,
        version=body.version,
        dataset_id=body.dataset_id,
        replace=replace,
    )
    return _surrogate(run, job)


@router.post("/models/{model_id}/surrogate", response_model=SurrogatePublic, status_code=202)
def create_surrogate(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_id: ModelRef,
    body: SurrogateRequest,
) -> SurrogatePublic:
    """Fit a LightGBM surrogate of an external version on a dataset's predictions (a Ray job); its
    fidelity is measured on held-out rows, and explanations then use TreeSHAP on it."""
    return _fit_surrogate(session, settings, jobs, principal, model_id, body, replace=False)


@router.put("/models/{model_id}/surrogate", response_model=SurrogatePublic, status_code=202)
def replace_surrogate(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_id: ModelRef,
    body: SurrogateRequest,
) -> SurrogatePublic:
    """Fit a new surrogate for a version, replacing the one it has once the new one is fitted."""
    return _fit_surrogate(session, settings, jobs, principal, model_id, body, replace=True)


@router.get("/models/{model_id}/surrogate", response_model=SurrogatePublic)
def read_surrogate(
    session: SessionDep,
    jobs: JobsDep,
    principal: TrainRead,
    model_id: ModelRef,
    version: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> SurrogatePublic:
    """Where a version's newest surrogate job stands, with the fitted surrogate's fidelity."""
    run, job = surrogates.latest(
        session=session, jobs=jobs, principal=principal, model_id=model_id, version=version
    )
    return _surrogate(run, job)


@router.post("/models/surrogate-result", response_model=CallbackAck, dependencies=[JobCallback])
def surrogate_result(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    gateway: GatewayDep,
    token: CallbackTokenDep,
    body: SurrogateResult,
) -> CallbackAck:
    """A surrogate job's report (its own callback token only); replicas then reload the version."""
    run = surrogates.record(session=session, settings=settings, store=ctx.store, token=token, body=body)
    forget_after_commit(session, gateway, run_prefix(run.tenant_id, run.id))  # type: ignore[arg-type]
    return CallbackAck(message="surrogate result received")
