"""What a training run's job and the API both derive from the run's row: the CPUs its job holds and
the columns a prediction request supplies. Kept apart from ``service`` so a job imports no API module."""

from __future__ import annotations

from raylake.core.vocabulary import REQUEST_INPUTS, ProblemType
from raylake.ml import algorithms
from raylake.platform.config import Settings
from raylake.platform.training.models import TrainingRun


def job_cpus(settings: Settings, run: TrainingRun) -> int:
    """The CPUs a run's job holds: none for a search's driver, which only coordinates while its trials
    take the CPUs (so do a forecast's fits run as tasks); ``train_cpus`` for a job that computes itself."""
    if run.problem_type == ProblemType.FORECASTING:
        coordinates = (run.params or {}).get("fits") == "tasks"
    else:
        coordinates = run.algorithm == algorithms.AUTO
    return 0 if coordinates else settings.train_cpus


def input_schema(run: TrainingRun) -> list[dict[str, str]]:
    """The columns a prediction request supplies: Id, Feature and Time columns, in dataset order."""
    return [
        {"column_name": c["name"], "data_type": c["data_type"], "attribute_name": c["attribute"]}
        for c in run.columns
        if c["attribute"] in REQUEST_INPUTS
    ]
