"""Path parameters the registry's routers share: a model by id or uid, a version by number or alias."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

Version = Annotated[str, Path(min_length=1, max_length=64)]
# A model by its integer id or its uid (clients that address models by UUID).
ModelRef = Annotated[
    str,
    Path(
        pattern=r"^([0-9]{1,10}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
    ),
]
