from datetime import datetime

from pydantic import BaseModel, Field

from raylake.schemas.common import Strict

Password = Field(min_length=8, max_length=128)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    refresh_token: str
    expires_in: int = Field(description="Seconds until the access token expires")


class RefreshRequest(Strict):
    refresh_token: str


class ResetPasswordRequest(Strict):
    user_name: str = Field(min_length=1, max_length=64)
    new_password: str = Password
    current_password: str | None = Field(default=None, max_length=128)


class TokenValidation(BaseModel):
    status: str = "success"
    message: str = "Token is valid."
    valid: bool = True
    user_id: int
    username: str
    tenant_id: str
    is_superuser: bool
    permissions: list[str]
    expires_at: datetime | None  # None: an API key that does not expire
