"""Users: tenant-scoped; a superuser may act across tenants."""

from __future__ import annotations

from fastapi import APIRouter

from raylake.platform.deps import IdPath, PageDep, SessionDep, UserAdmin, UserRead
from raylake.platform.users import service
from raylake.schemas.users import UserCreate, UserPublic, UsersPublic

router = APIRouter(prefix="/users", tags=["users"])


@router.post("/create-user", response_model=UserPublic, status_code=201)
def create_user(session: SessionDep, principal: UserAdmin, data: UserCreate) -> UserPublic:
    """Create a user with a password and roles, in your tenant (a superuser: in any): 201 with the user."""
    return service.create_user(session=session, principal=principal, data=data)


@router.get("/read-users/", response_model=UsersPublic)
def read_users(
    session: SessionDep,
    principal: UserRead,
    page: PageDep,
) -> UsersPublic:
    """A page of your tenant's users with their role names; and how many there are."""
    data, count = service.list_users(session=session, principal=principal, skip=page.skip, limit=page.limit)
    return UsersPublic(data=data, count=count)


@router.get("/{user_id}", response_model=UserPublic)
def read_user(session: SessionDep, principal: UserRead, user_id: IdPath) -> UserPublic:
    """A user with their role names (404 for a user of another tenant)."""
    user = service.get_user(session=session, principal=principal, user_id=user_id)
    return service.user_public(session=session, user=user)
