from datetime import datetime

from sqlmodel import Field, SQLModel

from raylake.platform.clock import utcnow


class AuthSession(SQLModel, table=True):
    """One login: the family of refresh tokens it rotates through, and the access tokens they mint.

    Access tokens carry the session id, so revoking the session (logout, re-use of a rotated refresh
    token, password reset) ends every token of that login at once.
    """

    __tablename__ = "auth_sessions"

    id: str = Field(primary_key=True, max_length=36)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = Field(default=None, max_length=64)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"

    jti: str = Field(primary_key=True, max_length=36)
    session_id: str = Field(foreign_key="auth_sessions.id", index=True, ondelete="CASCADE")
    issued_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """Failed-login counters per account, per client and per account and client pair, shared by every
    API replica (``auth/throttle.py``)."""

    __tablename__ = "login_failures"

    key: str = Field(primary_key=True, max_length=160)
    count: int = 0
    window_started_at: datetime = Field(default_factory=utcnow)
    last_failed_at: datetime | None = None  # an account's backoff runs from its latest failure
