"""The caller, and the one place tenant scoping happens.

Every read and write of a tenant-owned row goes through ``scoped``/``get_scoped``/``target_tenant``: a
row of another tenant is indistinguishable from a row that does not exist (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlmodel import Session, SQLModel, select

from raylake.platform.errors import Forbidden, NotFound
from raylake.platform.tenants.models import Tenant

T = TypeVar("T", bound=SQLModel)
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")  # any SELECT: of rows, of scalars, of a count


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    tenant_id: str
    is_superuser: bool = False
    permissions: frozenset[str] = field(default_factory=frozenset)
    session_id: str = ""

    def can(self, permission: str) -> bool:
        """Whether the caller holds the permission (a superuser holds every one)."""
        return self.is_superuser or permission in self.permissions

    def require(self, permission: str) -> None:
        """Refuse (403) a caller without the permission."""
        if not self.can(permission):
            raise Forbidden(f"Missing permission: {permission}")


def scoped(stmt: Q, model: type[SQLModel], principal: Principal) -> Q:
    """Restrict a query to the caller's tenant; superusers see every tenant."""
    if principal.is_superuser:
        return stmt
    return stmt.where(model.tenant_id == principal.tenant_id)  # type: ignore[attr-defined]


def get_scoped(session: Session, model: type[T], object_id: Any, principal: Principal, what: str) -> T:
    """The row with this id if the caller may see it; NotFound (named ``what``) otherwise."""
    obj = session.exec(scoped(select(model), model, principal).where(model.id == object_id)).first()  # type: ignore[attr-defined]
    if obj is None:
        raise NotFound(f"{what} {object_id} not found")
    return obj


def target_tenant(session: Session, principal: Principal, requested: str | None) -> str:
    """The tenant a write lands in: the caller's own unless a superuser names another (which must exist)."""
    if requested is None or requested == principal.tenant_id:
        return principal.tenant_id
    if not principal.is_superuser or session.get(Tenant, requested) is None:
        raise NotFound(f"Tenant {requested} not found")
    return requested
