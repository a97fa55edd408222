"""The CLI's saved login: the platform URL and an API key or a login's tokens, in the user's config dir
(``RAYLAKE_CONFIG_DIR`` overrides it), readable by the user only (0600)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from raylake_client._http import Tokens

DIR_ENV = "RAYLAKE_CONFIG_DIR"
FILE_NAME = "config.json"


def path() -> Path:
    """Where the login is kept: ``$RAYLAKE_CONFIG_DIR/config.json`` or the platform's user config dir."""
    root = os.environ.get(DIR_ENV) or click.get_app_dir("raylake")
    return Path(root) / FILE_NAME


@dataclass
class Saved:
    url: str
    api_key: str | None = None
    username: str | None = None
    tokens: Tokens | None = None


def load() -> Saved | None:
    """The saved login, or None when there is none."""
    try:
        body: dict[str, Any] = json.loads(path().read_text())
    except FileNotFoundError:
        return None
    tokens = body.get("tokens")
    return Saved(
        url=body["url"],
        api_key=body.get("api_key"),
        username=body.get("username"),
        tokens=Tokens(**tokens) if tokens else None,
    )


def save(saved: Saved) -> Path:
    """Write the login atomically, mode 0600 (its directory 0700 when it is created)."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {
        "url": saved.url,
        "api_key": saved.api_key,
        "username": saved.username,
        "tokens": asdict(saved.tokens) if saved.tokens else None,
    }
    temporary = target.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(body, indent=2).encode())
    finally:
        os.close(fd)
    os.replace(temporary, target)
    return target


def forget() -> bool:
    """Remove the saved login; False when there was none."""
    try:
        path().unlink()
    except FileNotFoundError:
        return False
    return True
