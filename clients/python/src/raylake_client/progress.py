"""Waiting for a job (a training run, a batch, a SHAP job): poll it, show its stage and percent on a tqdm
bar (or hand each state to a callback), and raise with the server's reason when it fails."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from tqdm.auto import tqdm

from raylake_client.errors import RunFailed


class JobState(Protocol):
    """What every job's state shows: a status, a stage, a percent and (when failed) an error."""

    @property
    def done(self) -> bool: ...

    stage: str
    percent: int
    error: str | None


S = TypeVar("S", bound=JobState)
Progress = bool | Callable[[Any], None]
# run 12 (churn): 100%|██████████| [00:21, completed: done]
# How a job that ended well says so (a statistics job: "succeeded").
SUCCEEDED = frozenset({"completed", "succeeded"})
BAR = "{l_bar}{bar}| [{elapsed}{postfix}]"


def status_of(state: Any) -> str:
    """A job state's status (a run calls it ``train_status``)."""
    return str(getattr(state, "train_status", None) or getattr(state, "status", ""))


def wait(
    fetch: Callable[[], S],
    *,
    label: str,
    progress: Progress = True,
    timeout: float | None = None,
    poll_s: float = 1.0,
    bar_kwargs: dict[str, Any] | None = None,
) -> tuple[S, Any]:
    """Poll ``fetch`` until the job ends; returns its last state and the (closed) tqdm bar, if one was shown.

    ``progress`` True shows a tqdm bar (0-100, described by the stage), False nothing, and a callable is
    called with every state polled instead. A job that ends ``failed`` or ``cancelled`` raises
    ``RunFailed`` with the server's reason; one still running after ``timeout`` seconds, ``TimeoutError``.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    bar = tqdm(total=100, desc=label, bar_format=BAR, **(bar_kwargs or {})) if progress is True else None
    try:
        while True:
            state = fetch()
            if bar is not None:
                bar.update(max(0, min(100, int(state.percent))) - bar.n)
                bar.set_postfix_str(f"{status_of(state)}: {state.stage}", refresh=True)
            elif callable(progress):
                progress(state)
            if state.done:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{label} still {status_of(state)} ({state.stage}) after {timeout} s")
            time.sleep(poll_s)
    finally:
        if bar is not None:
            bar.close()
    status = status_of(state)
    if status not in SUCCEEDED:
        raise RunFailed(f"{label} {status}: {state.error or 'no reason given'}", status=status, job=state)
    return state, bar
