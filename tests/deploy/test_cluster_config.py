"""ray_cluster.yaml is a valid cluster-launcher config that installs the project on every node."""

from pathlib import Path

import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[2]


def test_cluster_config_is_valid():
    config = yaml.safe_load((ROOT / "ray_cluster.yaml").read_text())
    validate_config(prepare_config(config))
    setup = " ".join(config["setup_commands"])
    assert "requirements.lock" in setup and "-e /opt/raylake" in setup
    for command in config["head_start_ray_commands"] + config["worker_start_ray_commands"]:
        if "ray start" in command:
            assert "RAY_AUTH_MODE=token" in command
    # The head keeps its own temp dir: in the shared /tmp/ray, jobs would join whichever cluster started last.
    head = [command for command in config["head_start_ray_commands"] if "ray start" in command]
    assert head and all("--temp-dir=" in command for command in head)


def test_serve_builder_import_path():
    """The import path operators give `serve run` / `serve deploy` resolves to a builder."""
    from ray.serve._private.utils import import_attr

    assert callable(import_attr("raylake.serve_apps.app_builder:build_app"))
