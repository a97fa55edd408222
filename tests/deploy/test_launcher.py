"""The launcher stops only the Ray session it names."""

import subprocess
import sys

import pytest

from raylake.launcher import cluster_processes, stop_session


@pytest.mark.parametrize("name", ["", "ray", "raylet"])
def test_a_name_that_is_no_session_stops_nothing(name):
    """An empty name is part of every command line: it would name every process on the machine."""
    with pytest.raises(ValueError):
        stop_session(name)
    with pytest.raises(ValueError):
        cluster_processes(name)


def test_the_heads_ray_client_server_is_stopped_with_its_session():
    """Ray's client server names only the GCS it serves, not the session: matched by that address."""
    args = ["-c", "import time; time.sleep(60)", "ray.util.client.server", "--address=127.0.0.1:1"]
    server = subprocess.Popen([sys.executable, *args])
    other = subprocess.Popen([sys.executable, *args[:3], "--address=127.0.0.1:2"])
    try:
        session = "session_2000-01-01_00-00-00_000000_1"
        assert stop_session(session, "127.0.0.1:1") == 1
        assert server.wait(timeout=20) is not None and other.poll() is None
    finally:
        for proc in (server, other):
            proc.kill()
            proc.wait()
