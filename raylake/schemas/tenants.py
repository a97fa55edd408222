from datetime import datetime

from pydantic import BaseModel

from raylake.schemas.common import Name, Strict


class TenantCreate(Strict):
    name: Name


class TenantPublic(BaseModel):
    id: str
    name: str
    is_active: bool
    created_at: datetime


class TenantsPublic(BaseModel):
    data: list[TenantPublic]
    count: int
