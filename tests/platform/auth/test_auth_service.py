"""Login, rotation, re-use detection, logout, reset and throttling at the service level (no Ray)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from raylake.platform.auth import service as auth
from raylake.platform.auth import throttle
from raylake.platform.auth.models import LoginFailure
from raylake.platform.db import session_scope
from raylake.platform.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from tests.factories import PASSWORD, create_user, superuser_principal, unique


def _login(engine, settings, username, password=PASSWORD, client="10.0.0.1"):
    with session_scope(engine) as session:
        return auth.login(
            session=session, settings=settings, username=username, password=password, client=client
        )


def _authenticate(engine, settings, token):
    with session_scope(engine) as session:
        return auth.authenticate(session=session, settings=settings, token=token)


def _refresh(engine, settings, token):
    with session_scope(engine) as session:
        return auth.refresh(session=session, settings=settings, refresh_token=token)


def test_login_yields_working_tokens(engine, settings, member):
    tokens = _login(engine, settings, member.username)
    who = _authenticate(engine, settings, tokens.access_token).principal
    assert who.user_id == member.user_id and who.tenant_id == member.tenant_id
    assert "train:run" in who.permissions and "user:admin" not in who.permissions


def test_wrong_password_and_unknown_user_are_the_same(engine, settings, member):
    with pytest.raises(Unauthorized) as wrong:
        _login(engine, settings, member.username, "not-the-password")
    with pytest.raises(Unauthorized) as unknown:
        _login(engine, settings, unique("ghost"), "whatever-password")
    assert wrong.value.detail == unknown.value.detail
    assert wrong.value.status_code == unknown.value.status_code == 401


def test_client_throttled_on_an_account_and_the_owner_still_logs_in(engine, settings, member):
    stranger = unique("stranger-")
    for _ in range(settings.login_max_failures):
        with pytest.raises(Unauthorized):
            _login(engine, settings, member.username, "bad-password", client=stranger)
    with pytest.raises(TooManyRequests) as exc:  # even with the right password, from that address
        _login(engine, settings, member.username, PASSWORD, client=stranger)
    assert int(exc.value.headers["Retry-After"]) >= 1
    _login(engine, settings, member.username, client=unique("owner-"))


def test_a_stranger_cannot_lock_the_superuser_out(engine, settings):
    stranger = unique("stranger-")
    for _ in range(settings.login_max_failures):
        with pytest.raises(Unauthorized):
            _login(engine, settings, settings.first_superuser, "bad-password", client=stranger)
    with pytest.raises(TooManyRequests):
        _login(engine, settings, settings.first_superuser, "bad-password", client=stranger)
    _login(engine, settings, settings.first_superuser, "superuser-password-1", client=unique("owner-"))


def test_client_throttled_across_accounts(engine, settings):
    strict = settings.model_copy(update={"login_max_failures_per_client": 3})
    client = unique("client-")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            _login(engine, strict, unique("nobody"), "bad-password", client=client)
    with pytest.raises(TooManyRequests):
        _login(engine, strict, unique("nobody"), "bad-password", client=client)


def _failed_a_while_ago(engine, username, seconds):
    """Move the account's latest failure back, as if that much time had passed."""
    with session_scope(engine) as session:
        row = session.get(LoginFailure, throttle.account_key(username))
        row.last_failed_at = row.last_failed_at - timedelta(seconds=seconds)
        session.add(row)


def test_guesses_from_many_addresses_back_off_progressively(engine, settings, member):
    strict = settings.model_copy(
        update={"login_account_backoff_after": 3, "login_account_backoff_max_seconds": 4}
    )
    for _ in range(3):  # each from another address: no pair or client limit is reached
        with pytest.raises(Unauthorized):
            _login(engine, strict, member.username, "bad-password", client=unique("bot-"))
    waits = []
    for _ in range(4):
        with pytest.raises(TooManyRequests) as exc:  # the owner waits too, but seconds, not a lockout
            _login(engine, strict, member.username, client=unique("owner-"))
        waits.append(int(exc.value.headers["Retry-After"]))
        _failed_a_while_ago(engine, member.username, waits[-1])
        with pytest.raises(Unauthorized):
            _login(engine, strict, member.username, "bad-password", client=unique("bot-"))
    assert waits == [1, 2, 4, 4]  # doubling per failure, capped
    _failed_a_while_ago(engine, member.username, 4)
    _login(engine, strict, member.username, client=unique("owner-"))


def test_account_delay_doubles_from_the_threshold_up_to_the_cap(settings):
    delays = [throttle.account_delay(n, settings).total_seconds() for n in range(1, 60)]
    after = settings.login_account_backoff_after
    assert delays[: after - 1] == [0] * (after - 1)
    assert delays[after - 1 : after + 3] == [1, 2, 4, 8]
    assert max(delays) == settings.login_account_backoff_max_seconds
    assert (
        throttle.account_delay(10**6, settings).total_seconds() == settings.login_account_backoff_max_seconds
    )


def test_refresh_rotates_and_reuse_revokes_family(engine, settings, member):
    first = _login(engine, settings, member.username)
    second = _refresh(engine, settings, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    _authenticate(engine, settings, second.access_token)
    with pytest.raises(Unauthorized):
        _refresh(engine, settings, first.refresh_token)  # re-use of a rotated token
    # the whole family is gone: the newest refresh token and its access token too
    with pytest.raises(Unauthorized):
        _refresh(engine, settings, second.refresh_token)
    with pytest.raises(Unauthorized):
        _authenticate(engine, settings, second.access_token)


def test_logout_revokes_session(engine, settings, member):
    tokens = _login(engine, settings, member.username)
    with session_scope(engine) as session:
        auth.logout(session=session, settings=settings, refresh_token=tokens.refresh_token)
    with pytest.raises(Unauthorized):
        _authenticate(engine, settings, tokens.access_token)
    with pytest.raises(Unauthorized):
        _refresh(engine, settings, tokens.refresh_token)


def _reset(engine, principal, user_name, new_password, current=None):
    with session_scope(engine) as session:
        auth.reset_password(
            session=session,
            principal=principal,
            user_name=user_name,
            new_password=new_password,
            current_password=current,
        )


def test_reset_own_password_needs_current(engine, settings, member):
    with pytest.raises(Forbidden):
        _reset(engine, member, member.username, "brand-new-password")
    with pytest.raises(Forbidden):
        _reset(engine, member, member.username, "brand-new-password", current="wrong-password")
    tokens = _login(engine, settings, member.username)
    _reset(engine, member, member.username, "brand-new-password", current=PASSWORD)
    with pytest.raises(Unauthorized):  # sessions end with a password change
        _authenticate(engine, settings, tokens.access_token)
    _login(engine, settings, member.username, "brand-new-password")


def test_reset_other_user_needs_superuser(engine, settings, member):
    other = create_user(engine, settings, tenant_id=member.tenant_id, roles=["admin"])
    with pytest.raises(Forbidden):
        _reset(engine, other, member.username, "hijacked-password", current=PASSWORD)
    su = superuser_principal(engine, settings)
    _reset(engine, su, member.username, "reset-by-admin")
    _login(engine, settings, member.username, "reset-by-admin")
    with pytest.raises(NotFound):
        _reset(engine, su, unique("ghost"), "whatever-password")
