"""Guessable passwords are refused (422, naming why, never echoing them) wherever a password is set."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from raylake.platform.auth import service as auth
from raylake.platform.auth.passwords import check_password
from raylake.platform.bootstrap import bootstrap
from raylake.platform.db import make_engine, session_scope
from raylake.platform.errors import Invalid
from raylake.platform.tenants import service as tenants
from raylake.platform.users import service as users
from raylake.schemas.users import UserCreate
from tests.conftest import make_settings
from tests.factories import PASSWORD, create_user, superuser_principal, unique

CONTEXT = "made of the username, email, name, tenant name or the product's name"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaa", "Repeats"),
        ("12345678", "common password"),
        ("Password123!", "commonly used password"),
        ("qwertyuiop", "common password"),
        ("janedoe1", CONTEXT),  # the username
        ("jdoe2024x", CONTEXT),  # the email's local part
        ("acme-labs-2024", CONTEXT),  # the tenant's name
        ("raylake123", CONTEXT),  # the product
    ],
)
def test_guessable_passwords_are_refused_with_the_reason(password, reason):
    with pytest.raises(Invalid) as exc:
        check_password(password, context=["janedoe", "jdoe@example.com", "Jane", "Doe", "acme-labs"])
    assert exc.value.status_code == 422
    assert reason in exc.value.detail and password not in exc.value.detail


@pytest.mark.parametrize("password", [PASSWORD, "superuser-password-1", "plum-orbit-kettle-42"])
def test_passwords_nobody_would_guess_pass(password):
    check_password(password, context=["janedoe", "jdoe@example.com", "acme-labs"])


def _create(engine, settings, tenant_id, password, username=None):
    name = username or unique("u")
    with session_scope(engine) as session:
        users.create_user(
            session=session,
            principal=superuser_principal(engine, settings),
            data=UserCreate(
                tenant_id=tenant_id, username=name, email=f"{name}@example.com", password=password
            ),
        )


def test_create_user_refuses_common_and_context_passwords(engine, settings):
    tenant_name = unique("tenant")
    with session_scope(engine) as session:
        tenant_id = tenants.create_tenant(session=session, name=tenant_name).id
    name = unique("u")
    for password in ("12345678", f"{name}!", f"{tenant_name}1"):
        with pytest.raises(Invalid) as exc:
            _create(engine, settings, tenant_id, password, username=name)
        assert password not in exc.value.detail
    _create(engine, settings, tenant_id, PASSWORD, username=name)


def test_reset_password_refuses_a_guessable_one(engine, settings):
    with session_scope(engine) as session:
        tenant_id = tenants.create_tenant(session=session, name=unique("tenant")).id
    member = create_user(engine, settings, tenant_id=tenant_id, roles=["viewer"])
    for principal, current in ((member, PASSWORD), (superuser_principal(engine, settings), None)):
        with pytest.raises(Invalid), session_scope(engine) as session:
            auth.reset_password(
                session=session,
                principal=principal,
                user_name=member.username,
                new_password=f"{member.username}123",
                current_password=current,
            )


def test_a_configured_first_superuser_password_must_not_be_guessable(tmp_path):
    settings = make_settings(tmp_path).model_copy(
        update={"first_superuser_password": SecretStr("admin12345")}
    )
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with pytest.raises(Invalid, match="RAYLAKE_FIRST_SUPERUSER_PASSWORD") as exc:
            bootstrap(settings, engine)
        assert "admin12345" not in exc.value.detail
    finally:
        engine.dispose()
