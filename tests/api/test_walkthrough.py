"""The documented walk-through (docs/walkthrough.sh) runs to its end against the test platform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.conftest import once_per_session

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "walkthrough.sh"


def test_walkthrough_script_runs(api, tmp_path):
    once_per_session(api)
    env = {
        **os.environ,
        "API": f"{str(api.client.base_url).rstrip('/')}/api/v1",
        "ADMIN_PW": "superuser-password-1",
        # the script's python3 is this interpreter's (same as a `make run` machine's .venv or system one)
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{done.stderr[-6000:]}\n--- stdout ---\n{done.stdout[-3000:]}"
    assert "The walk-through ran to its end." in done.stderr
