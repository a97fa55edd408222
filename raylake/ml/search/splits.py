"""The rows a search scores on: cross-validation folds for small data, else a holdout split."""

from __future__ import annotations

from typing import Any

import numpy as np

from raylake.ml.algorithms import CLASSIFICATION, TrainData

SMALL_DATA_ROWS = 5_000
CV_FOLDS = 5
HOLDOUT_SHARE = 0.2


def _holdout(data: TrainData, seed: int) -> TrainData:
    """A validation split carved from the training rows, for a caller that gave none."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(data.y_train))
    stratify = data.y_train if data.n_classes and np.min(np.bincount(data.y_train.astype(int))) >= 2 else None
    train, test = train_test_split(index, test_size=HOLDOUT_SHARE, random_state=seed, stratify=stratify)
    return TrainData(
        data.X_train[train],
        data.y_train[train],
        data.X_train[test],
        data.y_train[test],
        data.n_classes,
        list(data.categorical),
        list(data.feature_names),
    )


def plan_data(
    problem_type: str, data: dict[str, TrainData], seed: int
) -> tuple[dict[str, TrainData], list[tuple[np.ndarray, np.ndarray]] | None]:
    """Cross-validation folds over all rows for small data, else the holdout split."""
    from sklearn.model_selection import KFold, StratifiedKFold

    first = next(iter(data.values()))
    rows = len(first.y_train)
    if rows < SMALL_DATA_ROWS:
        combined: dict[str, TrainData] = {}
        for encoding, part in data.items():
            has_val = part.X_val is not None and part.y_val is not None and len(part.y_val)
            X = np.concatenate([part.X_train, part.X_val]) if has_val else part.X_train
            y = np.concatenate([part.y_train, part.y_val]) if has_val else part.y_train
            combined[encoding] = TrainData(
                X, y, None, None, part.n_classes, list(part.categorical), list(part.feature_names)
            )
        y = next(iter(combined.values())).y_train
        if problem_type == CLASSIFICATION:
            smallest = int(np.min(np.unique(y, return_counts=True)[1]))
            k = min(CV_FOLDS, smallest)
            splitter: Any = StratifiedKFold(k, shuffle=True, random_state=seed) if k >= 2 else None
        else:
            k = min(CV_FOLDS, len(y))
            splitter = KFold(k, shuffle=True, random_state=seed) if k >= 2 else None
        if splitter is not None:
            folds = [(train, test) for train, test in splitter.split(np.zeros(len(y)), y)]
            return combined, folds
    holdout = {}
    for encoding, part in data.items():
        has_val = part.X_val is not None and part.y_val is not None and len(part.y_val)
        holdout[encoding] = part if has_val else _holdout(part, seed)
    return holdout, None
