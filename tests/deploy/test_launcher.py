"""The launcher stops only the Ray session it names."""

import pytest

from raylake.launcher import cluster_processes, stop_session


@pytest.mark.parametrize("name", ["", "ray", "raylet"])
def test_a_name_that_is_no_session_stops_nothing(name):
    """An empty name is part of every command line: it would name every process on the machine."""
    with pytest.raises(ValueError):
        stop_session(name)
    with pytest.raises(ValueError):
        cluster_processes(name)
