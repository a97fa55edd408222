"""The same FastAPI app under plain uvicorn (one process, no Ray Serve): the baseline for the ingress.

Reads the same RAYLAKE_* settings as the platform, so it serves the same database and secret key.
"""

from __future__ import annotations

import argparse

import uvicorn

from raylake.platform.app import create_app
from raylake.platform.config import Settings, resolve_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(resolve_settings(Settings()))
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
