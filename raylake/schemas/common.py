from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Names users choose for things (roles, permissions, tenants): printable, no path or quote characters.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\- ]+$"),
]


class Strict(BaseModel):
    """Request bodies reject unknown fields, so a stray ``is_superuser`` is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Message(BaseModel):
    status: int = 200
    message: str


class Deleted(Message):
    """What a delete answers: the reference's ``status_code`` beside the ``status`` raylake always sent."""

    status_code: int = 200


class ErrorResponse(BaseModel):
    error: str
    detail: str
