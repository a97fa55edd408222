"""First start: schema migrations, the default tenant and the first superuser.

Runs once in the driver (``make run``, ``serve run``, tests) before replicas start, never in a replica,
so concurrent replicas never race on migrations.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from raylake.platform.auth.passwords import check_password
from raylake.platform.config import Settings, first_superuser_password
from raylake.platform.db import migrate, redacted, session_scope
from raylake.platform.errors import Invalid
from raylake.platform.rbac import service as rbac
from raylake.platform.security import hash_password
from raylake.platform.tenants import service as tenants
from raylake.platform.users.models import User

log = logging.getLogger(__name__)


def bootstrap(settings: Settings, engine: Engine) -> Path | None:
    """Migrate and seed; returns the file holding a generated superuser password, if one was generated."""
    log.info("migrating metadata store %s", redacted(settings.sqlalchemy_url))
    migrate(engine)
    password_file: Path | None = None
    with session_scope(engine) as session:
        tenant = tenants.get_by_name(session=session, name=settings.default_tenant)
        if tenant is None:
            tenant = tenants.create_tenant(session=session, name=settings.default_tenant)
        rbac.seed_tenant(session=session, tenant_id=tenant.id)
        exists = session.exec(select(User).where(User.username == settings.first_superuser)).first()
        if exists is None:
            password, password_file = first_superuser_password(settings)
            if password_file is None:  # configured, not generated: held to the same policy as any user's
                try:
                    check_password(
                        password,
                        context=[settings.first_superuser, settings.first_superuser_email, tenant.name],
                    )
                except Invalid as exc:
                    raise Invalid(f"RAYLAKE_FIRST_SUPERUSER_PASSWORD: {exc.detail}") from None
            session.add(
                User(
                    tenant_id=tenant.id,
                    username=settings.first_superuser,
                    email=settings.first_superuser_email.lower(),
                    hashed_password=hash_password(password),
                    is_superuser=True,
                )
            )
            log.info("created first superuser %r in tenant %r", settings.first_superuser, tenant.name)
        elif settings.first_superuser_password is None:
            password_file = (
                settings.superuser_password_path if settings.superuser_password_path.exists() else None
            )
    if password_file is not None:
        log.info("the first superuser's password is in %s (mode 0600)", password_file)
    return password_file
