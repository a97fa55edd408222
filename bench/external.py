"""External models, side by side in one run (figures go to bench/RESULTS.md):

1. Real-time: a LightGBM classifier on 10 numeric features trained by raylake (``POST /api/v1/train/``)
   vs the same parameters and rounds trained here on the same rows, exported to ONNX (onnxmltools, no
   ZipMap) and registered as an external version. One row per ``POST /api/v1/inference/``, p50/p99 and
   req/s at 1 and 8 clients, the two interleaved; and each model's own predict in process (onnxruntime
   session vs LightGBM booster, then raylake's ``ExternalModel`` vs ``ServedModel``), one row.
2. Surrogates (offline, no platform): scikit-learn models on breast_cancer and diabetes exported to ONNX
   (skl2onnx), loaded with ``raylake.ml.external``; a ``raylake.ml.surrogate`` fitted on the training
   rows. Its fidelity (its own held-out share, and on test rows), and explained calls per row: TreeSHAP
   on the surrogate vs KernelSHAP on the ONNX model, as served (the all-defaults reference row) and with
   a median-row background; how close the attributions are (Spearman rank correlation of |values| per
   row, and how often the top feature agrees).
3. Deployments: wall time from ``POST /api/v1/deployments`` to the first 200 from its predict (polled
   every 100 ms), for the native and the external version, a few times each (deleted in between).

Parts 1 and 3 need a running platform (`make run`) and read the same RAYLAKE_* settings. Usage:
`.venv/bin/python bench/external.py [--skip realtime surrogate deploy] [--rounds 3] [--deploys 5]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import lightgbm as lgb
import numpy as np
import polars as pl
import psutil
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.client import login, train_and_wait, upload
from bench.loadgen import measure
from raylake.core.vocabulary import ModelFormat, Task
from raylake.ml import external_inputs
from raylake.ml.external import ExternalModel, Signature, load_external
from raylake.ml.pipeline import split_indices
from raylake.ml.serving import SERVING_THREADS, ServedModel
from raylake.ml.surrogate import fit_surrogate
from raylake.platform import lake
from raylake.platform import models as _all_tables  # noqa: F401  (every table registered: foreign keys resolve)
from raylake.platform.config import Settings, resolve_settings
from raylake.platform.db import make_engine, session_scope
from raylake.platform.training import artifacts
from raylake.platform.training.models import PreprocessState

FEATURES = [f"x{i}" for i in range(10)]
TARGET = "label"
CLASS_ORDER = ["false", "true"]  # raylake's labels for a boolean target
PARAMS = {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20}
JSON = {"Content-Type": "application/json"}
POLL_S = 0.1


# ------------------------------------------------------------------------------------------ part 1


def make_frame(rows: int, seed: int = 5) -> pl.DataFrame:
    """10 numeric features and a boolean target with interactions, so the booster has work to do."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (rows, len(FEATURES))).round(5)
    logit = (
        X[:, 0] - 0.8 * X[:, 1] * X[:, 2] + 0.6 * np.sin(3 * X[:, 3]) + 0.3 * X[:, 4] + rng.normal(0, 1, rows)
    )
    return pl.DataFrame({**{name: X[:, i] for i, name in enumerate(FEATURES)}, TARGET: logit > 0})


def train_native(base: str, headers: dict[str, str], dataset_id: int) -> dict:
    body = {
        "dataset_id": dataset_id,
        "predictor_name": f"bench-ext-native-{uuid.uuid4().hex[:6]}",
        "domain": "bench",
        "problem_type": "Classification",
        "columns": [{"column_name": TARGET, "attribute_name": "Target"}],
        "algorithm": "LightGBM",
        "params": PARAMS,
    }
    run, wall, _ = train_and_wait(base, headers, body)
    print(f"native run {run['id']}: {wall:.1f} s, {run['model_params']['n_estimators']} rounds", flush=True)
    return run


def train_local(frame: pl.DataFrame, rounds: int) -> lgb.Booster:
    """The native run's parameters and final round count, on its training rows (raylake's split)."""
    labels = frame[TARGET].cast(pl.Int64).to_numpy()
    train, _, _ = split_indices(len(labels), labels, 0)
    X = frame.select(FEATURES).to_numpy()
    params = {
        "objective": "binary",
        "learning_rate": PARAMS["learning_rate"],
        "num_leaves": PARAMS["num_leaves"],
        "min_data_in_leaf": PARAMS["min_child_samples"],
        "num_threads": 2,
        "seed": 0,
        "deterministic": True,
        "force_col_wise": True,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(X[train], labels[train]), num_boost_round=rounds)


def booster_onnx(booster: lgb.Booster) -> bytes:
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    onnx_model = onnxmltools.convert_lightgbm(
        booster, initial_types=[("input", FloatTensorType([None, len(FEATURES)]))], zipmap=False
    )
    return onnx_model.SerializeToString()


def register_external(base: str, headers: dict[str, str], data: bytes) -> dict:
    """A draft model, the ONNX file as its artifact, registered as version v1: the version."""
    client = httpx.Client(base_url=base, headers=headers, timeout=120)
    model = client.post(
        "/api/v1/models",
        json={"name": f"bench-ext-onnx-{uuid.uuid4().hex[:6]}", "task": "binary_classification"},
    )
    model.raise_for_status()
    model_id = model.json()["id"]
    artifact = client.post(
        f"/api/v1/models/{model_id}/artifacts",
        files={"file": ("lightgbm.onnx", data, "application/octet-stream")},
        data={"file_kind": "model"},
    )
    artifact.raise_for_status()
    version = client.post(
        f"/api/v1/models/{model_id}/versions",
        json={
            "artifact_id": artifact.json()["id"],
            "inputs": [{"name": name, "data_type": "Float"} for name in FEATURES],
            "class_order": CLASS_ORDER,
            "target": TARGET,
        },
    )
    if version.status_code != 201:
        raise SystemExit(f"registration refused: {version.text}")
    return {**version.json(), "model_id": model_id}


def per_call_us(call: Callable[[], Any], repeats: int = 3000) -> tuple[float, float]:
    """p50 and p99 of one call, in microseconds (after a warm-up)."""
    for _ in range(200):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def native_served(settings: Settings, run: dict) -> ServedModel:
    """The native run's model as its replica serves it (the same artifacts, the same RowEncoder)."""
    with session_scope(make_engine(settings.sqlalchemy_url)) as session:
        state = session.get(PreprocessState, run["preprocess_id"])
        assert state is not None
        key = state.storage_key
    loaded = artifacts.load(lake.open_lake(settings).store, f"{run['tenant_id']}/models/{run['id']}", key)
    return ServedModel.build(loaded.model, loaded.preprocessor, None)


def in_process(settings: Settings, run: dict, booster: lgb.Booster, data: bytes, row: dict) -> list[str]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = SERVING_THREADS
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    x32 = np.array([[row[name] for name in FEATURES]], dtype=np.float32)
    x64 = x32.astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(data)
        signature = Signature([(name, "Float") for name in FEATURES], Task.BINARY_CLASSIFICATION, CLASS_ORDER)
        external = load_external(path, ModelFormat.ONNX, signature)
    served = native_served(settings, run)
    native_booster = served.model.native
    inputs = external.signature.inputs
    columns = external_inputs.from_rows(inputs, [row])
    X = served.encoder.encode([row])
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("onnxruntime session.run (local booster as ONNX)", lambda: session.run(None, {"input": x32})),
        (
            "LightGBM booster.predict (local booster)",
            lambda: booster.predict(x64, num_threads=SERVING_THREADS),
        ),
        (
            "LightGBM booster.predict (native run's booster)",
            lambda: native_booster.predict(x64, num_threads=SERVING_THREADS),
        ),
        ("raylake ExternalModel.predict (ONNX)", lambda: external.predict([row])),
        ("- of which: row to typed columns (from_rows)", lambda: external_inputs.from_rows(inputs, [row])),
        (
            "- of which: OnnxRunner.run (matrix, session)",
            lambda: external.runner.run(columns, SERVING_THREADS),
        ),
        ("raylake ServedModel.predict (native run)", lambda: served.predict([row])),
        ("- of which: RowEncoder.encode", lambda: served.encoder.encode([row])),
        ("- of which: predict_matrix (booster, labels)", lambda: served.predict_matrix(X)),
    ]
    rows = []
    for name, call in cases:
        p50, p99 = per_call_us(call)
        rows.append(f"| {name} | {p50:.0f} | {p99:.0f} |")
        print(rows[-1], flush=True)
    return rows


def agreement(settings: Settings, run: dict, data: bytes, frame: pl.DataFrame) -> str:
    """How close the two models' probabilities are on the table's first 2,000 rows (a sanity check)."""
    import onnxruntime as ort

    sample = frame.head(2000)
    served = native_served(settings, run)
    theirs = np.array([r["probabilities"]["true"] for r in served.predict(sample.drop(TARGET).to_dicts())])
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the converter declares the label output [1]: a warning per batch
    session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    ours = session.run(None, {"input": sample.select(FEATURES).to_numpy().astype(np.float32)})[1][:, 1]
    same = np.mean((theirs > 0.5) == (ours > 0.5))
    gap = np.max(np.abs(theirs - ours))
    return f"native vs ONNX on 2,000 rows: same class {same:.4f}, max |p diff| {gap:.4f}"


def realtime(
    base: str, headers: dict[str, str], targets: dict[str, int], row: dict, rounds: int
) -> list[str]:
    url = f"{base}/api/v1/inference/"
    bodies = {
        name: json.dumps({"train_id": train_id, "features": row}).encode()
        for name, train_id in targets.items()
    }
    for body in bodies.values():
        check = httpx.post(url, content=body, headers=headers | JSON, timeout=60)
        assert check.status_code == 200, check.text
    for body in bodies.values():  # unrecorded: the pool scales up and both models load first
        measure("warm-up", url, headers=headers, concurrency=8, total=2000, body=body)
    rows = []
    names = list(bodies)
    for attempt in range(rounds):
        for clients in (1, 8):
            order = names if attempt % 2 == 0 else names[::-1]
            for name in order:
                result = measure(
                    name,
                    url,
                    headers=headers,
                    concurrency=clients,
                    total=2000 * max(1, clients // 4),
                    body=bodies[name],
                )
                rows.append(result.row())
                print(result.row(), flush=True)
    return rows


# ------------------------------------------------------------------------------------------ part 2


def _dataset(name: str) -> tuple[np.ndarray, np.ndarray, list[str], Task, list[str] | None]:
    from sklearn.datasets import load_breast_cancer, load_diabetes

    loaded = load_breast_cancer() if name == "breast_cancer" else load_diabetes()
    names = [str(n).replace(" ", "_") for n in loaded.feature_names]
    if name == "breast_cancer":
        return (
            loaded.data,
            loaded.target,
            names,
            Task.BINARY_CLASSIFICATION,
            [str(c) for c in loaded.target_names],
        )
    return loaded.data, loaded.target, names, Task.REGRESSION, None


def _estimator(kind: str, task: Task) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "RandomForest":
        return RandomForestClassifier(n_estimators=200, random_state=0)
    if kind == "GradientBoosting":
        return GradientBoostingRegressor(
            n_estimators=100, learning_rate=0.05, max_depth=2, subsample=0.8, random_state=0
        )
    if task is Task.REGRESSION:
        mlp: Any = MLPRegressor(
            hidden_layer_sizes=(32,), alpha=1.0, max_iter=2000, early_stopping=True, random_state=0
        )
    else:
        mlp = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=1000, random_state=0)
    return make_pipeline(StandardScaler(), mlp)


def _explained(model: ExternalModel, rows: list[dict]) -> tuple[np.ndarray, list[float], str]:
    """Each row explained in its own call (the default 2 s budget): the values (rows x inputs), seconds
    per call, the method."""
    model.predict(rows[:1], explain=True)  # warm-up: shap's import, KernelSHAP's cost probe
    values, seconds, method = [], [], ""
    for row in rows:
        start = time.perf_counter()
        result = model.predict([row], explain=True)[0]
        seconds.append(time.perf_counter() - start)
        values.append([result["explanation"][name] for name in model.signature.names])
        method = result["explanation_method"]
    return np.asarray(values), seconds, method


def _exact(estimator: Any, X: np.ndarray, predicted: np.ndarray | None) -> np.ndarray:
    """The original tree model's exact SHAP values (shap's TreeExplainer), for each row's class."""
    import shap

    values = np.asarray(shap.TreeExplainer(estimator).shap_values(X), dtype=np.float64)
    if predicted is None:
        return values
    return values[np.arange(len(X)), :, predicted]  # (rows, inputs, classes)


def _closeness(a: np.ndarray, b: np.ndarray) -> str:
    """Mean Spearman correlation of |values| per row, and the mean overlap of the top-3 inputs."""
    rhos = [spearmanr(np.abs(x), np.abs(y)).statistic for x, y in zip(a, b, strict=True)]
    tops = [
        len(set(np.argsort(-np.abs(x))[:3]) & set(np.argsort(-np.abs(y))[:3])) / 3
        for x, y in zip(a, b, strict=True)
    ]
    return f"{np.nanmean(rhos):.2f}, {np.mean(tops):.0%}"


def surrogate_case(dataset: str, kind: str, explain_rows: int) -> tuple[str, str]:
    """One model: its row of the timing table and its row of the closeness table."""
    import shap
    from skl2onnx import to_onnx
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split

    X, y, names, task, classes = _dataset(dataset)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    estimator = _estimator(kind, task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X_train, y_train)
    classify = task is not Task.REGRESSION
    options = {"zipmap": False} if classify else None
    data = to_onnx(estimator, X_train[:1].astype(np.float32), options=options).SerializeToString()
    signature = Signature([(name, "Float") for name in names], task, classes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        path.write_bytes(data)
        served, with_surrogate, with_background = (
            load_external(path, ModelFormat.ONNX, signature) for _ in range(3)
        )
    train_frame = pl.DataFrame(X_train, schema=names, orient="row")
    test_rows = pl.DataFrame(X_test, schema=names, orient="row").to_dicts()

    start = time.perf_counter()
    surrogate = fit_surrogate(with_surrogate, train_frame, seed=0)
    fit_s = time.perf_counter() - start
    with_surrogate.surrogate = surrogate
    # shap's advice for KernelSHAP: a few weighted centres of the training rows as the reference
    with_background.background = shap.kmeans(X_train, 10).data

    model_out = served.predict(test_rows)
    raw = np.asarray(surrogate.booster.predict(with_surrogate.encode(test_rows)), dtype=np.float64)
    predicted: np.ndarray | None = None
    if classify:
        assert classes is not None
        predicted = np.array([classes.index(r["prediction"]) for r in model_out])
        guessed = (raw > 0.5).astype(int) if raw.ndim == 1 else np.argmax(raw, axis=1)
        test_fidelity = float(np.mean(predicted == guessed))
        score = f"accuracy {accuracy_score(y_test, predicted):.3f}"
    else:
        values = np.array([r["prediction"] for r in model_out])
        test_fidelity = float(r2_score(values, raw))
        score = f"R² {r2_score(y_test, values):.3f}"

    rows = test_rows[:explain_rows]
    plain = statistics.median(
        per_call_us(lambda r=row: served.predict([r]), repeats=200)[0] for row in rows[:10]
    )
    tree, tree_s, tree_method = _explained(with_surrogate, rows)
    kernel, kernel_s, kernel_method = _explained(served, rows)
    kernel_bg, kernel_bg_s, _ = _explained(with_background, rows)
    assert tree_method == "surrogate_tree_shap" and kernel_method == "kernel_shap", (
        tree_method,
        kernel_method,
    )
    case = f"{dataset} ({len(X):,} rows, {len(names)} inputs), {kind}"
    ms = {name: statistics.median(times) * 1000 for name, times in (("tree", tree_s), ("kernel", kernel_s))}
    ms["kernel_bg"] = statistics.median(kernel_bg_s) * 1000
    fidelity = f"{surrogate.metric} {surrogate.fidelity:.3f} / {test_fidelity:.3f}"
    timing = (
        f"| {case} | {score} | {fidelity} | {fit_s:.2f} | {plain / 1000:.2f} | {ms['tree']:.2f} "
        f"| {ms['kernel']:.1f} | {ms['kernel_bg']:.1f} |"
    )
    exact = ["n/a (no exact SHAP of an MLP)"] * 3
    if kind != "MLP":
        truth = _exact(estimator, X_test[: len(rows)], None if predicted is None else predicted[: len(rows)])
        exact = [_closeness(tree, truth), _closeness(kernel, truth), _closeness(kernel_bg, truth)]
    pairs = [_closeness(tree, kernel), _closeness(tree, kernel_bg), *exact]
    closeness = f"| {case} | {len(rows)} | {' | '.join(pairs)} |"
    return timing, closeness


def surrogates(explain_rows: int) -> list[str]:
    cases = [
        ("breast_cancer", "RandomForest"),
        ("breast_cancer", "MLP"),
        ("diabetes", "GradientBoosting"),
        ("diabetes", "MLP"),
    ]
    timings = [
        "| model (ONNX) | original on test | surrogate fidelity (own held-out / test rows) | surrogate fit s "
        "| predict ms | TreeSHAP on surrogate ms/row | KernelSHAP as served ms/row "
        "| KernelSHAP, 10-centre background ms/row |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    closeness = [
        "| model (ONNX) | rows | surrogate vs KernelSHAP as served | surrogate vs KernelSHAP 10-centre "
        "| surrogate vs exact | KernelSHAP as served vs exact | KernelSHAP 10-centre vs exact |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, kind in cases:
        timing, close = surrogate_case(dataset, kind, explain_rows)
        timings.append(timing)
        closeness.append(close)
        print(timing, close, sep="\n", flush=True)
    return [
        *timings,
        "",
        "(rank correlation of |values| per row, mean; overlap of the top-3 inputs)",
        *closeness,
    ]


# ------------------------------------------------------------------------------------------ part 3


def deploy_once(
    client: httpx.Client, model_id: int, version: str, row: dict, timeout_s: float
) -> dict[str, Any]:
    """POST the deployment, poll its predict every 100 ms until a 200: seconds to it, what was seen."""
    start = time.perf_counter()
    created = client.post(
        "/api/v1/deployments", json={"model_id": model_id, "version": version, "replicas": 1}
    )
    posted = time.perf_counter() - start
    if created.status_code != 201:
        raise SystemExit(f"deployment refused: {created.status_code} {created.text}")
    deployment_id = created.json()["id"]
    seen: dict[int, int] = {}
    first_refusal = ""
    try:
        while True:
            answer = client.post(f"/api/v1/deployments/{deployment_id}/predict", json={"rows": [row]})
            seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
            if answer.status_code == 200:
                ready = time.perf_counter() - start
                return {"ready_s": ready, "post_s": posted, "seen": seen, "refusal": first_refusal}
            first_refusal = first_refusal or answer.text[:200]
            if time.perf_counter() - start > timeout_s:
                raise SystemExit(
                    f"deployment {deployment_id} not predicting after {timeout_s:.0f} s: {answer.text}"
                )
            time.sleep(POLL_S)
    finally:
        client.delete(f"/api/v1/deployments/{deployment_id}").raise_for_status()


def deployments(
    base: str,
    headers: dict[str, str],
    targets: dict[str, tuple[int, str]],
    row: dict,
    repeats: int,
    pause_s: float,
) -> list[str]:
    client = httpx.Client(base_url=base, headers=headers, timeout=120)
    times: dict[str, list[float]] = {name: [] for name in targets}
    for attempt in range(repeats):
        order = list(targets) if attempt % 2 == 0 else list(targets)[::-1]
        for name in order:
            model_id, version = targets[name]
            result = deploy_once(client, model_id, version, row, timeout_s=600)
            times[name].append(result["ready_s"])
            print(
                f"{name}: POST -> first 200 {result['ready_s']:.2f} s (POST answered in "
                f"{result['post_s']:.2f} s; statuses while waiting {result['seen']}) {result['refusal']}",
                flush=True,
            )
            time.sleep(pause_s)  # the deleted application's replica drains before the next one starts
    lines = ["| version | runs | median s | max s | each s |", "| --- | --- | --- | --- | --- |"]
    for name, values in times.items():
        each = ", ".join(f"{v:.1f}" for v in values)
        lines.append(
            f"| {name} | {len(values)} | {statistics.median(values):.2f} | {max(values):.2f} | {each} |"
        )
    return lines


# ------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved passes of the real-time load")
    parser.add_argument("--explain-rows", type=int, default=40)
    parser.add_argument("--deploys", type=int, default=5)
    parser.add_argument("--deploy-pause", type=float, default=40.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["realtime", "surrogate", "deploy"])
    args = parser.parse_args()
    memory = psutil.virtual_memory().total / 2**30
    print(
        f"machine: {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}", flush=True
    )
    report: list[str] = []
    if "surrogate" not in args.skip:
        report += ["", "## surrogates", *surrogates(args.explain_rows)]
    if {"realtime", "deploy"} <= set(args.skip):
        print("\n".join(report))
        return
    settings = resolve_settings(Settings())
    base = f"http://{settings.host}:{settings.port}"
    headers = login(base, settings)
    frame = make_frame(args.rows)
    with tempfile.TemporaryDirectory(prefix="raylake-bench-external-") as tmp:
        path = Path(tmp) / "external.csv"
        frame.write_csv(path)
        dataset = upload(base, headers, path, prefix="bench-external")
    run = train_native(base, headers, dataset["dataset_id"])
    booster = train_local(frame, run["model_params"]["n_estimators"])
    data = booster_onnx(booster)
    version = register_external(base, headers, data)
    print(
        f"external version: model {version['model_id']} {version['version']} (train_id {version['train_id']})"
    )
    print(agreement(settings, run, data, frame), flush=True)
    row = frame.row(123, named=True)
    row.pop(TARGET)
    if "realtime" not in args.skip:
        report += ["", "## in process, one row (us)", "| call | p50 us | p99 us |", "| --- | --- | --- |"]
        report += in_process(settings, run, booster, data, row)
        report += ["", "## POST /inference/", "| model | clients | p50 ms | p99 ms | req/s | errors |"]
        targets = {"native LightGBM": run["id"], "external ONNX": version["train_id"]}
        report += realtime(base, headers, targets, row, args.rounds)
    if "deploy" not in args.skip:
        deployed = {
            "native LightGBM": (run["predictor_id"], f"v{run['version']}"),
            "external ONNX": (version["model_id"], version["version"]),
        }
        report += ["", "## POST /deployments -> first 200 from its predict"]
        report += deployments(base, headers, deployed, row, args.deploys, args.deploy_pause)
    print("\n".join(report))


if __name__ == "__main__":
    main()
