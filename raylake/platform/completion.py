"""Requests run to their end even when the client goes away.

Serve cancels a request's task when its client disconnects. A sync route keeps running in its worker
thread regardless (a thread cannot be interrupted), but the cancellation unwinds the request's
dependencies around it at once: the session boundary ended the session while the route was still
using it, and the route's next statement began a transaction that nobody ended (on SQLite, a write lock
held until the process exited: every later write failed with "database is locked"). So each request
runs in a task of its own that a disconnect does not cancel; its response goes nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


def _collect(task: asyncio.Task[None]) -> None:
    """Retrieve an abandoned request's outcome, so its failure is logged once and not as never retrieved."""
    with contextlib.suppress(asyncio.CancelledError):
        if (exc := task.exception()) is not None:
            log.warning("a request whose client went away failed: %r", exc)


class RunToCompletion:
    """Pure ASGI: shields each HTTP request from its caller's cancellation."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        task = asyncio.ensure_future(self.app(scope, receive, send))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(_collect)
            raise
