"""Files for upload tests: small CSVs written on the fly, and a check that nothing was left behind."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func
from sqlmodel import select

from raylake.platform.datalake.models import LakeTable
from raylake.platform.datasets.models import Dataset, DatasetFile
from raylake.platform.db import session_scope
from raylake.platform.lake import Lake

CHURN_HEADER = "CustomerID,DataUsageGB,Plan,Churn,Joined"
CHURN_ROWS = [
    "C1,10.5,Premium,true,2024-01-05",
    "C2,2.25,Basic,false,2024-02-10",
    "C3,,Basic,no,2024-03-15",
    "C4,oops,Premium,yes,2024-13-01",
    "C5,7,Basic,maybe,2024-04-20",
]
CHURN_SCHEMA = [
    {"column_name": "CustomerID", "data_type": "String"},
    {"column_name": "DataUsageGB", "data_type": "Float", "default_value": "0.0"},
    {"column_name": "Plan", "data_type": "String", "default_value": "Basic"},
    {"column_name": "Churn", "data_type": "Boolean"},
    {"column_name": "Joined", "data_type": "Date"},
]


def churn_csv(rows: list[str] | None = None, *, newline: str = "\n", header: str = CHURN_HEADER) -> bytes:
    return (newline.join([header, *(CHURN_ROWS if rows is None else rows)]) + newline).encode()


def write(tmp: Path, name: str, content: bytes) -> Path:
    path = tmp / name
    path.write_bytes(content)
    return path


def tenant_footprint(engine: Engine, lake: Lake, tenant_id: str) -> dict[str, int]:
    """What a tenant has in the store, the lake registry and the file store: all zero when nothing landed."""
    with session_scope(engine) as session:
        datasets = session.exec(
            select(func.count()).select_from(Dataset).where(Dataset.tenant_id == tenant_id)
        ).one()
        files = session.exec(
            select(func.count()).select_from(DatasetFile).where(DatasetFile.tenant_id == tenant_id)
        ).one()
        tables = session.exec(select(LakeTable).where(LakeTable.tenant_id == tenant_id)).all()
    store_root = Path(lake.store.root) / tenant_id
    stored = sum(1 for p in store_root.rglob("*") if p.is_file()) if store_root.exists() else 0
    staging = lake.settings.data_dir / "staging"
    staged = sum(1 for p in staging.rglob("*") if p.is_file()) if staging.exists() else 0
    return {"datasets": datasets, "files": files, "tables": len(tables), "stored": stored, "staged": staged}
