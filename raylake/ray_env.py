"""The environment every process of a raylake Ray cluster starts with.

Token authentication stays on: the token lives in a 0600 file in the data dir, and every Ray process
(and every client of the Jobs API) is pointed at it.
"""

from __future__ import annotations

import os

from raylake.platform.config import Settings

# Serve ingress settings chosen by measurement (bench/foundation.py, bench/RESULTS.md).
SERVE_ENV: dict[str, str] = {}


def ray_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SERVE_ENV)
    env["RAY_AUTH_MODE"] = "token"
    env["RAY_AUTH_TOKEN_PATH"] = str(settings.ray_token_path)
    env.pop("RAY_AUTH_TOKEN", None)  # the file is the one source of the token
    return env
