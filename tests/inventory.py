"""Everything a tenant holds, listed the same way before and after a delete: rows of every table with a
``tenant_id``, the Iceberg tables (and their files) named by its ownership rows, and its store folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel

from raylake.platform import lake
from raylake.platform.datalake.models import LakeTable
from raylake.platform.db import session_scope
from raylake.platform.lake import Lake


@dataclass
class Inventory:
    rows: dict[str, int]  # table -> the tenant's rows in it (tables where it has none are left out)
    tables: dict[str, Path]  # "namespace.name" -> the table's folder in the warehouse
    stored: list[str]  # keys under the tenant's folder of the file store

    def is_empty(self) -> bool:
        return not self.rows and not self.tables and not self.stored


def inventory(engine: Engine, ctx: Lake, tenant_id: str) -> Inventory:
    rows = {}
    with session_scope(engine) as session:
        for table in SQLModel.metadata.sorted_tables:
            column = table.c.get("tenant_id") if table.name != "tenants" else table.c.id
            if column is None:
                continue
            count = session.execute(
                select(func.count()).select_from(table).where(column == tenant_id)
            ).scalar()
            if count:
                rows[table.name] = int(count)
        owned = session.execute(
            select(LakeTable.namespace, LakeTable.name).where(LakeTable.tenant_id == tenant_id)
        ).all()
    tables = {}
    for namespace, name in owned:
        table = lake.load(ctx.catalog, namespace, name)
        tables[f"{namespace}.{name}"] = lake.local_path(table.location())
    root = Path(ctx.store.root) / tenant_id
    stored = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return Inventory(rows=rows, tables=tables, stored=stored)


def still_there(ctx: Lake, before: Inventory) -> list[str]:
    """What of an earlier inventory's lake tables is still there: in the catalog, or files in its folder."""
    left = []
    for identifier, folder in before.tables.items():
        if ctx.catalog.table_exists(identifier):
            left.append(identifier)
        elif folder.exists() and any(p.is_file() for p in folder.rglob("*")):
            left.append(str(folder))
    return left
