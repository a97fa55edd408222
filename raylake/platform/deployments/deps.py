"""The deployments feature's request dependencies: the API replica's operations log, and a predict call
that records itself in it however it ends.

The call is a dependency with ``yield`` (scope ``function``): it sees the route's result and every
error raised after the deployment is found, a 422 for a malformed body included, and records the call
before the response is sent (into the buffer: no write on the hot path).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from raylake.platform.db import session_scope
from raylake.platform.deployments import predict
from raylake.platform.deployments.operations import OperationLog
from raylake.platform.deps import InferenceRun
from raylake.platform.errors import RaylakeError
from raylake.platform.tenancy import Principal

# A row by its integer id or its uid.
REF = r"^([0-9]{1,10}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
DeploymentRef = Annotated[str, Path(pattern=REF)]
_made = threading.Lock()


def operation_log(request: Request) -> OperationLog:
    """This API replica's operations log (made on first use, with the app's engine)."""
    state = request.app.state
    found: OperationLog | None = getattr(state, "deployment_operations", None)
    if found is None:
        with _made:
            found = getattr(state, "deployment_operations", None)
            if found is None:
                found = state.deployment_operations = OperationLog(state.engine)
    return found


async def get_operation_log(request: Request) -> OperationLog:
    """The operations log of this API replica, as a route dependency."""
    return operation_log(request)


def _target(request: Request, principal: Principal, ref: str) -> predict.Target:
    with session_scope(request.app.state.engine) as session:
        return predict.target(session=session, principal=principal, ref=ref)


def _ended(exc: BaseException) -> tuple[int, str]:
    """The status code and short error a failed call answers."""
    if isinstance(exc, RaylakeError):
        return exc.status_code, exc.detail
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return 422, f"{where}: {first.get('msg', 'invalid request')}"
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail)
    if isinstance(exc, asyncio.CancelledError):
        return 499, "the caller went away before the answer"  # nginx's word for it
    return 500, type(exc).__name__


async def predict_call(
    request: Request, principal: InferenceRun, deployment_id: DeploymentRef
) -> AsyncIterator[predict.Call]:
    """The deployment a predict call names (404 before anything is recorded: no deployment, no log),
    then the call's record in its operations log: caller, status code, latency, rows, error."""
    started = time.perf_counter()
    call = predict.Call(principal, await run_in_threadpool(_target, request, principal, deployment_id))
    code, error = 200, None
    try:
        yield call
    except BaseException as exc:
        code, error = _ended(exc)
        raise
    finally:
        operation_log(request).record(
            tenant_id=call.target.tenant_id,
            deployment_id=call.target.deployment_id,
            caller=principal.username,
            status_code=code,
            latency_ms=(time.perf_counter() - started) * 1000,
            rows=call.rows,
            error=error,
        )


PredictCall = Annotated[predict.Call, Depends(predict_call, scope="function")]
OperationLogDep = Annotated[OperationLog, Depends(get_operation_log)]
