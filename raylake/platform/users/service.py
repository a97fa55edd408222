"""Users of a tenant. Login names are global, so uniqueness is checked platform-wide."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from raylake.platform.auth.passwords import check_password
from raylake.platform.errors import Conflict
from raylake.platform.rbac import service as rbac
from raylake.platform.rbac.catalogue import DEFAULT_NEW_USER_ROLE
from raylake.platform.security import hash_password
from raylake.platform.tenancy import Principal, get_scoped, scoped, target_tenant
from raylake.platform.tenants.models import Tenant
from raylake.platform.users.models import User
from raylake.schemas.users import UserCreate, UserPublic


def find_by_login(*, session: Session, username: str) -> User | None:
    """The user with this username, ignoring case, if any."""
    return session.exec(select(User).where(func.lower(User.username) == username.lower())).first()


def ensure_unique(*, session: Session, username: str, email: str) -> None:
    """Refuse a username or e-mail another user already has (ignoring case)."""
    clash = session.exec(
        select(User).where(
            or_(func.lower(User.username) == username.lower(), func.lower(User.email) == email.lower())
        )
    ).first()
    if clash is not None:
        field = "username" if clash.username.lower() == username.lower() else "email"
        raise Conflict(f"A user with this {field} already exists")


def check_new_password(
    *,
    session: Session,
    password: str,
    tenant_id: str,
    username: str,
    email: str,
    first_name: str | None = None,
    last_name: str | None = None,
) -> None:
    """Refuse (422) a guessable password for this user, judged against their own and their tenant's names."""
    tenant = session.get(Tenant, tenant_id)
    names = [username, email, first_name, last_name, tenant.name if tenant is not None else None]
    check_password(password, context=names)


def create_user(*, session: Session, principal: Principal, data: UserCreate) -> UserPublic:
    """A new user with a checked password and their roles, in the caller's (or a named) tenant."""
    tenant_id = target_tenant(session, principal, data.tenant_id)
    check_new_password(
        session=session,
        password=data.password,
        tenant_id=tenant_id,
        username=data.username,
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
    )
    ensure_unique(session=session, username=data.username, email=data.email)
    user = User(
        tenant_id=tenant_id,
        username=data.username,
        email=data.email.lower(),
        first_name=data.first_name,
        last_name=data.last_name,
        hashed_password=hash_password(data.password),
    )
    session.add(user)
    session.flush()
    assert user.id is not None
    rbac.assign_roles(
        session=session,
        principal=principal,
        user_id=user.id,
        tenant_id=tenant_id,
        names=data.roles if data.roles is not None else [DEFAULT_NEW_USER_ROLE],
    )
    return user_public(session=session, user=user)


def users_public(*, session: Session, users: list[User]) -> list[UserPublic]:
    """Users as the API shows them, each with their role names."""
    roles = rbac.user_role_names(session=session, user_ids=[u.id for u in users if u.id is not None])
    out = []
    for user in users:
        public = UserPublic.model_validate(user, from_attributes=True)
        public.roles = roles.get(user.id or 0, [])
        out.append(public)
    return out


def user_public(*, session: Session, user: User) -> UserPublic:
    """A user as the API shows them, with their role names."""
    return users_public(session=session, users=[user])[0]


def list_users(
    *, session: Session, principal: Principal, skip: int, limit: int
) -> tuple[list[UserPublic], int]:
    """A page of the caller's tenant's users, and how many there are."""
    total = session.exec(scoped(select(func.count()).select_from(User), User, principal)).one()
    users = session.exec(
        scoped(select(User), User, principal).order_by(col(User.id)).offset(skip).limit(limit)
    )
    return users_public(session=session, users=list(users)), total


def by_username(*, session: Session, principal: Principal, usernames: list[str]) -> dict[str, User]:
    """The users with these usernames that the caller may see, by username."""
    if not usernames:
        return {}
    found = session.exec(scoped(select(User), User, principal).where(col(User.username).in_(usernames)))
    return {user.username: user for user in found}


def get_user(*, session: Session, principal: Principal, user_id: int) -> User:
    """A user the caller may see; NotFound otherwise."""
    return get_scoped(session, User, user_id, principal, "User")
