"""Fixtures the service tests share: the lake, a data scientist in a tenant of their own, a template."""

from __future__ import annotations

import pytest

from raylake.platform import lake
from raylake.platform.db import session_scope
from raylake.platform.templates import service as templates
from raylake.schemas.templates import TemplateCreate
from tests.datafiles import CHURN_SCHEMA
from tests.factories import create_tenant, create_user, unique


@pytest.fixture
def ctx(settings):
    return lake.open_lake(settings)


@pytest.fixture
def member(engine, settings):
    return create_user(engine, settings, tenant_id=create_tenant(engine), roles=["data_scientist"])


@pytest.fixture
def template_id(engine, member):
    with session_scope(engine) as session:
        created = templates.create_template(
            session=session,
            principal=member,
            data=TemplateCreate(template_name=unique("churn"), template_schema=CHURN_SCHEMA),
        )
    return created.id
