"""Model-type recommendation on 100,000 x 20 tables: its wall time, and whether its pick is the family a
full ``auto`` search ends up choosing on the same data (figures go to bench/RESULTS.md).

Three tables, generated offline: a binary ``make_classification`` (with categorical and missing values),
``load_wine`` scaled up to 100,000 rows (each row a jittered copy of a real one, plus noise columns) for
multiclass, and a nonlinear regression (``make_friedman1``). For each:

* recommendation: the service's own steps on the in-memory frame (``ml.recommend.analyse``, the
  stratified sample, one Ray task per family through ``platform.registry.recommend.ray_scores``, the
  pick). Reading the silver table is left out (the frame is built here), so is HTTP.
* ``auto``: ``raylake.ml.pipeline.run(algorithm="auto")`` (the training job's code: split, preprocessing,
  the Ray Tune search, the refit) with the platform's default 60 s budget, on the same Ray.

Runs its own local Ray (all cores). Usage: `.venv/bin/python bench/recommend.py [--search-budget 60]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from raylake.ml import pipeline, quick_fit, recommend
from raylake.ml.algorithms.registry import model_type_of
from raylake.platform.registry.recommend import ray_scores

ROWS = 100_000


def binary_table(rows: int) -> tuple[pl.DataFrame, str]:
    """make_classification: 15 numeric features (8 informative), 4 categorical ones binned from further
    informative ones, 5% missing values in two columns; 19 features and the target."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows, n_features=19, n_informative=10, n_redundant=3, flip_y=0.05, random_state=3
    )
    rng = np.random.default_rng(3)
    columns: dict[str, object] = {f"x{i}": X[:, i] for i in range(15)}
    for i in range(15, 19):
        bins = np.digitize(X[:, i], np.quantile(X[:, i], np.linspace(0, 1, 9)[1:-1]))
        columns[f"c{i}"] = np.array([f"level_{b}" for b in bins])
    frame = pl.DataFrame(columns).with_columns(pl.Series("label", y.astype(bool)))
    holes = rng.random((rows, 2)) < 0.05
    return frame.with_columns(
        pl.when(pl.Series(holes[:, 0])).then(None).otherwise(pl.col("x0")).alias("x0"),
        pl.when(pl.Series(holes[:, 1])).then(None).otherwise(pl.col("c15")).alias("c15"),
    ), "label"


def wine_table(rows: int) -> tuple[pl.DataFrame, str]:
    """load_wine's 178 rows resampled to ``rows``, each feature jittered by 10% of its spread, plus six
    pure-noise columns: 19 features and the cultivar (three classes)."""
    from sklearn.datasets import load_wine

    data = load_wine()
    rng = np.random.default_rng(5)
    picked = rng.integers(0, len(data.target), rows)
    X = data.data[picked] + rng.normal(0, 0.10, (rows, data.data.shape[1])) * data.data.std(axis=0)
    columns: dict[str, object] = {name: X[:, i] for i, name in enumerate(data.feature_names)}
    columns |= {f"noise{i}": rng.normal(0, 1, rows) for i in range(6)}
    cultivar = np.array(["barolo", "grignolino", "barbera"])[data.target[picked]]
    return pl.DataFrame(columns).with_columns(pl.Series("cultivar", cultivar)), "cultivar"


def regression_table(rows: int) -> tuple[pl.DataFrame, str]:
    """make_friedman1 (y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + noise) with 14 more
    uninformative features, and a categorical column that shifts the target: 19 features and y."""
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=rows, n_features=18, noise=1.0, random_state=7)
    rng = np.random.default_rng(7)
    region = rng.integers(0, 5, rows)
    y = y + np.array([0.0, 2.0, -1.0, 4.0, 1.0])[region]
    columns: dict[str, object] = {f"x{i}": X[:, i] for i in range(18)}
    columns["region"] = np.array([f"r{r}" for r in region])
    return pl.DataFrame(columns).with_columns(pl.Series("y", y)), "y"


TABLES = {
    "make_classification (binary)": binary_table,
    "wine x562 (multiclass)": wine_table,
    "friedman1 (regression)": regression_table,
}


def recommend_on(frame: pl.DataFrame, target: str, budget_s: float) -> tuple[recommend.Choice, list, float]:
    """The recommendation service's steps on a frame; returns the pick, the scores and the wall time."""
    started = time.perf_counter()
    analysis = recommend.analyse(frame, target)
    problem_type = analysis.task.problem_type
    sample = quick_fit.sample(frame, target, problem_type, quick_fit.SAMPLE_ROWS, seed=0)
    remaining = budget_s - (time.perf_counter() - started) - 0.5
    scores = ray_scores(sample, analysis.roles, problem_type, remaining, 0)
    choice = recommend.choose(scores, analysis.task, sample_rows=sample.height, excluded=analysis.excluded)
    return choice, scores, time.perf_counter() - started


def auto_on(frame: pl.DataFrame, target: str, budget_s: float) -> tuple[str, dict[str, float], float]:
    """The training job's ``auto``: the algorithm it chose, each algorithm's best trial score, wall time."""
    analysis = recommend.analyse(frame, target)
    roles = [role for role in analysis.roles if role.attribute != "Ignore"]
    started = time.perf_counter()
    result = pipeline.run(
        frame,
        roles,
        problem_type=analysis.task.problem_type,
        algorithm="auto",
        time_budget_s=budget_s,
        threads=1,
        max_concurrency=os.cpu_count() or 2,
    )
    best: dict[str, float] = {}
    for trial in result.trials:
        if trial.get("score") is not None:
            name = trial["algorithm"]
            best[name] = max(best.get(name, -np.inf), float(trial["score"]))
    return result.algorithm, best, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--budget", type=float, default=20.0, help="the recommendation's time_budget_s")
    parser.add_argument("--search-budget", type=float, default=60.0, help="auto's time_budget_s")
    args = parser.parse_args()

    import ray

    ray.init(num_cpus=os.cpu_count(), log_to_driver=False, include_dashboard=False)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}; "
        f"ray {ray.__version__}"
    )
    # Warm the workers (imports of polars, scikit-learn, LightGBM) as an API replica's cluster would be.
    warm, target = regression_table(2_000)
    recommend_on(warm, target, 20.0)

    rows_out = []
    for name, build in TABLES.items():
        frame, target = build(args.rows)
        choice, scores, seconds = recommend_on(frame, target, args.budget)
        print(f"{name}: recommended {choice.model_type.value} in {seconds:.1f} s", flush=True)
        try:
            chosen, best, auto_s = auto_on(frame, target, args.search_budget)
        except RuntimeError as exc:  # no trial finished in the budget (a loaded machine): say so
            print(f"    auto: {exc}", flush=True)
            rows_out.append(
                f"| {name} | {seconds:.1f} s | {choice.model_type.value} ({choice.confidence}) "
                f"| none: {exc} | n/a | | |"
            )
            continue
        auto_family = model_type_of(chosen)
        pick = choice.model_type
        ranked = sorted(((s.score, s.model_type.value) for s in scores if s.score is not None), reverse=True)
        line = (
            f"| {name} ({frame.height:,} x {frame.width}) | {seconds:.1f} s "
            f"| {pick.value} ({choice.confidence}) "
            f"| {auto_family.value} ({chosen}) | {'yes' if pick is auto_family else 'no'} | "
            + ", ".join(f"{family} {score:.4f}" for score, family in ranked)
            + f" | {auto_s:.0f} s; "
            + ", ".join(f"{alg} {score:.4f}" for alg, score in sorted(best.items(), key=lambda kv: -kv[1]))
            + " |"
        )
        print(line, flush=True)
        print(f"    {choice.explanation}", flush=True)
        rows_out.append(line)
    print()
    print(
        "| table | recommend wall | pick (confidence) | auto's choice | match | quick CV scores "
        "| auto: wall; best trial per algorithm |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows_out))


if __name__ == "__main__":
    main()
