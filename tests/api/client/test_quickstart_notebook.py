"""The quickstart notebook (docs/quickstart.ipynb) runs top to bottom with a real kernel against the test
platform, through the Python client and an API key, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.api.conftest import once_per_session

NOTEBOOK = Path(__file__).resolve().parents[3] / "docs" / "quickstart.ipynb"


def test_quickstart_notebook_runs(api, monkeypatch, tmp_path):
    once_per_session(api)
    _, headers = api.new_user(api.new_tenant(), ["data_scientist"])
    made = api.client.post(
        "/api/v1/api-keys", json={"name": "notebook", "role": "data_scientist"}, headers=headers
    )
    assert made.status_code == 201, made.text
    monkeypatch.setenv("RAYLAKE_URL", str(api.client.base_url))
    monkeypatch.setenv("RAYLAKE_API_KEY", made.json()["key"])
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = "".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    assert "completed" in outputs and "capture_id" in outputs and "drop:" in outputs
    assert "training run" in outputs  # the run's Ray job log
