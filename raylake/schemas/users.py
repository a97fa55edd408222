from pydantic import BaseModel, EmailStr, Field

from raylake.schemas.auth import Password
from raylake.schemas.common import Name, Strict


class UserCreate(Strict):
    tenant_id: str | None = Field(default=None, description="Defaults to the caller's tenant")
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: EmailStr
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@\-]+$")
    password: str = Password
    roles: list[Name] | None = Field(default=None, description="Role names in the tenant; default: viewer")


class UserPublic(BaseModel):
    id: int
    tenant_id: str
    first_name: str | None
    last_name: str | None
    email: str
    username: str
    is_active: bool
    is_superuser: bool = False
    roles: list[str] = []


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int
