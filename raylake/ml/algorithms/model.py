"""A trained model and its training data: prediction, saving and loading."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raylake.ml.algorithms.persistence import LIGHTGBM_FORMAT, SKOPS_FORMAT, file_digest, load_skops
from raylake.ml.algorithms.registry import ALGORITHMS, CLASSIFICATION


@dataclass
class TrainData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    n_classes: int | None
    categorical: list[int] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)


@dataclass
class Model:
    algorithm: str
    problem_type: str
    params: dict[str, Any]
    native: Any
    n_classes: int | None = None

    @property
    def classification(self) -> bool:
        """Whether the model predicts classes (else numbers)."""
        return self.problem_type == CLASSIFICATION

    def predict_proba(self, X: np.ndarray, threads: int = 0) -> np.ndarray | None:
        """Class probabilities over every known class, ``(n, n_classes)``; None for regression.

        ``threads`` > 0 caps LightGBM's prediction threads (see ``ServedModel``); 0 uses every core."""
        if not self.classification:
            return None
        assert self.n_classes is not None
        if self.algorithm == "LightGBM":
            raw = np.asarray(self.native.predict(X, **lightgbm_threads(threads)), dtype=np.float64)
            return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw
        # A scikit-learn classifier only knows the classes it saw; the rest get probability 0.
        part = np.asarray(self.native.predict_proba(X), dtype=np.float64)
        full = np.zeros((part.shape[0], self.n_classes), dtype=np.float64)
        full[:, np.asarray(self.native.classes_, dtype=np.int64)] = part
        return full

    def predict(self, X: np.ndarray, threads: int = 0) -> np.ndarray:
        """Class indices (int64) or regression values (float64)."""
        if self.classification:
            proba = self.predict_proba(X, threads)
            assert proba is not None
            return np.argmax(proba, axis=1).astype(np.int64)
        if self.algorithm == "LightGBM":
            return np.asarray(self.native.predict(X, **lightgbm_threads(threads)), dtype=np.float64)
        return np.asarray(self.native.predict(X), dtype=np.float64)

    @property
    def iterations(self) -> int | None:
        """Boosting rounds in the model (LightGBM, growing with each continuation); None otherwise."""
        if self.algorithm == "LightGBM":
            return int(self.native.current_iteration())
        return None

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the model file into ``directory``; the manifest returned is what ``load`` needs back."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.algorithm == "LightGBM":
            file, fmt = "model.txt", LIGHTGBM_FORMAT
            self.native.save_model(str(directory / file), num_iteration=self.native.current_iteration())
        else:
            import skops.io

            file, fmt = "model.skops", SKOPS_FORMAT
            skops.io.dump(self.native, directory / file)
        manifest: dict[str, Any] = {
            "algorithm": self.algorithm,
            "problem_type": self.problem_type,
            "format": fmt,
            "file": file,
            "params": json_safe(self.params),
            "n_classes": self.n_classes,
            "sha256": file_digest(directory / file),
        }
        if self.iterations is not None:
            manifest["iterations"] = self.iterations
        return manifest

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> Model:
        """The saved model, refusing a file that changed since it was saved or holds a foreign type."""
        algorithm, problem_type = manifest["algorithm"], manifest["problem_type"]
        if algorithm not in ALGORITHMS or problem_type not in ALGORITHMS[algorithm].problem_types:
            raise ValueError(f"manifest names an unknown model: {algorithm!r} for {problem_type!r}")
        file = str(manifest["file"])
        if Path(file).name != file or file in ("", ".", ".."):
            raise ValueError(f"manifest file must be a plain file name, not {file!r}")
        path = Path(directory) / file
        expected = manifest.get("sha256")
        if expected is not None and file_digest(path) != expected:
            raise ValueError(f"{file} does not match the checksum recorded when it was saved")
        fmt = manifest["format"]
        if fmt == LIGHTGBM_FORMAT and algorithm == "LightGBM":
            import lightgbm as lgb

            native = lgb.Booster(model_file=str(path))
        elif fmt == SKOPS_FORMAT and algorithm != "LightGBM":
            native = load_skops(path, algorithm, problem_type)
        else:
            raise ValueError(f"{algorithm} cannot be stored as {fmt!r}")
        params = dict(manifest.get("params") or {})
        return cls(algorithm, problem_type, params, native, manifest.get("n_classes"))


def json_safe(value: Any) -> Any:
    """Parameters as plain JSON values (numpy scalars and tuples would not serialise)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def lightgbm_threads(threads: int) -> dict[str, int]:
    """LightGBM prediction parameters for a thread cap (none: LightGBM's default, every core)."""
    return {"num_threads": threads} if threads > 0 else {}
