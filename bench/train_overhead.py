"""Training overhead, side by side in one run (figures go to bench/RESULTS.md):

LightGBM with fixed parameters on a generated 1,000,000-row x 20-column dataset (18 features of mixed
types, an Id and a binary target):

* raylake: ``POST /api/v1/train/`` -> poll ``GET /api/v1/train/get/{id}`` until ``completed`` (a Ray job
  reads the silver snapshot, fits preprocessing, splits, trains with early stopping, evaluates on the
  test split, writes artifacts, posts the result back). Timed from submit to completed.
* plain: a Python script (timed from its start, imports included; and again in process) reads the
  same Iceberg snapshot with polars, encodes the strings as
  categories, makes the same 70/15/15 split, trains LightGBM with the same parameters, threads and
  early stopping, and evaluates on the same test rows.

The dataset upload is setup, not timed. Needs a running platform (`make run`); reads the same RAYLAKE_*
settings. Usage: `.venv/bin/python bench/train_overhead.py [--rows 1000000] [--repeat 2]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import lightgbm as lgb
import numpy as np
import polars as pl
import psutil
from sklearn.metrics import accuracy_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import login, train_and_wait, upload
from raylake.ml.pipeline import split_indices
from raylake.platform import lake
from raylake.platform.config import Settings, resolve_settings

PARAMS = {"n_estimators": 300, "learning_rate": 0.1, "num_leaves": 63, "min_child_samples": 50}


def make_parquet(path: Path, rows: int) -> None:
    """18 features (12 numeric, 4 categorical strings, 1 boolean, 1 date), an Id and a binary target."""
    rng = np.random.default_rng(11)
    numeric = {f"x{i}": rng.normal(0, 1, rows).round(5) for i in range(12)}
    plans = np.array(["basic", "plus", "premium", "family", "business"])
    regions = np.array([f"r{i}" for i in range(40)])
    plan = rng.integers(0, len(plans), rows)
    region = rng.integers(0, len(regions), rows)
    logit = (
        1.2 * numeric["x0"]
        - 0.8 * numeric["x1"] * numeric["x2"]
        + 0.6 * np.sin(3 * numeric["x3"])
        + 0.5 * (plan - 2)
        + 0.02 * (region - 20)
        + rng.normal(0, 1, rows)
    )
    base = np.datetime64("2022-01-01")
    frame = pl.DataFrame(
        {
            "id": [f"C{i:08d}" for i in range(rows)],
            **numeric,
            "plan": plans[plan],
            "region": regions[region],
            "device": rng.choice(["ios", "android", "web"], rows),
            "channel": rng.choice(["store", "online", "partner", "phone"], rows),
            "active": rng.random(rows) > 0.3,
            "joined": (base + rng.integers(0, 1000, rows).astype("timedelta64[D]")).astype("datetime64[D]"),
            "churn": logit > 0.3,
        }
    )
    frame.write_parquet(path)


def through_raylake(base: str, headers: dict[str, str], dataset_id: int) -> dict:
    body = {
        "dataset_id": dataset_id,
        "predictor_name": f"bench-{uuid.uuid4().hex[:8]}",
        "domain": "bench",
        "problem_type": "Classification",
        "columns": [
            {"column_name": "id", "attribute_name": "Id"},
            {"column_name": "churn", "attribute_name": "Target"},
        ],
        "algorithm": "LightGBM",
        "params": PARAMS,
    }
    run, wall, stages = train_and_wait(base, headers, body)
    train_id = run["id"]
    summary = httpx.get(
        f"{base}/api/v1/train/model-summary", params={"train_id": train_id}, headers=headers, timeout=60
    ).json()["model_summary"]
    httpx.delete(f"{base}/api/v1/train/delete/{train_id}", headers=headers, timeout=60)
    return {
        "wall_s": wall,
        "accuracy": summary["accuracy"],
        "roc_auc": summary["roc_auc"],
        "rounds": run["model_params"]["n_estimators"],
        "stages": stages,
    }


def plain(settings: Settings, table_name: str, snapshot_id: int) -> dict:
    """The same data, split, parameters, threads and early stopping, in one plain process."""
    start = time.perf_counter()
    ctx = lake.open_lake(settings)
    frame = (
        pl.scan_iceberg(lake.load(ctx.catalog, "silver", table_name), snapshot_id=snapshot_id)
        .drop("file_id", "id")
        .collect()
    )
    labels = frame["churn"].cast(pl.Int64).to_numpy()
    strings = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    features = frame.drop("churn").with_columns(
        *[pl.col(name).cast(pl.Categorical).to_physical().cast(pl.Float64) for name in strings],
        pl.col("joined").dt.year().alias("joined_year"),
        pl.col("joined").dt.month().alias("joined_month"),
        pl.col("joined").dt.weekday().alias("joined_weekday"),
        pl.col("joined").cast(pl.Int64).alias("joined"),
    )
    X = features.cast(pl.Float64).to_numpy()
    categorical = [features.columns.index(name) for name in strings]
    train, val, test = split_indices(len(labels), labels, 0)
    threads = settings.train_cpus
    params = {
        "objective": "binary",
        "learning_rate": PARAMS["learning_rate"],
        "num_leaves": PARAMS["num_leaves"],
        "min_data_in_leaf": PARAMS["min_child_samples"],
        "num_threads": threads,
        "seed": 0,
        "deterministic": True,
        "force_col_wise": True,
        "verbose": -1,
    }
    dtrain = lgb.Dataset(X[train], labels[train], categorical_feature=categorical, params=params)
    dval = lgb.Dataset(X[val], labels[val], reference=dtrain)
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=PARAMS["n_estimators"],
        valid_sets=[dval],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    proba = booster.predict(X[test], num_iteration=booster.best_iteration or None)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "accuracy": float(accuracy_score(labels[test], proba > 0.5)),
        "roc_auc": float(roc_auc_score(labels[test], proba)),
        "rounds": booster.best_iteration or booster.current_iteration(),
    }


def plain_script(table_name: str, snapshot_id: int) -> float:
    """The plain baseline run as what it is, a script: its interpreter start and imports count too."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, __file__, "--plain", table_name, str(snapshot_id)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--plain", nargs=2, metavar=("TABLE", "SNAPSHOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    if args.plain:
        print(plain(settings, args.plain[0], int(args.plain[1])))
        return
    base = f"http://{settings.host}:{settings.port}"
    headers = login(base, settings)
    with tempfile.TemporaryDirectory(prefix="raylake-bench-train-") as tmp:
        path = Path(tmp) / "train.parquet"
        make_parquet(path, args.rows)
        dataset = upload(base, headers, path, prefix="bench-train")
    print(f"dataset {dataset['dataset_id']}: {args.rows:,} rows x 20 columns", flush=True)
    memory = psutil.virtual_memory().total / 2**30
    print(f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}")
    print(f"train_cpus: {settings.train_cpus}; params: {PARAMS}")
    rows = []
    for attempt in range(args.repeat):
        ours = through_raylake(base, headers, dataset["dataset_id"])
        theirs = plain(settings, dataset["iceberg_table_name"], dataset["snapshot_id"])
        script_s = plain_script(dataset["iceberg_table_name"], dataset["snapshot_id"])
        ratio = ours["wall_s"] / script_s
        rows.append(ratio)
        print(
            f"run {attempt + 1}: raylake {ours['wall_s']:.2f} s (acc {ours['accuracy']:.4f}, "
            f"auc {ours['roc_auc']:.4f}, {ours['rounds']} rounds) | plain {theirs['wall_s']:.2f} s "
            f"(acc {theirs['accuracy']:.4f}, auc {theirs['roc_auc']:.4f}, {theirs['rounds']} rounds) "
            f"in process, {script_s:.2f} s as a script | ratio to the script {ratio:.2f}x, "
            f"to in-process {ours['wall_s'] / theirs['wall_s']:.2f}x",
            flush=True,
        )
        print(
            "  raylake stages first seen at (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in ours["stages"].items())
        )
    httpx.delete(f"{base}/api/v1/dataset/delete/{dataset['dataset_id']}", headers=headers, timeout=600)
    print(f"best ratio {min(rows):.2f}x, median {float(np.median(rows)):.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
