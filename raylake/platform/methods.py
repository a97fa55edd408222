"""405, not 422, for a wrong method on a path that a route spells out literally (pure ASGI).

Starlette takes the first route whose path and method both match, so ``DELETE /template/list`` lands
on ``DELETE /template/{template_id}`` (an id of "list": 422) and ``GET /users/create-user`` on
``GET /users/{user_id}``. A path some route names without parameters belongs to the routes that name
it: any other method there is answered 405 with ``Allow`` before routing, as Starlette answers a
wrong method on a path only one route matches. One dict lookup per request; other paths pass through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from raylake.platform.errors import error_body


def literal_paths(routes: Iterable[Any]) -> dict[str, frozenset[str]]:
    """The methods of every parameter-free route path, including routes of included routers."""
    found: dict[str, set[str]] = {}
    for route in routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
            pairs = [
                (ctx.path, getattr(ctx.original_route, "methods", None))
                for ctx in route.effective_route_contexts()
            ]
        else:
            pairs = [(getattr(route, "path", None), getattr(route, "methods", None))]
        for path, methods in pairs:
            if path and methods and "{" not in path:
                found.setdefault(path, set()).update(methods)
    return {path: frozenset(methods) for path, methods in found.items()}


class LiteralPathMethods:
    """``routes`` is read when Starlette builds the middleware stack, after every route is added."""

    def __init__(self, app: ASGIApp, routes: Iterable[Any]) -> None:
        self.app = app
        self.paths = literal_paths(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            allowed = self.paths.get(path)
            if allowed is not None and scope["method"] not in allowed:
                response = JSONResponse(
                    error_body("MethodNotAllowed", "Method Not Allowed"),
                    status_code=405,
                    headers={"Allow": ", ".join(sorted(allowed))},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
