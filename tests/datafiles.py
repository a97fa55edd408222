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


def training_csv(rows: int = 300, seed: int = 0, start: int = 0) -> bytes:
    """A learnable churn table: Churn depends on Tenure and Plan, Spend on Monthly and Plan.

    Score has a distinct value per row (too many classes for a Classification target).
    """
    import random

    rng = random.Random(seed)
    lines = ["CustomerID,Tenure,Monthly,Plan,Joined,Score,Churn,Spend"]
    for i in range(start, start + rows):
        tenure = rng.randint(1, 72)
        monthly = round(rng.uniform(10, 120), 2)
        plan = rng.choice(["Basic", "Premium", "Gold"])
        churn = (tenure < 20 and plan == "Basic") or rng.random() < 0.1
        spend = round(monthly * {"Basic": 1.0, "Premium": 1.5, "Gold": 2.0}[plan] + rng.gauss(0, 3), 2)
        monthly_text = "" if rng.random() < 0.05 else str(monthly)
        joined = f"20{rng.randint(18, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lines.append(f"C{i},{tenure},{monthly_text},{plan},{joined},{i + rng.random():.4f},{churn},{spend}")
    return ("\n".join(lines) + "\n").encode()
