"""The baseline of bench/inference.py: a bare FastAPI app under uvicorn calling the same booster in process.

It loads the same artifacts (LightGBM text model + preprocessing JSON) and encodes the row with the same
``RowEncoder``, so the comparison isolates what raylake adds: authentication, tenancy and validation in
the API replica, and the hop to a separate model replica through Ray Serve.

Started by bench/inference.py:
`python bench/bare_inference.py --store ROOT --prefix P --state KEY --port N`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from raylake.ml.serving import ServedModel
from raylake.platform.storage import FileStore
from raylake.platform.training import artifacts


def build(store: str, prefix: str, state: str) -> FastAPI:
    loaded = artifacts.load(FileStore(store), prefix, state)
    model = ServedModel.build(loaded.model, loaded.preprocessor, None)
    app = FastAPI()

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, Any]:
        return model.predict([body["features"]])[0]

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = build(args.store, args.prefix, args.state)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
