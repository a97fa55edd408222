"""A model's live-accuracy settings: what it is judged by, read with their defaults and checked against
its task (kept apart from ``feedback.py`` so the registry's PATCH can check them)."""

from __future__ import annotations

from raylake.core.vocabulary import LiveMetric, Task
from raylake.platform.errors import Invalid
from raylake.platform.registry.models import Predictor
from raylake.schemas.feedback import FeedbackSettings

CLASSIFYING = (LiveMetric.ACCURACY, LiveMetric.F1_SCORE)
REGRESSING = (LiveMetric.RMSE, LiveMetric.MAE, LiveMetric.R2)


def settings_of(model: Predictor) -> FeedbackSettings:
    """A model's live-accuracy settings, the defaults where it has none."""
    return FeedbackSettings.model_validate(model.feedback_settings or {})


def check_settings(model: Predictor, settings: FeedbackSettings) -> None:
    """Settings a model can use: a classifier's metric for a classifier, a regression's for a regression."""
    if model.task == Task.FORECASTING:
        raise Invalid(f"model {model.id} forecasts: live accuracy is measured on predictions")
    if settings.metric is not None and settings.metric.for_regression != (model.task == Task.REGRESSION):
        allowed = REGRESSING if model.task == Task.REGRESSION else CLASSIFYING
        raise Invalid(
            f"metric {settings.metric.value!r} does not measure a {model.task} model; "
            f"one of: {', '.join(m.value for m in allowed)}"
        )


def metric_of(model: Predictor, settings: FeedbackSettings) -> LiveMetric:
    """The figure a model's drop is judged by: the one set, else accuracy or R²."""
    if settings.metric is not None:
        return settings.metric
    return LiveMetric.R2 if model.task == Task.REGRESSION else LiveMetric.ACCURACY
