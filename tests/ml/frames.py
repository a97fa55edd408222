"""Small synthetic tables with every column type, nulls included, and a target the features explain."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from raylake.ml.preprocess import ColumnRole

CONTRACTS = ["Monthly", "Yearly", "TwoYear"]


def mixed_frame(n: int = 400, *, seed: int = 0, target: str = "binary") -> pl.DataFrame:
    """Customers with an Id, numeric/boolean/string/date/datetime features (some missing), an ignored
    note and a target: ``binary`` (Boolean churn), ``multiclass`` (String plan) or ``regression``."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 72, n)
    charges = rng.normal(70, 20, n)
    contract = rng.choice(CONTRACTS, n)
    paperless = rng.random(n) < 0.5
    signup = [date(2020, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 1500, n)]
    seen = [datetime(2024, 1, 1) + timedelta(minutes=int(m)) for m in rng.integers(0, 500_000, n)]
    monthly = contract == "Monthly"
    score = 1.5 * monthly - tenure / 24 + (charges - 70) / 25 + rng.normal(0, 0.5, n)
    frame = pl.DataFrame(
        {
            "customer_id": np.arange(n, dtype=np.int64),
            "tenure": tenure.astype(np.int64),
            "charges": charges,
            "contract": contract,
            "paperless": paperless,
            "signup": signup,
            "last_seen": seen,
            "note": [f"note {i}" for i in range(n)],
        },
        schema_overrides={"last_seen": pl.Datetime("us")},
    )
    if target == "binary":
        frame = frame.with_columns(churn=pl.Series(score > 0.5))
    elif target == "multiclass":
        plan = np.where(score > 1.0, "premium", np.where(score > -0.5, "standard", "basic"))
        frame = frame.with_columns(plan=pl.Series(plan))
    else:
        frame = frame.with_columns(spend=pl.Series(100 + 30 * score))
    # sprinkle nulls over every feature (not the Id)
    holes = rng.random((n, 6)) < 0.05
    return frame.with_columns(
        pl.when(pl.Series(holes[:, i])).then(None).otherwise(pl.col(name)).alias(name)
        for i, name in enumerate(["tenure", "charges", "contract", "paperless", "signup", "last_seen"])
    )


def mixed_roles(target: str = "binary") -> list[ColumnRole]:
    name, data_type = {"binary": ("churn", "Boolean"), "multiclass": ("plan", "String")}.get(
        target, ("spend", "Float")
    )
    return [
        ColumnRole("customer_id", "Integer", "Id"),
        ColumnRole("tenure", "Integer", "Feature"),
        ColumnRole("charges", "Float", "Feature"),
        ColumnRole("contract", "String", "Feature"),
        ColumnRole("paperless", "Boolean", "Feature"),
        ColumnRole("signup", "Date", "Time"),
        ColumnRole("last_seen", "DateTime", "Feature"),
        ColumnRole("note", "String", "Ignore"),
        ColumnRole(name, data_type, "Target"),
    ]


INPUT_COLUMNS = ["tenure", "charges", "contract", "paperless", "signup", "last_seen"]
