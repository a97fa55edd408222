"""The file store: raw uploads and artifacts, one folder per tenant.

Backed by a pyarrow filesystem: a local directory by default (``<data dir>/files``) or any URL pyarrow
understands (``s3://bucket/prefix``, ``gs://...``). Keys are always built by the platform
(``<tenant>/<dataset>/<file id>_<name>``); a path a user sends is only ever *resolved* against the
caller's own tenant folder by ``resolve_user_path``, which refuses anything that could leave it.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

import pyarrow.fs as pafs

from raylake.platform.config import Settings
from raylake.platform.errors import BadRequest, NotFound

CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """A file name reduced to a safe basename (no separators, no leading dots)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".") or "file"
    return cleaned[:200]


class FileStore:
    def __init__(self, root: str) -> None:
        if "://" in root:
            self.fs, self.root = pafs.FileSystem.from_uri(root)
            self.local_root: Path | None = None
        else:
            self.fs = pafs.LocalFileSystem()
            self.local_root = Path(root).resolve()
            self.local_root.mkdir(parents=True, exist_ok=True)
            self.root = str(self.local_root)

    def _path(self, key: str) -> str:
        return posixpath.join(self.root, key)

    def put_file(self, key: str, source: Path) -> None:
        """Move (local) or copy (remote) a staged file into the store under ``key``."""
        if self.local_root is not None:
            target = self.local_root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), target)
            return
        with source.open("rb") as src, self.fs.open_output_stream(self._path(key)) as dst:
            shutil.copyfileobj(src, dst, CHUNK)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write bytes under a key."""
        if self.local_root is not None:
            target = self.local_root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            return
        with self.fs.open_output_stream(self._path(key)) as dst:
            dst.write(data)

    def read_bytes(self, key: str) -> bytes:
        """The bytes stored under a key; NotFound when none are."""
        with self.open(key) as fh:
            return fh.read()

    def put_dir(self, prefix: str, source: Path) -> list[str]:
        """Copy every file under a local folder to ``prefix``; the keys written."""
        keys = []
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            key = posixpath.join(prefix, path.relative_to(source).as_posix())
            self.put_bytes(key, path.read_bytes())
            keys.append(key)
        return keys

    def get_dir(self, prefix: str, target: Path, names: list[str]) -> None:
        """Copy the named files under ``prefix`` into a local folder."""
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            (target / name).write_bytes(self.read_bytes(posixpath.join(prefix, name)))

    def open(self, key: str) -> BinaryIO:
        """A stream of the file under a key; NotFound when none is."""
        try:
            return self.fs.open_input_stream(self._path(key))
        except (FileNotFoundError, OSError) as exc:
            raise NotFound("File not found in the store") from exc

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The file under a key in chunks, to stream a download."""
        with self.open(key) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def size(self, key: str) -> int:
        """The size in bytes of the file under a key; NotFound when none is."""
        info = self.fs.get_file_info(self._path(key))
        if info.type != pafs.FileType.File:
            raise NotFound("File not found in the store")
        return int(info.size or 0)

    def delete(self, key: str) -> None:
        """Delete the file under a key, if it is there."""
        with contextlib.suppress(FileNotFoundError, OSError):
            self.fs.delete_file(self._path(key))

    def delete_prefix(self, prefix: str) -> None:
        """Delete everything under a prefix, if anything is."""
        with contextlib.suppress(FileNotFoundError, OSError):
            self.fs.delete_dir(self._path(prefix.rstrip("/")))

    def resolve_user_path(self, tenant_id: str, user_path: str) -> str:
        """A key inside the caller's tenant folder for a path a user sent, or an error.

        The path is percent-decoded until stable (so ``%252e%252e%252f`` cannot hide ``../``); NUL,
        absolute paths, ``..`` segments, backslashes and (locally) symlinks anywhere on the way are
        refused. A path naming another tenant's folder resolves inside the caller's own, where it does
        not exist: 404.
        """
        decoded = user_path
        for _ in range(5):
            nxt = unquote(decoded)
            if nxt == decoded:
                break
            decoded = nxt
        if "\x00" in decoded or "\\" in decoded:
            raise BadRequest("Invalid file path")
        if decoded.startswith("/") or re.match(r"^[A-Za-z]:", decoded) or "://" in decoded:
            raise BadRequest("Absolute paths are not allowed")
        parts = [p for p in decoded.split("/") if p not in ("", ".")]
        if not parts or any(p == ".." for p in parts):
            raise BadRequest("Invalid file path")
        if parts[0] == tenant_id:  # the reference hands out paths that start with the tenant folder
            parts = parts[1:]
        key = "/".join([tenant_id, *parts])
        try:
            found = self._is_plain_file(tenant_id, key)
        except OSError:  # a name longer than the file system allows, and the like: no such file
            found = False
        if not found:
            raise NotFound("File not found")
        return key

    def _is_plain_file(self, tenant_id: str, key: str) -> bool:
        """Whether ``key`` is a file inside the tenant's folder, reached through no symlink."""
        if self.local_root is None:
            return self.fs.get_file_info(self._path(key)).type == pafs.FileType.File
        tenant_root = (self.local_root / tenant_id).resolve()
        candidate = self.local_root / key
        probe = self.local_root
        for part in key.split("/"):
            probe = probe / part
            if probe.is_symlink():
                return False
        return candidate.resolve().is_relative_to(tenant_root) and candidate.is_file()


def open_store(settings: Settings) -> FileStore:
    """The file store the settings name (a URI), else a folder of the data dir."""
    return FileStore(settings.file_store or str(settings.data_dir / "files"))


def staging_dir(data_dir: Path) -> Path:
    """Local scratch space for uploads being validated; never visible through the API."""
    path = data_dir / "staging"
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path
