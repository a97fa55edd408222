"""The operations log of deployments on both backends: buffered calls written in one flush, read newest
first by deployment or by caller, walled by tenant; a deleted deployment's buffered calls are dropped."""

from __future__ import annotations

from raylake.platform.db import session_scope
from raylake.platform.deployments.operations import OperationLog, list_operations
from raylake.platform.registry.models import ModelDeployment
from tests.factories import create_tenant, create_user
from tests.platform.deployments.factories import deployed, trained


def test_calls_are_buffered_then_read_newest_first_by_deployment_or_caller(engine, settings, member):
    colleague = create_user(engine, settings, tenant_id=member.tenant_id, roles=["data_scientist"])
    outsider = create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])
    with session_scope(engine) as session:
        model, (v1, v2, _) = trained(session, member)
        first, second = deployed(session, model, v1), deployed(session, model, v2)
        other_model, (other_v1, _, _) = trained(session, member)
        gone = deployed(session, other_model, other_v1)
    log = OperationLog(engine, flush_s=3600)  # flushed by hand here
    calls = [
        (first, member, 200, None),
        (second, colleague, 422, "missing required features: Tenure"),
        (first, colleague, 503, "x" * 900),
        (gone, member, 200, None),
    ]
    for deployment, caller, code, error in calls:
        log.record(
            tenant_id=deployment.tenant_id,
            deployment_id=deployment.id,
            caller=caller.username,
            status_code=code,
            latency_ms=4.56789,
            rows=2,
            error=error,
        )
    with session_scope(engine) as session:
        assert (
            list_operations(session=session, principal=member, deployment_id=first.id, limit=9, offset=0)[1]
            == 0
        )
        session.delete(session.get(ModelDeployment, gone.id))
    log.flush()
    with session_scope(engine) as session:
        rows, total = list_operations(
            session=session, principal=member, deployment_id=first.id, limit=9, offset=0
        )
        assert total == 2 and [r.caller for r in rows] == [colleague.username, member.username]
        assert rows[0].status_code == 503 and len(rows[0].error or "") == 500 and rows[0].latency_ms == 4.568
        by_colleague, total = list_operations(
            session=session, principal=member, caller=colleague.username, limit=1, offset=0
        )
        assert total == 2 and by_colleague[0].deployment_id == first.id  # newest first, one per page
        _, total = list_operations(session=session, principal=member, limit=9, offset=0)
        assert total == 3  # the deleted deployment's call was dropped
        assert (
            list_operations(session=session, principal=outsider, caller=member.username, limit=9, offset=0)[1]
            == 0
        )
