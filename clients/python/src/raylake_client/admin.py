"""Tenants (superusers), users and RBAC: roles, permissions and who holds which roles."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from raylake_client.models import Page, Permission, Role, Tenant, User
from raylake_client.paging import iterate

if TYPE_CHECKING:
    from raylake_client.client import Client


class Tenants:
    """``client.tenants``: the platform's tenants (``/tenants/...``, superusers only)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, name: str) -> Tenant:
        return Tenant.model_validate(self._client.http.json("POST", "/tenants/", json={"name": name}))

    def page(self, *, skip: int = 0, limit: int = 100) -> Page[Tenant]:
        body = self._client.http.json("GET", "/tenants/", params={"skip": skip, "limit": limit})
        return Page[Tenant](items=body["data"], total=body["count"])

    def list(self, *, page_size: int = 100) -> Iterator[Tenant]:
        return iterate(lambda skip, limit: self.page(skip=skip, limit=limit), page_size)

    def delete(self, tenant_id: str) -> None:
        self._client.http.json("DELETE", f"/tenants/{tenant_id}")


class Users:
    """``client.users``: the tenant's users (``/users/...``); a superuser names the tenant."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        username: str,
        *,
        email: str,
        password: str,
        roles: builtins.list[str] | None = None,
        tenant_id: str | None = None,
        **fields: Any,
    ) -> User:
        """A user of your tenant (or of ``tenant_id``, for a superuser) holding ``roles`` (default: viewer);
        ``fields``: ``first_name``, ``last_name``."""
        body: dict[str, Any] = {"username": username, "email": email, "password": password, **fields}
        if roles is not None:
            body["roles"] = roles
        if tenant_id is not None:
            body["tenant_id"] = tenant_id
        return User.model_validate(self._client.http.json("POST", "/users/create-user", json=body))

    def get(self, user_id: int) -> User:
        return User.model_validate(self._client.http.json("GET", f"/users/{user_id}"))

    def page(self, *, skip: int = 0, limit: int = 100) -> Page[User]:
        body = self._client.http.json("GET", "/users/read-users/", params={"skip": skip, "limit": limit})
        return Page[User](items=body["data"], total=body["count"])

    def list(self, *, page_size: int = 100) -> Iterator[User]:
        """Every user of the tenant, a page at a time."""
        return iterate(lambda skip, limit: self.page(skip=skip, limit=limit), page_size)


class Rbac:
    """``client.rbac``: the tenant's roles and permissions, and users' roles (``/rbac/...``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create_role(
        self, name: str, permissions: Sequence[str] = (), *, description: str | None = None
    ) -> Role:
        """A role holding ``permissions`` (``dataset:read``, ``train:read``, ... or your own)."""
        body: dict[str, Any] = {"name": name, "permissions": builtins.list(permissions)}
        if description is not None:
            body["description"] = description
        return Role.model_validate(self._client.http.json("POST", "/rbac/roles/", json=body))

    def roles_page(self, *, skip: int = 0, limit: int = 100) -> Page[Role]:
        body = self._client.http.json("GET", "/rbac/roles/", params={"skip": skip, "limit": limit})
        return Page[Role](items=body["data"], total=body["count"])

    def roles(self, *, page_size: int = 100) -> Iterator[Role]:
        """Every role of the tenant (the built-in ones and yours), a page at a time."""
        return iterate(lambda skip, limit: self.roles_page(skip=skip, limit=limit), page_size)

    def create_permission(self, name: str, *, description: str | None = None) -> Permission:
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        return Permission.model_validate(self._client.http.json("POST", "/rbac/permissions/", json=body))

    def permissions_page(self, *, skip: int = 0, limit: int = 100) -> Page[Permission]:
        body = self._client.http.json("GET", "/rbac/permissions/", params={"skip": skip, "limit": limit})
        return Page[Permission](items=body["data"], total=body["count"])

    def permissions(self, *, page_size: int = 100) -> Iterator[Permission]:
        """Every permission of the tenant, a page at a time."""
        return iterate(lambda skip, limit: self.permissions_page(skip=skip, limit=limit), page_size)

    def grant(self, role_id: int, permissions: builtins.list[str]) -> Role:
        """Add permissions to a role."""
        body = self._client.http.json(
            "POST", f"/rbac/roles/{role_id}/permissions", json={"permissions": permissions}
        )
        return Role.model_validate(body)

    def assign(self, user_id: int, roles: builtins.list[str]) -> User:
        """Give a user roles (by name); returns the user with every role now held."""
        body = self._client.http.json("POST", f"/rbac/users/{user_id}/roles", json={"roles": roles})
        return User.model_validate(body)

    def unassign(self, user_id: int, role: str) -> User:
        return User.model_validate(self._client.http.json("DELETE", f"/rbac/users/{user_id}/roles/{role}"))
