"""Drift math: bins fitted on a baseline, one-scan counts, and each method against scipy's reference
implementation; a shift on one column is found on that column only, a sample of the baseline's own
distribution raises nothing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

from raylake.core.vocabulary import DriftMethod, DriftStatus
from raylake.ml import drift

KINDS: dict[str, drift.Kind] = {"x": "numeric", "y": "numeric", "plan": "categorical", "flag": "categorical"}


def frame(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "y": rng.integers(0, 50, n),
            "plan": rng.choice(["basic", "pro", "team"], n, p=[0.6, 0.3, 0.1]),
            "flag": rng.random(n) < 0.3,
        }
    )


@pytest.fixture(scope="module")
def baseline() -> drift.Baseline:
    return drift.Baseline(drift.fit_bins(frame(20_000, seed=1), KINDS), rows=20_000)


def test_bins_are_deciles_and_top_categories_with_a_missing_bin() -> None:
    data = pl.DataFrame(
        {
            "x": [float(i) for i in range(100)] + [None, float("nan")],
            "c": ["a"] * 60 + ["b"] * 30 + ["c"] * 10 + [None, "d"],
        }
    )
    x, c = drift.fit_bins(data, {"x": "numeric", "c": "categorical"}, top=2)
    assert len(x.edges) == 9 and x.counts == [10] * 10 + [2]  # NaN counts as missing
    assert c.categories == ["a", "b"] and c.counts == [60, 30, 11, 1]  # c and d are "other"
    restored = drift.Baseline.from_json(drift.Baseline([x, c], rows=102).to_json())
    assert restored.columns == [x, c] and restored.rows == 102


def test_one_scan_counts_a_new_sample_into_the_baselines_bins(baseline: drift.Baseline) -> None:
    sample = frame(5_000, seed=2)
    rows, counted = drift.count(sample.lazy(), baseline.columns)
    assert rows == 5_000
    x = baseline.columns[0]
    expected = np.bincount(np.searchsorted(x.edges, sample["x"].to_numpy(), side="left"), minlength=10)
    assert counted["x"].tolist() == [*expected.tolist(), 0]
    assert all(int(c.sum()) == 5_000 for c in counted.values())


@pytest.mark.parametrize("method", list(DriftMethod))
def test_a_shift_on_one_column_drifts_that_column_only(baseline: drift.Baseline, method: DriftMethod) -> None:
    shifted = frame(5_000, seed=3).with_columns(pl.col("x") + 1.0)
    result = drift.check(baseline, shifted.lazy(), method=method, min_rows=100)
    assert result.status == DriftStatus.DRIFT and result.drifted == ["x"]
    x = result.columns[0]
    assert x.method == method and x.threshold == drift.DEFAULT_THRESHOLDS[method]


@pytest.mark.parametrize("method", list(DriftMethod))
def test_the_baselines_own_distribution_raises_nothing(baseline: drift.Baseline, method: DriftMethod) -> None:
    result = drift.check(baseline, frame(5_000, seed=4).lazy(), method=method, min_rows=100)
    assert result.status == DriftStatus.OK and result.drifted == []
    # KS has no order to work with on categories: those are tested by chi-square
    assert {c.name: c.method for c in result.columns}["plan"] == drift.method_for(method, "categorical")


def test_missing_values_are_shown_apart_and_raise_nothing(baseline: drift.Baseline) -> None:
    holes = frame(5_000, seed=8).with_columns(pl.lit(None, pl.Float64).alias("x"), pl.lit(None).alias("plan"))
    result = drift.check(baseline, holes.lazy(), min_rows=100)
    assert result.status == DriftStatus.OK
    x = result.columns[0]
    assert (x.score, x.missing_share, x.baseline_missing_share) == (0.0, 1.0, 0.0)
    with_holes = drift.Baseline(
        drift.fit_bins(
            frame(2_000, seed=9).with_columns(
                pl.when(pl.int_range(pl.len()) % 10 == 0).then(None).otherwise(pl.col("y")).alias("y")
            ),
            KINDS,
        )
    )
    complete = drift.check(with_holes, frame(2_000, seed=10).lazy())  # real time sends every input
    y = next(c for c in complete.columns if c.name == "y")
    assert not y.drifted and y.missing_share == 0.0 and y.baseline_missing_share == pytest.approx(0.1)


def test_too_few_rows_is_insufficient_data_with_the_scores_still_given(baseline: drift.Baseline) -> None:
    result = drift.check(baseline, frame(50, seed=5).lazy(), min_rows=100)
    assert result.status == DriftStatus.INSUFFICIENT_DATA and result.rows == 50 and len(result.columns) == 4


def test_psi_is_the_textbook_sum_with_empty_bins_floored() -> None:
    expected, observed = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    p = np.array([0.5, 0.3, 0.2, 1e-4])
    q = np.array([0.4, 0.3, 0.2, 0.1])
    assert drift.psi(expected, observed) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))


def test_js_distance_is_scipys() -> None:
    expected, observed = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    assert drift.js_distance(expected, observed) == pytest.approx(jensenshannon(expected, observed, base=2))


def test_ks_on_values_at_the_edges_is_the_exact_two_sample_test() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.integers(0, 20, 3_000), rng.integers(0, 21, 2_000)
    bins = drift.fit_bins(pl.DataFrame({"v": a}), {"v": "numeric"}, bins=40)[0]
    assert bins.edges == [float(v) for v in range(20)]  # every value is an edge: nothing is binned away
    _, counted = drift.count(pl.DataFrame({"v": b}).lazy(), [bins])
    statistic, p_value = drift.ks(np.array(bins.counts[:-1]), counted["v"][:-1])
    exact = ks_2samp(a, b)
    # the same D; the p-value from the limiting distribution, close to the finite-sample one here
    assert statistic == pytest.approx(exact.statistic) and p_value == pytest.approx(exact.pvalue, rel=0.05)


def test_chi2_is_scipys_test_of_homogeneity_without_empty_bins() -> None:
    expected, observed = np.array([60, 30, 10, 0]), np.array([50, 30, 15, 0])
    statistic, p_value = drift.chi2(expected, observed)
    reference = chi2_contingency(np.array([[60, 30, 10], [50, 30, 15]]), correction=False)
    assert statistic == pytest.approx(reference.statistic) and p_value == pytest.approx(reference.pvalue)


def test_chi2_corrects_for_the_columns_tested_together() -> None:
    column = drift.ColumnBins("c", "categorical", [500, 500, 0], categories=["a", "b"])
    observed = np.array([540, 460, 0])  # p about 0.07 alone: 0.01 with a looser bar, not with twenty
    assert drift.score(column, observed, DriftMethod.CHI2, threshold=0.1).drifted
    assert not drift.score(column, observed, DriftMethod.CHI2, threshold=0.1, tests=20).drifted


def test_the_prediction_is_tested_beside_the_columns(baseline: drift.Baseline) -> None:
    labels = drift.fit_bins(
        pl.DataFrame({"_prediction": ["no"] * 80 + ["yes"] * 20}), {"_prediction": "categorical"}
    )
    with_prediction = drift.Baseline(baseline.columns, prediction=labels[0], rows=baseline.rows)
    sample = frame(2_000, seed=7).with_columns(_prediction=pl.lit("yes"))
    result = drift.check(with_prediction, sample.lazy())
    assert result.prediction is not None and result.prediction.drifted
    assert result.drifted == [] and result.status == DriftStatus.DRIFT
