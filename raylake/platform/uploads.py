"""Multipart uploads into the local staging area, with the size cap enforced per request.

Starlette has already spooled each part to a temporary file (never the whole body in memory); this
copies the parts into a private staging folder in chunks, where validation reads them. The caller
removes the folder when the request ends, whatever happened.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

from fastapi import UploadFile

from raylake.platform.config import Settings
from raylake.platform.datasets.ingest import Staged
from raylake.platform.errors import Invalid, PayloadTooLarge
from raylake.platform.storage import safe_filename, staging_dir

MAX_FILES = 100
CHUNK = 1024 * 1024


@contextmanager
def staged_uploads(settings: Settings, files: list[UploadFile]) -> Iterator[list[Staged]]:
    """The request's files written to a staging folder (count and total size checked), removed after."""
    if len(files) > MAX_FILES:
        raise Invalid(f"At most {MAX_FILES} files per request")
    limit = settings.max_upload_mb * 1024 * 1024
    folder = staging_dir(settings.data_dir) / uuid4().hex
    folder.mkdir()
    try:
        staged, total = [], 0
        for index, upload in enumerate(files):
            name = upload.filename or f"file{index}.csv"
            target = folder / f"{index}_{safe_filename(name)}"
            size = 0
            with target.open("wb") as out:
                while chunk := upload.file.read(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if total > limit:
                        raise PayloadTooLarge(f"Upload exceeds {settings.max_upload_mb} MB")
                    out.write(chunk)
            staged.append(Staged(path=target, file_name=name, size=size))
        yield staged
    finally:
        shutil.rmtree(folder, ignore_errors=True)
