"""Data benchmarks, side by side in one run (figures go to bench/RESULTS.md):

1. Ingest: a generated 1,000,000-row x 12-column CSV through POST /api/v1/dataset/upload (validated and
   committed to Iceberg) vs plain `polars.read_csv` + pyiceberg `append` of the same file; rows/s and the
   peak RSS of the serving process (the API replica) during the upload.
2. `numeric_stats` and `distinct-count` on a 10,000,000-row Iceberg table through the API vs a plain
   polars scan of the same table.

Needs a running platform (`make run`); reads the same RAYLAKE_* settings. Usage:
`.venv/bin/python bench/ingest.py [--rows 1000000] [--stats-rows 10000000]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import psutil
from pyiceberg.catalog.sql import SqlCatalog
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import login
from raylake.platform import lake
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.db import make_engine, session_scope
from raylake.platform.models import LakeTable  # every table registered: foreign keys resolve

SCHEMA = [
    ("id", "Integer"),
    ("customer", "String"),
    ("plan", "String"),
    ("region", "String"),
    ("usage_gb", "Float"),
    ("minutes", "Integer"),
    ("sms", "Integer"),
    ("spend", "Float"),
    ("score", "Float"),
    ("active", "Boolean"),
    ("joined", "Date"),
    ("last_seen", "DateTime"),
]


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(7)
    base = np.datetime64("2024-01-01T00:00:00")
    frame = pl.DataFrame(
        {
            "id": np.arange(rows),
            "customer": [f"C{i:08d}" for i in range(rows)],
            "plan": rng.choice(["Basic", "Premium", "Family", "Business"], rows),
            "region": rng.choice(["north", "south", "east", "west", "central"], rows),
            "usage_gb": rng.gamma(2.0, 5.0, rows).round(3),
            "minutes": rng.integers(0, 5000, rows),
            "sms": rng.integers(0, 900, rows),
            "spend": rng.normal(60, 20, rows).round(2),
            "score": rng.random(rows).round(6),
            "active": rng.random(rows) > 0.2,
            "joined": (base + rng.integers(0, 900, rows).astype("timedelta64[D]")).astype("datetime64[D]"),
            "last_seen": (base + rng.integers(0, 10**8, rows).astype("timedelta64[s]")).astype(
                "datetime64[ms]"
            ),
        }
    )
    frame.write_csv(path)


def replica_process() -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline", "name"]):
        title = " ".join(proc.info["cmdline"] or [])
        if "ServeReplica:raylake:api" in title:
            return proc
    return None


class PeakRss:
    def __init__(self, proc: psutil.Process | None) -> None:
        self.proc, self.peak, self._stop = proc, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set() and self.proc is not None:
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def bench_ingest(base: str, headers: dict[str, str], csv: Path, rows: int, work: Path) -> dict[str, float]:
    template = httpx.post(
        f"{base}/api/v1/template/",
        json={
            "template_name": f"bench-{uuid.uuid4().hex[:6]}",
            "template_schema": [{"column_name": n, "data_type": t} for n, t in SCHEMA],
        },
        headers=headers,
    ).json()["id"]
    replica = replica_process()
    with PeakRss(replica) as peak, csv.open("rb") as fh:
        start = time.perf_counter()
        resp = httpx.post(
            f"{base}/api/v1/dataset/upload",
            params={"dataset_name": f"bench-{uuid.uuid4().hex[:6]}", "usage": "t", "template_id": template},
            files=[("files", (csv.name, fh, "text/csv"))],
            headers=headers,
            timeout=3600,
        )
        raylake_s = time.perf_counter() - start
    resp.raise_for_status()
    assert resp.json()["files"][0]["valid_records"] == rows, resp.text[:500]

    catalog = SqlCatalog("plain", uri=f"sqlite:///{work / 'plain.db'}", warehouse=(work / "wh").as_uri())
    catalog.create_namespace("silver")
    start = time.perf_counter()
    frame = pl.read_csv(csv, try_parse_dates=True).to_arrow()
    table = catalog.create_table("silver.plain", schema=frame.schema)
    table.append(frame)
    plain_s = time.perf_counter() - start
    return {
        "rows": rows,
        "csv_mb": csv.stat().st_size / 2**20,
        "raylake_s": raylake_s,
        "plain_s": plain_s,
        "raylake_rows_per_s": rows / raylake_s,
        "plain_rows_per_s": rows / plain_s,
        "ratio": plain_s / raylake_s,
        "replica_peak_rss_mib": peak.peak / 2**20,
        "replica_found": replica is not None,
    }


def bench_stats(base: str, headers: dict[str, str], settings: Settings, rows: int) -> dict[str, float]:
    """A 10M-row table registered to the caller's tenant, queried through the API and by polars directly."""
    ctx = lake.open_lake(settings)
    name = f"bench_stats_{uuid.uuid4().hex[:6]}"
    rng = np.random.default_rng(3)
    table = lake.create(
        ctx.catalog, "gold", name, lake.schema_for([("value", "Float"), ("category", "Integer")])
    )
    for chunk in range(0, rows, 2_000_000):
        n = min(2_000_000, rows - chunk)
        table.append(
            pl.DataFrame({"value": rng.normal(0, 1, n), "category": rng.integers(0, 50_000, n)}).to_arrow()
        )
        table = table.refresh()
    tenant = httpx.post(f"{base}/api/v1/login/test-token", headers=headers).json()["tenant_id"]
    engine = make_engine(settings.sqlalchemy_url)
    with session_scope(engine) as session:
        session.add(LakeTable(tenant_id=tenant, namespace="gold", name=name, created_by="bench"))
    out: dict[str, float] = {"rows": rows}
    try:
        for endpoint, column, key in (
            ("numeric_stats", "value", "mean"),
            ("distinct-count", "category", "distinct_count"),
        ):
            params = {"schema_name": "gold", "table_name": name, "column_name": column}
            httpx.get(
                f"{base}/api/v1/datalake/{endpoint}", params=params, headers=headers, timeout=600
            )  # warm
            start = time.perf_counter()
            api = httpx.get(f"{base}/api/v1/datalake/{endpoint}", params=params, headers=headers, timeout=600)
            out[f"{endpoint}_api_s"] = time.perf_counter() - start
            api.raise_for_status()
            start = time.perf_counter()
            scan = pl.scan_iceberg(lake.load(ctx.catalog, "gold", name)).select(pl.col(column))
            if endpoint == "numeric_stats":
                scan.select(
                    pl.len().alias("count"),
                    pl.col(column).mean().alias("mean"),
                    pl.col(column).std().alias("std_dev"),
                    pl.col(column).min().alias("min"),
                    pl.col(column).max().alias("max"),
                    pl.col(column).median().alias("median"),
                ).collect()
            else:
                scan.select(pl.col(column).n_unique()).collect()
            out[f"{endpoint}_polars_s"] = time.perf_counter() - start
            assert api.json()[key] is not None
    finally:
        with session_scope(engine) as session:
            session.delete(session.exec(select(LakeTable).where(LakeTable.name == name)).one())
        lake.drop(ctx.catalog, "gold", name)
        engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stats-rows", type=int, default=10_000_000)
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    base = f"http://{settings.host}:{settings.port}"
    headers = login(base, settings)
    with tempfile.TemporaryDirectory(prefix="raylake-bench-ingest-") as tmp:
        work = Path(tmp)
        csv = work / "bench.csv"
        make_csv(csv, args.rows)
        ingest = bench_ingest(base, headers, csv, args.rows, work)
    for key, value in ingest.items():
        print(f"{key}: {value:,.3f}" if isinstance(value, float) else f"{key}: {value}", flush=True)
    stats = bench_stats(base, headers, settings, args.stats_rows)
    memory = psutil.virtual_memory().total / 2**30
    machine = f"{os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    print(f"machine: {machine}")
    for key, value in stats.items():
        print(f"{key}: {value:,.3f}" if isinstance(value, float) else f"{key}: {value}")


if __name__ == "__main__":
    main()
