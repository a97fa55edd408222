"""raylake's jobs run on raylake's cluster while another Ray cluster runs on the machine.

Ray's job supervisor points a job's driver at the cluster named in ``<temp dir>/ray_current_cluster``;
a user's own ``ray start --head`` (started after raylake's, in the default ``/tmp/ray``) must not take
raylake's jobs (raylake/ray_env.py ``ray_temp_dir``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from ray.job_submission import JobSubmissionClient

from raylake.launcher import stop_session
from raylake.platform.jobs import RAY_ENDED, RayJobs
from tests.ray_cluster import free_port

# The driver prints the session of the cluster it joined.
PROBE = "import ray; ray.init(); print('joined', ray.get_runtime_context().get_session_name())"


def _session_of(gcs_port: int) -> str:
    """The session name of the cluster whose GCS listens on ``gcs_port`` (from its command line)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if f"--gcs_server_port={gcs_port}" in cmdline:
            return next(arg.split("=", 1)[1] for arg in cmdline if arg.startswith("--session-name="))
    raise AssertionError(f"no GCS on port {gcs_port}")


@pytest.fixture
def users_cluster(ray_cluster) -> Iterator[str]:
    """A user's own Ray head, started after raylake's the way a user would: ``ray start --head
    --num-cpus=0`` in a shell without raylake's settings (default temp dir), on ports of its own.
    Only it is stopped afterwards (never ``ray stop``, which ends every cluster on the machine)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("RAY", "RAYLAKE_"))}
    port = free_port()
    ray = str(Path(sys.executable).with_name("ray"))
    subprocess.run(
        [
            ray,
            "start",
            "--head",
            "--num-cpus=0",
            f"--port={port}",
            f"--dashboard-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--ray-client-server-port={free_port()}",
            "--disable-usage-stats",
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    session = _session_of(port)
    try:
        yield session
    finally:
        stop_session(session)


def test_a_job_joins_raylakes_cluster_beside_a_users_own(ray_cluster, users_cluster):
    jobs = RayJobs(dashboard_url=ray_cluster.dashboard_url, token=ray_cluster.token)
    job_id = jobs.submit(entrypoint=f'python -c "{PROBE}"', metadata={"raylake_kind": "test"}, num_cpus=0)
    deadline = time.monotonic() + 180
    while (status := jobs.info(job_id).status) not in RAY_ENDED:
        assert time.monotonic() < deadline, f"the job is still {status}"
        time.sleep(0.5)
    logs = JobSubmissionClient(
        ray_cluster.dashboard_url, headers={"Authorization": f"Bearer {ray_cluster.token}"}
    ).get_job_logs(job_id)
    assert f"joined {ray_cluster.session_name}" in logs, logs[-2000:]
    assert users_cluster not in logs
    assert status == "SUCCEEDED"
