"""The vocabulary in core/: one spelling of each word, equal to the wire value, with its behaviour."""

from __future__ import annotations

from types import SimpleNamespace

from raylake.core import layout
from raylake.core.types import DataType
from raylake.core.vocabulary import (
    FINAL,
    MAX_ID,
    MODEL_INPUTS,
    REQUEST_INPUTS,
    TABULAR_PROBLEMS,
    ColumnAttribute,
    JobStatus,
    ProblemType,
)


def test_values_are_the_wire_spellings() -> None:
    assert list(ProblemType) == ["Classification", "Regression", "Forecasting"]
    assert list(ColumnAttribute) == ["Id", "Target", "Feature", "Time", "Ignore"]
    assert list(DataType) == ["String", "Integer", "Float", "Boolean", "Date", "DateTime"]
    assert MAX_ID == 2**31 - 1
    # a stored plain string is the member: set membership and equality need no conversion
    assert "completed" in FINAL and JobStatus("submitted_to_ray") == "submitted_to_ray"


def test_job_status_knows_which_statuses_are_final() -> None:
    assert {s for s in JobStatus if s.is_final} == {"succeeded", "completed", "failed", "cancelled"}
    assert {s for s in JobStatus if s.is_unstarted} == {"submitted", "submitted_to_ray"}
    assert not JobStatus.RUNNING.is_final


def test_named_subsets_keep_each_call_sites_contents() -> None:
    assert TABULAR_PROBLEMS == ("Classification", "Regression")
    assert [p for p in ProblemType if p.is_tabular] == list(TABULAR_PROBLEMS)
    assert MODEL_INPUTS == ("Feature", "Time")
    assert REQUEST_INPUTS == ("Id", "Feature", "Time")
    assert [a for a in ColumnAttribute if a.is_request_input] == list(REQUEST_INPUTS)


def test_storage_layout() -> None:
    row = SimpleNamespace(tenant_id="t1", id=7)
    assert layout.model_prefix(row) == "t1/models/7"
    assert layout.predictions_prefix(row) == "t1/predictions/7/"
    assert layout.prediction_table(row) == "prediction_7"
    assert layout.forecast_table(row) == "forecast_7"
