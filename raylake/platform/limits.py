"""A pure-ASGI body-size cap: refuse oversized requests with 413 before anything reads them whole.

Pure ASGI (not BaseHTTPMiddleware) so the cap costs nothing on the hot path and still holds for
chunked bodies that announce no Content-Length.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from raylake.platform.errors import error_body


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> int:
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        return self.max_upload_bytes if ctype.startswith("multipart/") else self.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, limit)
            return

        seen = 0
        exceeded = False
        responded = False

        async def limited_receive() -> Message:
            """The request's messages, counting the body: BodyTooLarge once it passes the limit."""
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            """The app's answer, replaced by a 413 when the body passed the limit."""
            # Whatever the app makes of the aborted body (FastAPI turns it into a 400), the answer is 413.
            nonlocal responded
            if not exceeded:
                responded = responded or message["type"] == "http.response.start"
                await send(message)
            elif not responded:
                responded = True
                await _reject(send, limit)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if not responded:
                await _reject(send, limit)


async def _reject(send: Send, limit: int) -> None:
    body: dict[str, Any] = error_body("PayloadTooLarge", f"Request body exceeds {limit} bytes")
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
