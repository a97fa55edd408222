"""Deployments' services on both backends, without Ray: which version a deployment takes, one per
version, tenant walls, and a delete that takes its operations with it. Serve itself is the API tests'
(tests/api/test_deployments_api.py); outside Serve the gateway answers 503."""

from __future__ import annotations

import pytest
from sqlmodel import select

from raylake.platform.db import session_scope
from raylake.platform.deployments import operations, service
from raylake.platform.deployments.operations import OperationLog
from raylake.platform.errors import Conflict, NotFound, ServiceUnavailable
from raylake.platform.inference.gateway import ServeGateway
from raylake.platform.registry.models import DeploymentOperation, ModelDeployment
from raylake.platform.tenancy import Principal
from raylake.schemas.deployments import DeploymentCreate
from tests.factories import create_tenant, create_user
from tests.platform.deployments.factories import deployed, trained


@pytest.fixture
def outsider(engine, settings) -> Principal:
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])


def test_a_version_is_deployed_once_the_latest_completed_by_default(engine, settings, member):
    outside_serve = ServeGateway(settings, None)
    with session_scope(engine) as session:
        model, (v1, v2, _) = trained(session, member)
        first = deployed(session, model, v2)

        def create(**fields) -> ModelDeployment:
            body = DeploymentCreate.model_validate({"model_id": model.uid, **fields})
            return service.create(session=session, gateway=outside_serve, principal=member, body=body)

        # no version named: the latest completed one, v2 (v3 failed), which is taken
        with pytest.raises(
            Conflict, match=f"v2 of model {model.id} is already deployed: deployment {first.id}"
        ):
            create()
        with pytest.raises(Conflict, match="is failed, not completed"):
            create(version="3")
        with pytest.raises(NotFound, match="no version or alias"):
            create(version="production")
    # everything checked, then Serve is asked: outside Serve, 503, and the request keeps nothing
    for fields in ({"placement": {"resources": {"zone_a": 0.5}}}, {}):
        with pytest.raises(ServiceUnavailable), session_scope(engine) as session:
            body = DeploymentCreate.model_validate({"model_id": model.id, "version": "v1", **fields})
            service.create(session=session, gateway=outside_serve, principal=member, body=body)
    with session_scope(engine) as session:
        assert session.exec(select(ModelDeployment).where(ModelDeployment.train_id == v1.id)).first() is None


def test_another_tenants_deployments_do_not_exist(engine, settings, member, outsider):
    with session_scope(engine) as session:
        model, (v1, _, _) = trained(session, member)
        row = deployed(session, model, v1)
        other_model, (other_v1, _, _) = trained(session, outsider)
        deployed(session, other_model, other_v1)
    with session_scope(engine) as session:
        for ref in (row.id, row.uid):
            assert service.get_deployment(session=session, principal=member, ref=str(ref)).id == row.id
            with pytest.raises(NotFound):
                service.get_deployment(session=session, principal=outsider, ref=str(ref))
        with pytest.raises(NotFound):
            service.delete(session=session, gateway=None, principal=outsider, ref=str(row.id))
        body = DeploymentCreate(model_id=model.id, version="v2")
        with pytest.raises(NotFound):
            service.create(
                session=session, gateway=ServeGateway(settings, None), principal=outsider, body=body
            )
        mine, total = service.list_deployments(
            session=session, principal=member, model_id=None, limit=10, offset=0
        )
        assert total == 1 and [d.id for d in mine] == [row.id]
        with pytest.raises(NotFound):
            service.list_deployments(
                session=session, principal=outsider, model_id=model.id, limit=10, offset=0
            )


def test_deleting_a_deployment_takes_its_operations(engine, member):
    with session_scope(engine) as session:
        model, (v1, _, _) = trained(session, member)
        row = deployed(session, model, v1)
    log = OperationLog(engine)
    for code in (200, 422):
        log.record(
            tenant_id=row.tenant_id,
            deployment_id=row.id,
            caller=member.username,
            status_code=code,
            latency_ms=3.2,
            rows=1,
        )
    log.flush()
    with session_scope(engine) as session:
        _, total = operations.list_operations(
            session=session, principal=member, deployment_id=row.id, limit=5, offset=0
        )
        assert total == 2
        service.delete(session=session, gateway=None, principal=member, ref=row.uid)
    with session_scope(engine) as session:
        assert session.get(ModelDeployment, row.id) is None
        left = session.exec(
            select(DeploymentOperation).where(DeploymentOperation.deployment_id == row.id)
        ).all()
        assert left == []
