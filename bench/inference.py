"""Inference benchmarks, side by side in one run (figures go to bench/RESULTS.md):

1. Real-time: a LightGBM model on 12 mixed-type features, one row per request, p50/p99 and req/s at 1, 8
   and 32 concurrent clients through ``POST /api/v1/inference/`` (HAProxy -> API replica -> model
   replica) vs a bare FastAPI + uvicorn app calling the same booster in one process (bench/bare_inference.py).
2. Batch: 1,000,000 rows through ``POST /api/v1/inference/batchPrediction`` (submit to completed, gold
   table and CSV written) vs a plain script: polars reads the same snapshot, the same preprocessing,
   ``booster.predict``, the same Parquet and CSV outputs.
3. Multiplexing: 200 models of one tenant called round-robin through the shared pool: a cold pass (every
   call loads its model) and warm passes, p50/p99, and loads per second the pool sustains. The 200
   versions are registered from one trained run (rows in the metadata store pointing at its artifacts),
   so each is a separate model id that the replicas load and cache on their own.

Needs a running platform (`make run`); reads the same RAYLAKE_* settings. Usage:
`.venv/bin/python bench/inference.py [--batch-rows 1000000] [--models 200] [--skip batch multiplex]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import polars as pl
import psutil
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import FINAL, login, train_and_wait, upload
from bench.loadgen import measure
from raylake.ml.serving import typed_labels
from raylake.platform import lake
from raylake.platform import models as _all_tables  # noqa: F401  (every table registered: foreign keys resolve)
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.db import make_engine, session_scope
from raylake.platform.inference.models import Prediction
from raylake.platform.registry.models import Predictor
from raylake.platform.training import artifacts
from raylake.platform.training.models import PreprocessState, TrainingRun

BARE_PORT = 8311
JSON = {"Content-Type": "application/json"}


def frame(rows: int, seed: int) -> pl.DataFrame:
    """12 features: 6 numeric, 3 categorical, a boolean, a date and a datetime; an Id; a binary target."""
    rng = np.random.default_rng(seed)
    x = {f"num{i}": rng.normal(0, 1, rows).round(4) for i in range(6)}
    plan = rng.choice(["basic", "plus", "premium", "family"], rows)
    base = np.datetime64("2023-01-01T00:00:00")
    logit = x["num0"] - 0.7 * x["num1"] + 0.5 * (plan == "basic") + rng.normal(0, 1, rows)
    return pl.DataFrame(
        {
            "id": [f"R{seed}-{i}" for i in range(rows)],
            **x,
            "plan": plan,
            "region": rng.choice([f"r{i}" for i in range(30)], rows),
            "device": rng.choice(["ios", "android", "web"], rows),
            "active": rng.random(rows) > 0.4,
            "joined": (base + rng.integers(0, 900, rows).astype("timedelta64[D]")).astype("datetime64[D]"),
            "last_seen": (base + rng.integers(0, 10**7, rows).astype("timedelta64[s]")).astype(
                "datetime64[ms]"
            ),
            "churn": logit > 0,
        }
    )


def upload_frame(base: str, headers: dict[str, str], data: pl.DataFrame, usage: str, work: Path) -> dict:
    path = work / f"{uuid.uuid4().hex}.parquet"
    data.write_parquet(path)
    return upload(base, headers, path, usage=usage, prefix="bench-infer")


def train(base: str, headers: dict[str, str], dataset_id: int) -> dict:
    body = {
        "dataset_id": dataset_id,
        "predictor_name": f"bench-infer-{uuid.uuid4().hex[:8]}",
        "domain": "bench",
        "problem_type": "Classification",
        "columns": [
            {"column_name": "id", "attribute_name": "Id"},
            {"column_name": "churn", "attribute_name": "Target"},
        ],
        "algorithm": "LightGBM",
        "params": {"n_estimators": 200, "learning_rate": 0.1},
    }
    return train_and_wait(base, headers, body)[0]


def one_row() -> dict:
    row = frame(1, 99).drop("id", "churn").row(0, named=True)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


def realtime(base: str, headers: dict[str, str], settings: Settings, run: dict) -> list[str]:
    features = one_row()
    ours = json.dumps({"train_id": run["id"], "features": features}).encode()
    theirs = json.dumps({"features": features}).encode()
    with session_scope(make_engine(settings.sqlalchemy_url)) as session:
        state = session.get(PreprocessState, run["preprocess_id"])
        assert state is not None
        state_key = state.storage_key
    store = lake.open_lake(settings).store
    bare = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("bare_inference.py")),
            "--store",
            store.root,
            "--prefix",
            f"{run['tenant_id']}/models/{run['id']}",
            "--state",
            state_key,
            "--port",
            str(BARE_PORT),
        ]
    )
    try:
        bare_url = f"http://127.0.0.1:{BARE_PORT}/predict"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.post(bare_url, content=theirs, headers=JSON, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the bare app did not start"
            time.sleep(0.3)
        check = httpx.post(f"{base}/api/v1/inference/", content=ours, headers=headers | JSON, timeout=60)
        assert check.status_code == 200, check.text
        rows = []
        for clients in (1, 8, 32):
            total = {1: 2000, 8: 4000, 32: 6000}[clients]
            for name, url, body, extra in (
                ("bare FastAPI+uvicorn", bare_url, theirs, {}),
                ("raylake POST /inference/", f"{base}/api/v1/inference/", ours, headers),
            ):
                result = measure(name, url, headers=extra, concurrency=clients, total=total, body=body)
                rows.append(result.row())
                print(result.row(), flush=True)
        return rows
    finally:
        bare.terminate()
        bare.wait(10)


def batch(base: str, headers: dict[str, str], settings: Settings, run: dict, rows: int, work: Path) -> dict:
    dataset = upload_frame(base, headers, frame(rows, 7), "p", work)
    start = time.perf_counter()
    resp = httpx.post(
        f"{base}/api/v1/inference/batchPrediction",
        json={"train_id": run["id"], "dataset_id": dataset["dataset_id"]},
        headers=headers,
        timeout=600,
    )
    resp.raise_for_status()
    prediction_id = resp.json()["prediction_id"]
    stages: dict[str, float] = {}  # when each stage was first seen, from submit
    while True:
        result = httpx.get(
            f"{base}/api/v1/inference/result",
            params={"prediction_id": prediction_id},
            headers=headers,
            timeout=60,
        ).json()
        stages.setdefault(result["stage"], round(time.perf_counter() - start, 1))
        if result["status"] in FINAL:
            break
        time.sleep(0.2)
    ours = time.perf_counter() - start
    print(f"batch stages (s from submit): {stages}")
    if result["status"] != "completed":
        raise SystemExit(f"batch failed: {result['error']}")

    # the plain script: same snapshot, same preprocessing and booster, same outputs
    with session_scope(make_engine(settings.sqlalchemy_url)) as session:
        state = session.get(PreprocessState, run["preprocess_id"])
        assert state is not None
        state_key = state.storage_key
    ctx = lake.open_lake(settings)
    start = time.perf_counter()
    loaded = artifacts.load(ctx.store, f"{run['tenant_id']}/models/{run['id']}", state_key)
    table = lake.load(ctx.catalog, "silver", dataset["iceberg_table_name"])
    data = pl.scan_iceberg(table, snapshot_id=dataset["snapshot_id"]).collect()
    X = loaded.preprocessor.transform(data)
    proba = loaded.model.predict_proba(X)
    assert proba is not None
    out = pl.DataFrame(
        {
            "id": data["id"],
            "prediction": typed_labels(loaded.preprocessor, np.argmax(proba, axis=1)),
            "probability": proba.max(axis=1),
        }
    )
    out.write_parquet(work / "plain.parquet")
    out.write_csv(work / "plain.csv")
    plain = time.perf_counter() - start
    httpx.delete(f"{base}/api/v1/dataset/delete/{dataset['dataset_id']}", headers=headers, timeout=600)
    return {
        "rows": result["no_of_records"],
        "raylake_s": ours,
        "plain_s": plain,
        "raylake_rows_per_s": rows / ours,
        "plain_rows_per_s": rows / plain,
        "ratio": plain / ours,
    }


def register_versions(settings: Settings, run: dict, count: int) -> list[int]:
    """``count`` more versions of the tenant, each its own model id, sharing the trained run's files."""
    engine = make_engine(settings.sqlalchemy_url)
    ids = []
    with session_scope(engine) as session:
        original = session.get(TrainingRun, run["id"])
        state = session.get(PreprocessState, run["preprocess_id"])
        assert original is not None and state is not None
        for i in range(count):
            model = session.get(Predictor, original.predictor_id)
            assert model is not None
            predictor = Predictor(
                tenant_id=original.tenant_id,
                project_id=model.project_id,
                predictor_name=f"bench-mux-{uuid.uuid4().hex[:8]}-{i}",
                domain="bench",
                problem_type=original.problem_type,
                task=model.task,
                status=model.status,
                owner="bench",
                created_by="bench",
                updated_by="bench",
            )
            session.add(predictor)
            session.flush()
            clone = TrainingRun(
                **original.model_dump(exclude={"id", "predictor_id", "preprocess_id"}),
                predictor_id=predictor.id,
            )
            session.add(clone)
            session.flush()
            copy = PreprocessState(
                tenant_id=state.tenant_id,
                source_run_id=clone.id,
                storage_key=state.storage_key,
                encoding=state.encoding,
                feature_names=list(state.feature_names),
            )
            session.add(copy)
            session.flush()
            clone.preprocess_id = copy.id
            ids.append(clone.id)
    engine.dispose()
    return ids


def remove_versions(settings: Settings, ids: list[int]) -> None:
    engine = make_engine(settings.sqlalchemy_url)
    with session_scope(engine) as session:
        for train_id in ids:
            for row in session.exec(select(Prediction).where(Prediction.train_id == train_id)).all():
                session.delete(row)
            clone = session.get(TrainingRun, train_id)
            if clone is None:
                continue
            state_id, predictor_id = clone.preprocess_id, clone.predictor_id
            clone.preprocess_id = None
            session.flush()
            session.delete(clone)
            session.flush()
            for row in (session.get(PreprocessState, state_id), session.get(Predictor, predictor_id)):
                if row is not None:
                    session.delete(row)
    engine.dispose()


def multiplex(base: str, headers: dict[str, str], settings: Settings, run: dict, count: int) -> dict:
    ids = register_versions(settings, run, count)
    features = one_row()
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:

            def sweep() -> list[float]:
                latencies = []
                for train_id in ids:
                    start = time.perf_counter()
                    resp = client.post(
                        "/api/v1/inference/", json={"train_id": train_id, "features": features}
                    )
                    latencies.append((time.perf_counter() - start) * 1000)
                    assert resp.status_code == 200, resp.text
                return latencies

            start = time.perf_counter()
            cold = sweep()
            cold_s = time.perf_counter() - start
            warm: list[float] = []
            start = time.perf_counter()
            for _ in range(2):
                warm += sweep()
            warm_s = time.perf_counter() - start
    finally:
        remove_versions(settings, ids)

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q))

    return {
        "models": count,
        "cold_p50_ms": pct(cold, 50),
        "cold_p99_ms": pct(cold, 99),
        "cold_loads_per_s": count / cold_s,
        "warm_p50_ms": pct(warm, 50),
        "warm_p99_ms": pct(warm, 99),
        "warm_req_per_s": len(warm) / warm_s,
        "models_per_replica": settings.inference_models_per_replica,
        "replicas_max": settings.inference_max_replicas,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--skip", nargs="*", default=[], choices=["realtime", "batch", "multiplex"])
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    base = f"http://{settings.host}:{settings.port}"
    headers = login(base, settings)
    memory = psutil.virtual_memory().total / 2**30
    print(
        f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}", flush=True
    )
    with tempfile.TemporaryDirectory(prefix="raylake-bench-infer-") as tmp:
        work = Path(tmp)
        trained = upload_frame(base, headers, frame(20_000, 1), "t", work)
        run = train(base, headers, trained["dataset_id"])
        print(
            f"model: run {run['id']}, {len(run['columns'])} columns, "
            f"accuracy {run['metrics']['accuracy']:.3f}"
        )
        if "realtime" not in args.skip:
            print("| path | clients | p50 ms | p99 ms | req/s | errors |")
            realtime(base, headers, settings, run)
        if "batch" not in args.skip:
            print(
                json.dumps(batch(base, headers, settings, run, args.batch_rows, work), indent=1), flush=True
            )
        if "multiplex" not in args.skip:
            print(json.dumps(multiplex(base, headers, settings, run, args.models), indent=1), flush=True)


if __name__ == "__main__":
    main()
