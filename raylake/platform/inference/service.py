"""Inference: which model a request may use, what its rows must hold, batch jobs, the prediction log.

The work lives in ``realtime`` (requests and their rows), ``deployments`` (a model's own Serve
application), ``batch`` (batch predictions) and ``history`` (reading the log); this module names it for
the router and the services that call inference.
"""

from raylake.platform.inference.batch import (
    ENTRYPOINT,
    KIND,
    ReplicaBatch,
    fail_batch,
    get_prediction,
    record_batch,
    submit_batch,
)
from raylake.platform.inference.deployments import (
    Gateway,
    app_name,
    forget_after_commit,
    undeploy_run,
)
from raylake.platform.inference.history import list_predictions
from raylake.platform.inference.realtime import (
    MAX_PROBLEMS,
    MODEL_INPUTS,
    Prepared,
    RowProblems,
    Servable,
    check_preprocess,
    dedicated_app,
    describe,
    form,
    prepare,
    prepare_rows,
    readable_dataset,
    response,
    servable_run,
)

__all__ = [
    "ENTRYPOINT",
    "KIND",
    "MAX_PROBLEMS",
    "MODEL_INPUTS",
    "Gateway",
    "Prepared",
    "ReplicaBatch",
    "RowProblems",
    "Servable",
    "app_name",
    "check_preprocess",
    "dedicated_app",
    "describe",
    "fail_batch",
    "forget_after_commit",
    "form",
    "get_prediction",
    "list_predictions",
    "prepare",
    "prepare_rows",
    "readable_dataset",
    "record_batch",
    "response",
    "servable_run",
    "submit_batch",
    "undeploy_run",
]
