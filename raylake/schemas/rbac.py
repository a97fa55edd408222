from pydantic import BaseModel, Field

from raylake.schemas.common import Name, Strict


class RoleCreate(Strict):
    name: Name
    tenant_id: str | None = Field(default=None, description="Defaults to the caller's tenant")
    description: str | None = Field(default=None, max_length=255)
    permissions: list[Name] = []


class RolePublic(BaseModel):
    id: int
    tenant_id: str
    name: str
    description: str | None = None
    permissions: list[str] = []


class RolesPublic(BaseModel):
    data: list[RolePublic]
    count: int


class PermissionCreate(Strict):
    name: Name
    tenant_id: str | None = Field(default=None, description="Defaults to the caller's tenant")
    description: str | None = Field(default=None, max_length=255)


class PermissionPublic(BaseModel):
    id: int
    name: str
    tenant_id: str
    description: str | None = None


class PermissionsPublic(BaseModel):
    data: list[PermissionPublic]
    count: int


class PermissionNames(Strict):
    permissions: list[Name] = Field(min_length=1)


class RoleNames(Strict):
    roles: list[Name] = Field(min_length=1)
