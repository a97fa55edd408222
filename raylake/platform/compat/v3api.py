"""Reference document 001 (model REST API v3) at ``/compat/v3api``: its own paths, fields, envelopes
and status codes, mapped onto raylake's native services.

A document model is a registered model (its ``id`` the model's ``uid``, its ``project_id`` the
project's ``uid``); the document's fields raylake has no column for are kept in the model's metadata
under ``v3api``. Its artifacts are external versions in safe formats (a pickle is refused), its
surrogates raylake's surrogate jobs, and its columns the model factory's.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Path, Query, UploadFile

from raylake.core.vocabulary import ArtifactKind
from raylake.platform.compat import v3api_mapping as mapping
from raylake.platform.compat.v3api_schemas import (
    EXTRA_FIELDS,
    ColumnV3,
    FactoryRequestV3,
    FactoryResultV3,
    Job,
    JobData,
    ModelCreateV3,
    ModelSummaryV3,
    ModelUpdateV3,
    ModelV3,
    Normal,
    Page,
    Paginated,
    SchemaV3,
    SurrogateRequestV3,
)
from raylake.platform.deps import (
    ForgetServables,
    JobsDep,
    LakeDep,
    SessionDep,
    SettingsDep,
    TrainRead,
    TrainRun,
)
from raylake.platform.errors import Invalid
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.registry import artifacts, external, factory, projects, service, surrogates
from raylake.platform.registry.lifecycle import version_name
from raylake.platform.uploads import staged_uploads
from raylake.schemas.artifacts import ExternalVersionCreate
from raylake.schemas.factory import FactoryRequest
from raylake.schemas.registry import ModelCreate, ModelUpdate

PREFIX = "/compat/v3api"
router = APIRouter(prefix=PREFIX, tags=["compat: model API v3"])
ModelId = Annotated[UUID, Path(description="model id path parameter")]
ColumnId = Annotated[str, Path(min_length=1, max_length=256, description="column_id path parameter")]


@router.get("/v3/models", response_model=Paginated[ModelSummaryV3])
def list_models(
    session: SessionDep,
    principal: TrainRead,
    latest_only: bool = False,
    project_id: UUID | None = None,
    filter: Annotated[str | None, Query(max_length=2000)] = None,
    search: Annotated[str | None, Query(max_length=128)] = None,
    ordering: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Paginated[ModelSummaryV3]:
    """Get list of model for provided query and filters (each raylake model once, with its versions)."""
    project = (
        projects.get_project(session=session, principal=principal, project_id=str(project_id))
        if project_id is not None
        else None
    )
    rows, total = service.list_models(
        session=session,
        principal=principal,
        project_id=project.id if project is not None else None,
        search=search,
        filters=mapping.filters(filter),
        ordering=mapping.ordering(ordering),
        limit=limit,
        offset=offset,
    )
    items = mapping.shown(session, principal, rows, latest_only=latest_only)
    return Paginated[ModelSummaryV3](data=Page[ModelSummaryV3](**mapping.page(items, total, limit, offset)))


@router.post("/v3/models", response_model=Normal[ModelV3])
def create_model(session: SessionDep, principal: TrainRun, body: ModelCreateV3) -> Normal[ModelV3]:
    """Add a new model under a project (a draft until its first artifact is deployed)."""
    project = projects.get_project(session=session, principal=principal, project_id=str(body.project_id))
    data = mapping.native(
        ModelCreate,
        name=body.name,
        project_id=project.id,
        description=body.description,
        task=body.task,
        target=body.spec.targets[0] if body.spec is not None and body.spec.targets else None,
        owner=body.owner_id,
        metadata={mapping.META: body.model_dump(mode="json", include=set(EXTRA_FIELDS), exclude_none=True)},
        columns_schema=body.columns_schema,
        spec=body.spec,
    )
    return mapping.one(
        session, principal, service.create_model(session=session, principal=principal, data=data)
    )


@router.get("/v3/models/{model_id}", response_model=Normal[ModelV3])
def read_model(session: SessionDep, principal: TrainRead, model_id: ModelId) -> Normal[ModelV3]:
    """Details of a model for given model id."""
    return mapping.one(
        session, principal, service.get_model(session=session, principal=principal, model_id=str(model_id))
    )


@router.patch("/v3/models/{model_id}", response_model=Normal[ModelV3], dependencies=[ForgetServables])
def update_model(
    session: SessionDep, principal: TrainRun, model_id: ModelId, body: ModelUpdateV3
) -> Normal[ModelV3]:
    """Update the fields of a model (its task stays; ``LIVE`` is raylake's ``trained``)."""
    model = service.get_model(session=session, principal=principal, model_id=str(model_id))
    if body.task is not None and body.task != model.task:
        raise Invalid(f"a model's task stays {model.task}: register another model for {body.task}")
    extra = body.model_dump(mode="json", include=set(EXTRA_FIELDS), exclude_unset=True)
    data = mapping.native(
        ModelUpdate,
        description=body.description,
        status=body.status.native if body.status is not None else None,
        owner=body.owner_id,
        metadata={**model.model_metadata, mapping.META: {**mapping.extra(model), **extra}} if extra else None,
        columns_schema=body.columns_schema,
        spec=body.spec,
    )
    model = service.update_model(session=session, principal=principal, model_id=model.uid, data=data)
    return mapping.one(session, principal, model)


@router.delete(
    "/v3/models/{model_id}", response_model=Normal[JobData], status_code=202, dependencies=[ForgetServables]
)
def delete_model(
    session: SessionDep,
    ctx: LakeDep,
    jobs: JobsDep,
    gateway: GatewayDep,
    principal: TrainRun,
    model_id: ModelId,
) -> Normal[JobData]:
    """Delete a model and everything it owns; done when this answers (the job names the model)."""
    model = service.get_model(session=session, principal=principal, model_id=str(model_id))
    job = Job(id=model.uid, name=f"Delete model {model.predictor_name}")
    service.delete_model(
        session=session, ctx=ctx, jobs=jobs, principal=principal, model_id=model.uid, gateway=gateway
    )
    return Normal[JobData](data=JobData(job=job))


@router.post("/v3/model-factory", response_model=Normal[FactoryResultV3])
def model_factory(
    session: SessionDep, ctx: LakeDep, principal: TrainRun, body: FactoryRequestV3
) -> Normal[FactoryResultV3]:
    """Generate model from the given data sample (an uploaded file)."""
    request = mapping.native(
        FactoryRequest,
        file_id=body.file_id,
        spec=body.spec,
        max_cardinality=body.max_cardinality,
        sample_size=body.sample_size,
    )
    result = factory.generate(session=session, ctx=ctx, principal=principal, request=request)
    schema = SchemaV3(schema_version=1, columns=mapping.columns_v3(result.columns_schema.columns))
    return Normal[FactoryResultV3](data=FactoryResultV3(columns_schema=schema, spec=result.spec))


def _deploy_artifact(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    principal: TrainRun,
    model_id: ModelId,
    file: UploadFile,
) -> Normal[JobData]:
    """Upload a model file and register it as the model's next version (its signature: the model's
    spec and schema; a classifier's labels: ``task_params.target_class_order``)."""
    model = service.get_model(session=session, principal=principal, model_id=str(model_id))  # 404 first
    with staged_uploads(settings, [file]) as staged:
        artifact = artifacts.upload(
            session=session,
            ctx=ctx,
            principal=principal,
            model_id=model.uid,
            file_kind=ArtifactKind.MODEL,
            staged=staged[0],
        )
    order = (mapping.extra(model).get("task_params") or {}).get("target_class_order")
    body = mapping.native(ExternalVersionCreate, artifact_id=artifact.uid, class_order=order or None)
    run = external.register(session=session, ctx=ctx, principal=principal, model_id=model.uid, body=body)
    name = f"Deploy artifact {artifact.filename} as version {version_name(run)}"
    return Normal[JobData](data=JobData(job=Job(id=str(UUID(hex=run.uid)), name=name)))


ModelFile = Annotated[UploadFile, File(description="The model file: ONNX, LightGBM text or skops")]


@router.post("/v3/models/{model_id}/deploy-artifact", response_model=Normal[JobData])
def upload_artifact(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    principal: TrainRun,
    model_id: ModelId,
    file: ModelFile,
) -> Normal[JobData]:
    """Upload artifacts associated with the model: its first (or next) version."""
    return _deploy_artifact(session, settings, ctx, principal, model_id, file)


@router.put("/v3/models/{model_id}/deploy-artifact", response_model=Normal[JobData])
def update_artifact(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    principal: TrainRun,
    model_id: ModelId,
    file: ModelFile,
) -> Normal[JobData]:
    """Update artifacts associated with the model: a new version (the earlier ones stay)."""
    return _deploy_artifact(session, settings, ctx, principal, model_id, file)


def _deploy_surrogate(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_id: ModelId,
    body: SurrogateRequestV3,
    replace: bool,
) -> Normal[JobData]:
    run, job = surrogates.submit(
        session=session,
        settings=settings,
        jobs=jobs,
        principal=principal,
        model_id=str(model_id),
        version=None,
        dataset_id=body.env_id,
        replace=replace,
    )
    name = f"Fit surrogate of version {version_name(run)}"
    return Normal[JobData](data=JobData(job=Job(id=job.ray_job_id or str(job.id), name=name)))


@router.post("/v3/models/{model_id}/deploy-surrogate", response_model=Normal[JobData], status_code=202)
def deploy_surrogate(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_id: ModelId,
    body: SurrogateRequestV3,
) -> Normal[JobData]:
    """Deploy a surrogate model: a Ray job fits it on ``env_id``'s rows, predicted by the newest version."""
    return _deploy_surrogate(session, settings, jobs, principal, model_id, body, replace=False)


@router.put("/v3/models/{model_id}/deploy-surrogate", response_model=Normal[JobData], status_code=202)
def update_surrogate(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_id: ModelId,
    body: SurrogateRequestV3,
) -> Normal[JobData]:
    """Update a surrogate model: a new one fitted, replacing the one there once fitted."""
    return _deploy_surrogate(session, settings, jobs, principal, model_id, body, replace=True)


@router.get("/v3/models/{model_id}/columns", response_model=Paginated[ColumnV3])
def list_columns(session: SessionDep, principal: TrainRead, model_id: ModelId) -> Paginated[ColumnV3]:
    """Details of all columns for a model."""
    items = mapping.columns_v3(
        factory.model_columns(session=session, principal=principal, model_id=str(model_id))
    )
    page = mapping.page(items, len(items), max(len(items), 1), 0)
    return Paginated[ColumnV3](data=Page[ColumnV3](**page))


@router.get("/v3/models/{model_id}/columns/{column_id}", response_model=Normal[ColumnV3])
def read_column(
    session: SessionDep, principal: TrainRead, model_id: ModelId, column_id: ColumnId
) -> Normal[ColumnV3]:
    """Details of a specific column for a model."""
    column = factory.model_column(
        session=session, principal=principal, model_id=str(model_id), column_id=column_id
    )
    return Normal[ColumnV3](data=mapping.columns_v3([column])[0])
