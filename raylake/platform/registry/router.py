"""The model registry's routes: projects, models, versions, aliases, describe, infer, worker callbacks."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError

from raylake.core.vocabulary import MAX_ID, ModelStatus, Task
from raylake.platform.db import session_scope
from raylake.platform.deps import (
    CallbackTokenDep,
    ForgetServables,
    IdPath,
    InferenceRun,
    JobCallback,
    JobsDep,
    LakeDep,
    SessionDep,
    SettingsDep,
    TrainRead,
    TrainRun,
)
from raylake.platform.errors import Invalid
from raylake.platform.inference import hotpath
from raylake.platform.inference import service as inference
from raylake.platform.inference.deps import GatewayDep
from raylake.platform.monitoring.capture import CaptureSource
from raylake.platform.registry import callbacks, projects, service, versions
from raylake.platform.registry.paths import ModelRef, Version
from raylake.platform.tenancy import Principal
from raylake.schemas.inference import PredictRequest
from raylake.schemas.registry import (
    AliasName,
    AliasPublic,
    AliasSet,
    Describe,
    InferRequest,
    ModelCreate,
    ModelPublic,
    ModelsPublic,
    ModelTrainRequest,
    ModelUpdate,
    ProjectCreate,
    ProjectPublic,
    ProjectsPublic,
    ProjectUpdate,
    VersionComplete,
    VersionFailure,
    VersionPublic,
    VersionsPublic,
)
from raylake.schemas.training import CallbackAck

router = APIRouter(tags=["registry"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


@router.post("/projects", response_model=ProjectPublic, status_code=201)
def create_project(session: SessionDep, principal: TrainRun, body: ProjectCreate) -> ProjectPublic:
    """Create a project in the caller's tenant: 201 with it."""
    return projects.public(session, projects.create_project(session=session, principal=principal, data=body))


@router.get("/projects", response_model=ProjectsPublic)
def list_projects(
    session: SessionDep, principal: TrainRead, limit: Limit = 50, offset: Offset = 0
) -> ProjectsPublic:
    """The tenant's projects, a page at a time."""
    rows, total = projects.list_projects(session=session, principal=principal, skip=offset, limit=limit)
    return ProjectsPublic(
        items=[projects.public(session, p) for p in rows], total=total, limit=limit, offset=offset
    )


@router.get("/projects/{project_id}", response_model=ProjectPublic)
def read_project(session: SessionDep, principal: TrainRead, project_id: IdPath) -> ProjectPublic:
    """One project by id or uid (404 another tenant's)."""
    return projects.public(
        session, projects.get_project(session=session, principal=principal, project_id=project_id)
    )


@router.patch("/projects/{project_id}", response_model=ProjectPublic)
def update_project(
    session: SessionDep, principal: TrainRun, project_id: IdPath, body: ProjectUpdate
) -> ProjectPublic:
    """Rename or redescribe a project."""
    project = projects.update_project(session=session, principal=principal, project_id=project_id, data=body)
    return projects.public(session, project)


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(session: SessionDep, principal: TrainRun, project_id: IdPath) -> Response:
    """Delete an empty project: 204 (409 while it holds models, and for the default project)."""
    projects.delete_project(session=session, principal=principal, project_id=project_id)
    return Response(status_code=204)


@router.post("/models", response_model=ModelPublic, status_code=201)
def create_model(session: SessionDep, principal: TrainRun, body: ModelCreate) -> ModelPublic:
    """Register a model (a draft until its first version): 201 with it."""
    return service.public(session, service.create_model(session=session, principal=principal, data=body))


@router.get("/models", response_model=ModelsPublic)
def list_models(
    session: SessionDep,
    principal: TrainRead,
    project_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: ModelStatus | None = None,
    task: Task | None = None,
    tag: Annotated[list[str] | None, Query(max_length=20)] = None,
    search: Annotated[str | None, Query(max_length=128)] = None,
    filter: Annotated[list[str] | None, Query(max_length=20)] = None,
    ordering: Annotated[str | None, Query(max_length=256)] = None,
    latest_only: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Models matching every condition; each with all its versions, or only its latest (``latest_only``)."""
    rows, total = service.list_models(
        session=session,
        principal=principal,
        project_id=project_id,
        status=status,
        task=task,
        tags=tag or (),
        search=search,
        filters=filter or (),
        ordering=ordering,
        limit=limit,
        offset=offset,
    )
    items = service.public_many(session, rows, latest_only=latest_only)
    page = ModelsPublic(items=items, total=total, limit=limit, offset=offset)
    # Built and checked once here: a Response is not validated again against response_model.
    return Response(page.model_dump_json(), media_type="application/json")


@router.get("/models/{model_id}", response_model=ModelPublic)
def read_model(session: SessionDep, principal: TrainRead, model_id: ModelRef) -> ModelPublic:
    """One model by id or uid, with its versions and aliases (404 another tenant's)."""
    return service.public(session, service.get_model(session=session, principal=principal, model_id=model_id))


@router.patch("/models/{model_id}", response_model=ModelPublic, dependencies=[ForgetServables])
def update_model(
    session: SessionDep, principal: TrainRun, model_id: ModelRef, body: ModelUpdate
) -> ModelPublic:
    """Change a model's name, description, status, metrics, metadata, tags, schema, capture, drift or
    feedback settings."""
    model = service.update_model(session=session, principal=principal, model_id=model_id, data=body)
    return service.public(session, model)


@router.delete("/models/{model_id}", status_code=204, dependencies=[ForgetServables])
def delete_model(
    session: SessionDep,
    ctx: LakeDep,
    jobs: JobsDep,
    gateway: GatewayDep,
    principal: TrainRun,
    model_id: ModelRef,
) -> Response:
    """Delete a model with everything it owns, everywhere: 204."""
    service.delete_model(
        session=session, ctx=ctx, jobs=jobs, principal=principal, model_id=model_id, gateway=gateway
    )
    return Response(status_code=204)


@router.post("/models/{model_id}/train", response_model=ModelPublic, status_code=202)
def train_model(
    session: SessionDep,
    settings: SettingsDep,
    ctx: LakeDep,
    jobs: JobsDep,
    principal: TrainRun,
    model_id: ModelRef,
    body: ModelTrainRequest | None = None,
) -> ModelPublic:
    """Start the next version on Ray: 202, the model ``training``; then ``trained`` or ``failed``."""
    run = versions.train(
        session=session,
        settings=settings,
        ctx=ctx,
        jobs=jobs,
        principal=principal,
        model_id=model_id,
        body=body or ModelTrainRequest(),
    )
    return service.public(
        session, service.get_model(session=session, principal=principal, model_id=run.predictor_id)
    )


@router.get("/models/{model_id}/versions", response_model=VersionsPublic)
def list_versions(session: SessionDep, principal: TrainRead, model_id: ModelRef) -> VersionsPublic:
    """A model's versions, newest first, with their aliases."""
    items = versions.list_versions(session=session, principal=principal, model_id=model_id)
    return VersionsPublic(items=items, total=len(items))


@router.get("/models/{model_id}/versions/{version}", response_model=VersionPublic)
def read_version(
    session: SessionDep, principal: TrainRead, model_id: ModelRef, version: Version
) -> VersionPublic:
    """One version by number (v3) or alias."""
    return versions.get_version(session=session, principal=principal, model_id=model_id, version=version)


@router.get("/models/{model_id}/versions/{version}/describe", response_model=Describe)
def describe_version(
    session: SessionDep, principal: TrainRead, model_id: ModelRef, version: Version
) -> Describe:
    """A version's description: features, target, performance and JSON Schemas of its inputs and outputs."""
    return versions.describe(session=session, principal=principal, model_id=model_id, version=version)


def _servable(
    request: Request, principal: Principal, model_id: int | str, version: str
) -> inference.Servable:
    with session_scope(request.app.state.engine) as session:
        run = versions.servable(session, principal, model_id, version)
        assert run.id is not None
        return inference.describe(session=session, principal=principal, train_id=run.id)


@router.post("/models/{model_id}/versions/{version}/infer")
async def infer(
    request: Request,
    principal: InferenceRun,
    model_id: ModelRef,
    version: Version,
    body: InferRequest,
) -> dict:
    """Flat named fields in, flat outputs back (``prediction``, and ``probabilities`` for classifiers);
    ``{"instances": [...]}`` for many rows. The same model replicas as ``POST /inference/``."""
    servable = await request.app.state.servables.resolve(
        principal, ("version", model_id, version), lambda: _servable(request, principal, model_id, version)
    )
    fields = body.model_extra or {}
    if body.instances is not None and fields:
        raise Invalid(f"give named fields or instances, not both (also got: {', '.join(sorted(fields))})")
    try:
        predict = PredictRequest(
            train_id=servable.run.id,
            features=None if body.instances is not None else fields,
            instances=body.instances,
        )
    except ValidationError as exc:
        raise Invalid(
            f"feature values must be strings, numbers, booleans or null: {exc.errors()[0]['msg']}"
        ) from None
    prepared, results = await hotpath.predict(request, principal, predict, CaptureSource.INFER)
    if prepared.single:
        return results[0]
    return {"predictions": results}


@router.put("/models/{model_id}/aliases/{alias}", response_model=AliasPublic, dependencies=[ForgetServables])
def set_alias(
    session: SessionDep, principal: TrainRun, model_id: ModelRef, alias: AliasName, body: AliasSet
) -> AliasPublic:
    """Point an alias (e.g. production) at a version."""
    return versions.set_alias(
        session=session, principal=principal, model_id=model_id, alias=alias, version=body.version
    )


@router.delete("/models/{model_id}/aliases/{alias}", status_code=204, dependencies=[ForgetServables])
def delete_alias(session: SessionDep, principal: TrainRun, model_id: ModelRef, alias: AliasName) -> Response:
    """Remove an alias: 204."""
    versions.delete_alias(session=session, principal=principal, model_id=model_id, alias=alias)
    return Response(status_code=204)


def _reporter(
    session: SessionDep,
    settings: SettingsDep,
    jobs: JobsDep,
    token: CallbackTokenDep,
    model_id: ModelRef,
    version: Version,
) -> Callable[..., None]:
    """Records a worker's report (its ``body``) on the version in the path, with the token it presents."""
    return partial(
        callbacks.report,
        session=session,
        settings=settings,
        jobs=jobs,
        token=token,
        model_id=model_id,
        version=version,
    )


Reporter = Annotated[Callable[..., None], Depends(_reporter)]


@router.post(
    "/models/{model_id}/versions/{version}/training-complete",
    response_model=CallbackAck,
    dependencies=[JobCallback],
)
def training_complete(report: Reporter, body: VersionComplete) -> CallbackAck:
    """A worker reports a version trained (its run's callback secret in ``X-Callback-Token``)."""
    report(body=body)
    return CallbackAck(message="Training result received")


@router.post(
    "/models/{model_id}/versions/{version}/training-failure",
    response_model=CallbackAck,
    dependencies=[JobCallback],
)
def training_failure(report: Reporter, body: VersionFailure) -> CallbackAck:
    """A worker reports a version failed (its run's callback secret in ``X-Callback-Token``)."""
    report(body=body)
    return CallbackAck(message="Training failure received")
