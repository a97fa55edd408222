"""The inference feature's request dependencies: the Serve gateway and the prediction log the app holds
(used by the training and tenants routers too, which must not import the inference router)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from raylake.platform.inference.gateway import ServeGateway
from raylake.platform.inference.log import PredictionLog


async def get_gateway(request: Request) -> ServeGateway:
    """The app's Serve gateway, which reaches the model replicas."""
    return request.app.state.gateway


async def get_prediction_log(request: Request) -> PredictionLog:
    """The app's prediction log, which buffers real-time predictions before they are written."""
    return request.app.state.prediction_log


GatewayDep = Annotated[ServeGateway, Depends(get_gateway)]
LogDep = Annotated[PredictionLog, Depends(get_prediction_log)]
