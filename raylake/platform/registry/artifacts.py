"""A model's artifacts: files uploaded to it (model file, data, code, environment), stored as they came.

The file is streamed to staging under the upload cap (``uploads.py``), hashed, its format told from its
bytes (``ml/external.detect_format``; a pickle is recognised and kept, never loaded), and moved into the
tenant's folder of the file store. The row and the file land together: a failure removes the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import event
from sqlmodel import Session, col, func, select

from raylake.core.layout import artifacts_prefix
from raylake.core.vocabulary import MAX_ID, ArtifactKind
from raylake.ml.external import detect_format
from raylake.platform.datasets.ingest import Staged
from raylake.platform.errors import NotFound
from raylake.platform.lake import Lake
from raylake.platform.registry import lifecycle
from raylake.platform.registry.models import ModelArtifact, Predictor
from raylake.platform.registry.service import get_model
from raylake.platform.storage import FileStore, safe_filename
from raylake.platform.tenancy import Principal
from raylake.schemas.artifacts import ArtifactPublic

CHUNK = 1024 * 1024


def public(artifact: ModelArtifact) -> ArtifactPublic:
    """An artifact as the API shows it (never its storage key)."""
    return ArtifactPublic.model_validate(artifact, from_attributes=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def upload(
    *,
    session: Session,
    ctx: Lake,
    principal: Principal,
    model_id: int | str,
    file_kind: ArtifactKind,
    staged: Staged,
) -> ModelArtifact:
    """Store an uploaded file as one of the model's artifacts (409 for an archived model)."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    lifecycle.check_usable(model, "given artifacts")
    assert model.id is not None
    fmt = detect_format(staged.path) if file_kind == ArtifactKind.MODEL else None
    artifact = ModelArtifact(
        tenant_id=model.tenant_id,
        model_id=model.id,
        file_kind=file_kind.value,
        filename=staged.file_name[:255],
        format=fmt.value if fmt is not None else None,
        size=staged.size,
        sha256=_sha256(staged.path),
        storage_key="",
        created_by=principal.username,
    )
    artifact.storage_key = f"{artifacts_prefix(model.tenant_id, model.id)}/{artifact.uid}/" + safe_filename(
        staged.file_name
    )
    session.add(artifact)
    session.flush()
    ctx.store.put_file(artifact.storage_key, staged.path)
    undo_on_rollback(session, lambda: ctx.store.delete(artifact.storage_key))
    return artifact


def undo_on_rollback(session: Session, undo: Callable[[], None]) -> None:
    """Run ``undo`` if the session's transaction rolls back before it commits: a file written to the
    store ahead of its row must not outlive a failed request."""
    state = {"committed": False}
    event.listen(session, "after_commit", lambda _: state.update(committed=True), once=True)
    event.listen(session, "after_soft_rollback", lambda *_: None if state["committed"] else undo(), once=True)


def list_artifacts(
    *, session: Session, principal: Principal, model_id: int | str
) -> tuple[list[ModelArtifact], int]:
    """A model's artifacts, oldest first, with their count."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    query = select(ModelArtifact).where(ModelArtifact.model_id == model.id)
    items = list(session.exec(query.order_by(col(ModelArtifact.id))).all())
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    return items, int(total)


def get_artifact(
    *, session: Session, principal: Principal, model_id: int | str, artifact_id: int | str
) -> ModelArtifact:
    """One of a model's artifacts by id or uid; NotFound for another model's or tenant's."""
    model = get_model(session=session, principal=principal, model_id=model_id)
    return artifact_of(session, model, artifact_id)


def artifact_of(session: Session, model: Predictor, artifact_id: int | str) -> ModelArtifact:
    """The model's artifact with this id or uid; NotFound otherwise."""
    query = select(ModelArtifact).where(ModelArtifact.model_id == model.id)
    if isinstance(artifact_id, int) or artifact_id.isdigit():
        number = int(artifact_id)
        found = session.exec(query.where(ModelArtifact.id == number)).first() if number <= MAX_ID else None
    else:
        found = session.exec(query.where(ModelArtifact.uid == artifact_id.lower())).first()
    if found is None:
        raise NotFound(f"Artifact {artifact_id} not found")
    return found


def download(store: FileStore, artifact: ModelArtifact) -> Iterator[bytes]:
    """The artifact's bytes, in chunks."""
    return store.iter_bytes(artifact.storage_key)


def delete(
    *, session: Session, ctx: Lake, principal: Principal, model_id: int | str, artifact_id: int | str
) -> None:
    """Remove an artifact and its file (a version registered from it keeps its own copy)."""
    artifact = get_artifact(session=session, principal=principal, model_id=model_id, artifact_id=artifact_id)
    session.delete(artifact)
    session.flush()
    ctx.store.delete(artifact.storage_key)


def delete_all(*, session: Session, ctx: Lake, model: Predictor) -> None:
    """Remove every artifact of a model, rows and files (the model is being deleted)."""
    for artifact in session.exec(select(ModelArtifact).where(ModelArtifact.model_id == model.id)).all():
        session.delete(artifact)
    session.flush()
    assert model.id is not None
    ctx.store.delete_prefix(artifacts_prefix(model.tenant_id, model.id))
