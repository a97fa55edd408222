"""``Client``: one connection to a raylake platform, with the product's parts as attributes
(``tenants``, ``users``, ``rbac``, ``templates``, ``datasets``, ``lake``, ``training``, ``inference``,
``models``, ``deployments``, ``events``, ``files``, ``api_keys``) and the
common calls at the top (``train``, ``predict``, ``explain``, ``batch``, ``forecast``, ``feedback``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from raylake_client import frames, inference, ray_submit
from raylake_client._http import Tokens, Transport
from raylake_client.admin import Rbac, Tenants, Users
from raylake_client.data import Datasets, Templates
from raylake_client.errors import Unauthorized
from raylake_client.events import Events
from raylake_client.keys import ApiKeys
from raylake_client.lake import Lake
from raylake_client.models import BatchResult, FeedbackReport, Forecast, Me, User
from raylake_client.progress import Progress
from raylake_client.registry import Deployments, Files, ModelRef, Models
from raylake_client.training import Run, Training

URL_ENV = "RAYLAKE_URL"
KEY_ENV = "RAYLAKE_API_KEY"


class Client:
    """A raylake platform reached at ``url`` with an API key (``rlk_...``), or a user's name and password
    (logged in on first use, the access token refreshed before it expires). Without arguments the URL
    and key come from ``RAYLAKE_URL`` and ``RAYLAKE_API_KEY``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        tokens: Tokens | None = None,
        timeout: float = 60.0,
        on_tokens: Callable[[Tokens], None] | None = None,
    ) -> None:
        url = url or os.environ.get(URL_ENV)
        if not url:
            raise ValueError(f"no platform URL: pass url or set {URL_ENV}")
        if api_key is None and username is None and tokens is None:
            api_key = os.environ.get(KEY_ENV)
        if api_key is None and tokens is None and not (username and password):
            raise ValueError(f"no credentials: pass api_key (or set {KEY_ENV}), or username and password")
        self.http = Transport(
            url,
            api_key=api_key,
            username=username,
            password=password,
            tokens=tokens,
            timeout=timeout,
            on_tokens=on_tokens,
        )
        self.tenants = Tenants(self)
        self.users = Users(self)
        self.rbac = Rbac(self)
        self.templates = Templates(self)
        self.datasets = Datasets(self)
        self.lake = Lake(self)
        self.training = Training(self)
        self.inference = inference.Inference(self)
        self.models = Models(self)
        self.deployments = Deployments(self)
        self.events = Events(self)
        self.files = Files(self)
        self.api_keys = ApiKeys(self)

    @property
    def url(self) -> str:
        return self.http.url

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def me(self) -> Me:
        """Who the credential is: user, tenant, permissions, expiry."""
        try:
            return Me.model_validate(self.http.json("GET", "/validate-token"))
        except Unauthorized:
            if not self.http.api_key:
                raise
        # A server whose /validate-token reads only access tokens: the key's user, without its permissions.
        user = self.http.json("POST", "/login/test-token")
        return Me(user_id=user["id"], username=user["username"], tenant_id=user["tenant_id"])

    def health(self) -> dict[str, Any]:
        return dict(self.http.json("GET", "/utils/health-check/"))

    def whoami(self) -> User:
        """The user behind the credential (``POST /login/test-token``)."""
        return User.model_validate(self.http.json("POST", "/login/test-token"))

    # --- a login's tokens and password -----------------------------------------------------------

    def refresh_tokens(self) -> Tokens:
        """Rotate the login's refresh token now (the client does it by itself before expiry); re-using
        the old one afterwards ends the whole login on the server."""
        return self.http.rotate()

    def logout(self) -> None:
        """End the login's session on the server; the client logs in afresh on its next call (when it
        has the password)."""
        self.http.logout()

    def change_password(
        self, new_password: str, *, current_password: str, username: str | None = None
    ) -> None:
        """Set your own password (proving the current one; a superuser may name another ``username``).
        Every session of that user ends; the client logs in again with the new password."""
        name = username or self.http.username or self.me().username
        body = {"user_name": name, "new_password": new_password, "current_password": current_password}
        self.http.json("POST", "/reset-password", json=body)
        if name == self.http.username:
            self.http.set_password(new_password)

    # --- the common calls ------------------------------------------------------------------------

    def train(self, dataset: int | Any, *, predictor_name: str, **options: Any) -> Run:
        """Start a training run (see ``Training.start``); ``run.wait()`` follows it with a progress bar."""
        return self.training.start(dataset, predictor_name=predictor_name, **options)

    def submit_training(
        self,
        dataset: int | Any,
        *,
        target: str,
        predictor_name: str,
        via: str = "api",
        ray_address: str | None = None,
        ray_token: str | None = None,
        **options: Any,
    ) -> Run:
        """A training run through the API (``via="api"``, as ``train``), or as a Ray job submitted to the
        cluster at ``ray_address`` (``via="ray"``, what ``ray job submit`` does from a notebook; needs an
        API key, and the cluster's token when it requires one: ``ray_token`` or ``RAY_AUTH_TOKEN``)."""
        dataset_id = int(getattr(dataset, "dataset_id", dataset))
        if via == "api":
            return self.train(dataset_id, predictor_name=predictor_name, target=target, **options)
        if via != "ray":
            raise ValueError(f"via is 'api' or 'ray', not {via!r}")
        return ray_submit.submit(
            self,
            dataset_id,
            target=target,
            predictor_name=predictor_name,
            address=ray_address,
            token=ray_token,
            **options,
        )

    def predict(
        self,
        model: Any,
        data: Any,
        *,
        version: str | None = None,
        explain: bool = False,
        batch_size: int = inference.DEFAULT_BATCH,
    ) -> Any:
        """Predictions for rows (a polars or pandas frame, a list of dicts), sent in batches of
        ``batch_size``: the rows with ``prediction`` and ``probability_<class>`` columns added (and
        ``shap_<column>`` with ``explain``), as a frame of the input's library. ``model``: a run (or its
        id) or a registered model (at ``version``, else its latest completed version)."""
        rows = frames.to_rows(data)
        train_id = inference.train_id_of(self, model, version)
        found = inference.predict_rows(self, train_id, rows, explain=explain, batch_size=batch_size)
        return inference.as_frame(data, rows, found, explain)

    def explain(self, model: Any, data: Any, *, version: str | None = None) -> Any:
        """``predict`` with each input column's SHAP contribution (``shap_<column>``)."""
        return self.predict(model, data, version=version, explain=True)

    def batch(
        self,
        model: Any,
        dataset_id: int,
        *,
        wait: bool = True,
        download: str | Path | None = None,
        progress: Progress = True,
        timeout: float | None = None,
    ) -> BatchResult:
        """A batch prediction over a dataset: submitted, followed (a progress bar) and its CSV downloaded."""
        train_id = inference.train_id_of(self, model)
        return inference.batch(
            self,
            train_id,
            dataset_id,
            wait=wait,
            download=download,
            progress_shown=progress,
            timeout=timeout,
        )

    def forecast(self, model: Any, steps: int, **options: Any) -> Forecast:
        """A forecaster's next ``steps`` points (``unique_id``, ``frequency``, ``exogenous`` frame, ...)."""
        return inference.forecast(self, model, steps, **options)

    def feedback(self, model: ModelRef, labels: dict[str, Any]) -> FeedbackReport:
        """True outcomes of captured predictions (``{capture_id: label}``); returns live accuracy."""
        return self.models.feedback(model, labels)
