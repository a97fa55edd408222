"""The model-type recommendation: a tenant's dataset analysed, every family cross-validated, one picked.

Everything the request names is checked before any compute (the dataset is the caller's, validated, and
has the target; the task fits it). The quick fits then run as one Ray task per family, side by side, under
the request's time budget: a family that has not finished by then is cancelled and reported without a
score. Called without a Ray connection (service tests, a plain uvicorn) the same fits run in this process,
one after another under the same budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from sqlmodel import Session

from raylake.core.vocabulary import ModelType
from raylake.ml import quick_fit, recommend
from raylake.ml.algorithms.registry import algorithm_for
from raylake.ml.preprocess import ColumnRole, drop_missing_target
from raylake.ml.quick_fit import FamilyScore
from raylake.platform import lake
from raylake.platform.datasets.models import Dataset
from raylake.platform.errors import Invalid
from raylake.platform.lake import Lake
from raylake.platform.registry.models import Project
from raylake.platform.tenancy import Principal, get_scoped
from raylake.schemas.registry_recommend import RecommendRequest

# A fold starting this close to the budget's end would not finish: the fits stop before it.
FOLD_MARGIN_S = 1.0
# Kept back from the budget for picking, explaining and answering.
ANSWER_MARGIN_S = 0.5
NOT_TABULAR = "a forecaster models a time series (task forecasting), not a table's rows"

Runner = Callable[[pl.DataFrame, list[ColumnRole], str, float, int], list[FamilyScore]]


def recommend_model_type(
    *,
    session: Session,
    ctx: Lake,
    principal: Principal,
    request: RecommendRequest,
    on_ray: bool | None = None,
) -> dict[str, Any]:
    """The recommended model type for predicting ``request.target`` from the dataset's other columns.
    ``on_ray``: fit on Ray (True) or in this process (False); by default on Ray when connected to it."""
    started = time.perf_counter()
    dataset = get_scoped(session, Dataset, request.dataset_id, principal, "Dataset")
    _check_reference_ids(session, principal, request, dataset)
    frame = _rows(ctx, dataset, request.target)
    declared = {spec["name"]: spec["data_type"] for spec in dataset.column_specs}
    try:
        analysis = recommend.analyse(frame, request.target, task=request.task, declared=declared)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    problem_type = analysis.task.problem_type
    usable = drop_missing_target(frame, request.target)
    sample = quick_fit.sample(usable, request.target, problem_type, quick_fit.SAMPLE_ROWS, request.seed)
    run, runner = _runner(on_ray)
    # The budget bounds the whole answer: reading and analysing the rows came out of it already.
    budget_s = max(request.time_budget_s - (time.perf_counter() - started) - ANSWER_MARGIN_S, 1.0)
    scores = run(sample, analysis.roles, problem_type, budget_s, request.seed)
    choice = recommend.choose(scores, analysis.task, sample_rows=sample.height, excluded=analysis.excluded)
    return {
        "dataset_id": dataset.id,
        "target": request.target,
        "task": analysis.task,
        "recommended_model_type": choice.model_type,
        "confidence": choice.confidence,
        "explanation": choice.explanation,
        "metric": recommend.METRIC_NAMES[analysis.task],
        "scores": [_score(score) for score in _ranked(scores)] + [_forecaster()],
        "schema_analysis": analysis.schema,
        "data_analysis": analysis.data | {"sample_rows": sample.height, "folds": quick_fit.FOLDS},
        "ontology_id": dataset.template_id,
        "ontology_analysis": analysis.schema,
        "runner": runner,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _check_reference_ids(
    session: Session, principal: Principal, request: RecommendRequest, dataset: Dataset
) -> None:
    """The reference's ``project_id`` must be the caller's project (404), its ``ontology_id`` the template
    the dataset was validated against (422)."""
    if request.project_id is not None:
        get_scoped(session, Project, request.project_id, principal, "Project")
    if request.ontology_id is not None and request.ontology_id != dataset.template_id:
        raise Invalid(
            f"dataset {dataset.dataset_name!r} was not validated against ontology (template) "
            f"{request.ontology_id}; its template is {dataset.template_id}"
        )


def _rows(ctx: Lake, dataset: Dataset, target: str) -> pl.DataFrame:
    """The dataset's typed rows at its recorded snapshot, once the target is known to be one of them."""
    if not dataset.is_valid or dataset.snapshot_id is None or not dataset.iceberg_table_name:
        raise Invalid(f"dataset {dataset.dataset_name!r} has no validated rows to recommend on")
    columns = [spec["name"] for spec in dataset.column_specs]
    if target not in columns:
        raise Invalid(
            f"target {target!r} is not a column of dataset {dataset.dataset_name!r}; "
            f"its columns are {', '.join(columns)}"
        )
    table = lake.load(ctx.catalog, "silver", dataset.iceberg_table_name)
    return pl.scan_iceberg(table, snapshot_id=dataset.snapshot_id).select(columns).collect()


def _runner(on_ray: bool | None) -> tuple[Runner, str]:
    """On Ray where asked or, by default, where this process is connected to it (an API replica is);
    else in this process."""
    import ray

    if on_ray if on_ray is not None else ray.is_initialized():
        return ray_scores, "ray"
    return local_scores, "in_process"


def ray_scores(
    sample: pl.DataFrame, roles: list[ColumnRole], problem_type: str, budget_s: float, seed: int
) -> list[FamilyScore]:
    """One one-CPU Ray task per family, all at once; those unfinished at the budget's end are cancelled."""
    import ray

    # ray types a remote function by its positional arity; keyword-only parameters fit none of them
    remote: Any = ray.remote(num_cpus=1, max_retries=0)(quick_fit.score_family)  # type: ignore[arg-type]
    deadline = time.time() + budget_s
    data = ray.put(sample)
    refs = {
        model_type: remote.remote(
            data,
            roles,
            model_type=model_type,
            problem_type=problem_type,
            seed=seed,
            deadline=deadline - FOLD_MARGIN_S,
        )
        for model_type in recommend.model_types()
    }
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=budget_s)
    done = set(ready)
    scores = []
    for model_type, ref in refs.items():
        if ref in done:
            try:
                scores.append(ray.get(ref))
            except Exception as exc:  # the task itself failed (a worker died): reported, not fatal
                scores.append(_failed(model_type, problem_type, f"{type(exc).__name__}: {exc}"[:300]))
        else:
            ray.cancel(ref, force=True)
            scores.append(_late(model_type, problem_type, budget_s))
    return scores


def local_scores(
    sample: pl.DataFrame, roles: list[ColumnRole], problem_type: str, budget_s: float, seed: int
) -> list[FamilyScore]:
    """Every family in this process, one after another; those not started by the deadline get no score."""
    deadline = time.time() + budget_s
    scores = []
    for model_type in recommend.model_types():
        if time.time() >= deadline - FOLD_MARGIN_S:
            scores.append(_late(model_type, problem_type, budget_s))
            continue
        scores.append(
            quick_fit.score_family(
                sample,
                roles,
                model_type=model_type,
                problem_type=problem_type,
                seed=seed,
                deadline=deadline - FOLD_MARGIN_S,
            )
        )
    return scores


def _late(model_type: ModelType, problem_type: str, budget_s: float) -> FamilyScore:
    score = _failed(model_type, problem_type, f"did not finish within the {budget_s:g} s time budget")
    score.status = "timed_out"
    return score


def _failed(model_type: ModelType, problem_type: str, reason: str) -> FamilyScore:
    algorithm = algorithm_for(model_type, problem_type)
    return FamilyScore(model_type=model_type, algorithm=algorithm, status="failed", reason=reason)


def _ranked(scores: Sequence[FamilyScore]) -> list[FamilyScore]:
    """Scored families best first, then the rest in the registry's order."""
    scored = sorted((s for s in scores if s.score is not None), key=lambda s: -(s.score or 0.0))
    return scored + [s for s in scores if s.score is None]


def _score(score: FamilyScore) -> dict[str, Any]:
    return {
        "model_type": score.model_type,
        "algorithm": score.algorithm,
        "score": score.score,
        "std": score.spread,
        "fold_scores": list(score.folds),
        "seconds": score.seconds,
        "status": score.status,
        "reason": score.reason,
    }


def _forecaster() -> dict[str, Any]:
    """The one model type not cross-validated here, listed so every model type has an entry."""
    return {
        "model_type": ModelType.FORECASTER,
        "algorithm": None,
        "score": None,
        "std": None,
        "fold_scores": [],
        "seconds": None,
        "status": "not_applicable",
        "reason": NOT_TABULAR,
    }
