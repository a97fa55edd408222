"""The HTTP layer: one httpx client, the bearer credential (an API key, or a login's access token that is
refreshed before it expires), and error answers turned into the exceptions of ``errors``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from raylake_client import errors

API_PREFIX = "/api/v1"
# Refresh an access token this long before it expires, so a request never carries one that lapses in flight.
REFRESH_MARGIN_S = 30.0


@dataclass
class Tokens:
    """A login's tokens: the access token, the refresh token that rotates it, and when it expires."""

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None  # time.time() seconds; None: unknown (refreshed only on a 401)

    @classmethod
    def from_answer(cls, body: dict[str, Any]) -> Tokens:
        expires_in = body.get("expires_in")
        return cls(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=time.time() + float(expires_in) if expires_in else None,
        )


class Transport:
    """Sends requests to ``<url>/api/v1`` with a bearer credential, raising the API's errors as exceptions."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tokens: Tokens | None = None,
        timeout: float = 60.0,
        on_tokens: Callable[[Tokens], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        if self.url.endswith(API_PREFIX):
            self.url = self.url[: -len(API_PREFIX)]
        self.http = httpx.Client(base_url=self.url + API_PREFIX, timeout=timeout)
        self.api_key = api_key
        self.username = username
        self._password = password
        self.tokens = tokens
        self.on_tokens = on_tokens
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    # --- credentials -------------------------------------------------------------------------------

    def login(self) -> Tokens:
        """Log in with the username and password (OAuth2 password form); keeps and returns the tokens."""
        if not (self.username and self._password):
            raise errors.Unauthorized("no credentials: give api_key, or username and password")
        resp = self.http.post(
            "/login/access-token", data={"username": self.username, "password": self._password}
        )
        return self._keep(resp)

    def rotate(self) -> Tokens:
        """Spend the refresh token for new tokens now (logging in first if need be); no login as fallback."""
        if self.api_key:
            raise ValueError("an API key has no tokens to refresh")
        with self._lock:
            if self.tokens is None:
                self.login()
            assert self.tokens is not None
            if not self.tokens.refresh_token:
                raise ValueError("this login has no refresh token")
            return self._keep(self.http.post("/refresh", json={"refresh_token": self.tokens.refresh_token}))

    def logout(self) -> None:
        """End the login's session on the server and forget its tokens."""
        with self._lock:
            tokens, self.tokens = self.tokens, None
        if tokens is None or not tokens.refresh_token:
            return
        resp = self.http.post("/logout", json={"refresh_token": tokens.refresh_token})
        if resp.status_code >= 400:
            raise errors.from_response(resp)

    def set_password(self, password: str) -> None:
        """Use a new password from now on; the next request logs in with it."""
        self._password = password
        self.tokens = None

    def refresh(self) -> Tokens:
        """A new access token from the refresh token (which rotates), or a new login when it is refused."""
        assert self.tokens is not None
        if self.tokens.refresh_token:
            resp = self.http.post("/refresh", json={"refresh_token": self.tokens.refresh_token})
            if resp.status_code == 200 or not self._password:
                return self._keep(resp)
        return self.login()

    def _keep(self, resp: httpx.Response) -> Tokens:
        if resp.status_code != 200:
            raise errors.from_response(resp)
        self.tokens = Tokens.from_answer(resp.json())
        if self.on_tokens is not None:
            self.on_tokens(self.tokens)
        return self.tokens

    def bearer(self) -> str:
        """The credential to send now: the API key, or a current access token (refreshed or logged in)."""
        if self.api_key:
            return self.api_key
        with self._lock:
            if self.tokens is None:
                self.login()
            elif (
                self.tokens.expires_at is not None and time.time() > self.tokens.expires_at - REFRESH_MARGIN_S
            ):
                self.refresh()
            assert self.tokens is not None
            return self.tokens.access_token

    def _renew_after_401(self, sent: str) -> bool:
        """After a 401: renew the login's token (unless another thread did); False for an API key."""
        if self.api_key or self.tokens is None:
            return False
        with self._lock:
            if self.tokens.access_token == sent and (self.tokens.refresh_token or self._password):
                self.refresh()
        return True

    # --- requests ----------------------------------------------------------------------------------

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer to a request (2xx only); an error answer is raised as its exception."""
        token = self.bearer()
        resp = self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        if resp.status_code == 401 and self._renew_after_401(token):
            token = self.bearer()
            resp = self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        if resp.status_code >= 400:
            raise errors.from_response(resp)
        return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a request's answer (None for an empty one, such as a 204)."""
        resp = self.send(method, path, **kwargs)
        return resp.json() if resp.content else None
