"""Ray jobs: terminate a running job of the caller's tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from raylake.platform.deps import JobAdmin, JobsDep, SessionDep
from raylake.platform.ray_jobs import service
from raylake.schemas.training import TerminateResult

router = APIRouter(prefix="/ray", tags=["ray"])


@router.post("/terminate_ray_job", response_model=TerminateResult)
def terminate_ray_job(
    session: SessionDep,
    jobs: JobsDep,
    principal: JobAdmin,
    ray_job_id: Annotated[str, Query(min_length=1, max_length=128)],
    usage: Annotated[
        str, Query(min_length=1, max_length=32, description="training, statistics, shap or batch")
    ],
) -> TerminateResult:
    """Stop a running Ray job of your tenant (training, statistics, SHAP or batch); it is marked cancelled."""
    service.terminate(session=session, jobs=jobs, principal=principal, ray_job_id=ray_job_id, usage=usage)
    return TerminateResult(message=f"Termination request for Ray job '{ray_job_id}' has been sent.")
