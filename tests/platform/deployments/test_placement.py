"""A placement checked against the cluster's nodes as ``ray.nodes()`` lists them, and the replica options
that ask Ray for it: pure functions, no Ray."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from raylake.platform.deployments.placement import actor_options, label_matches, problem
from raylake.schemas.deployments import Autoscaling, PlacementIn

HEAD = {
    "NodeID": "aa" * 28,
    "Alive": True,
    "Resources": {"CPU": 2.0, "zone_a": 1.0, "node:10.0.0.1": 1.0},
    "Labels": {"ray.io/node-id": "aa" * 28, "zone": "a"},
}
GPU_NODE = {
    "NodeID": "bb" * 28,
    "Alive": True,
    "Resources": {"CPU": 8.0, "gpu_zone": 2.0},
    "Labels": {"ray.io/node-id": "bb" * 28, "zone": "b", "tier": "fast"},
}
DEAD = {**GPU_NODE, "NodeID": "cc" * 28, "Alive": False, "Resources": {"tpu": 4.0}, "Labels": {"zone": "c"}}
NODES = [HEAD, GPU_NODE, DEAD]


def test_a_placement_some_alive_node_meets_fits():
    assert problem(NODES, {}, {}, 16) is None
    assert problem(NODES, {"zone_a": 0.1}, {}, 10) is None
    assert problem(NODES, {"gpu_zone": 1}, {"zone": "b", "tier": "fast"}, 2) is None
    assert problem(NODES, {}, {"ray.io/node-id": "aa" * 28}, 1) is None


def test_what_no_alive_node_has_is_named():
    assert "resource gpu_zone_x: 1" in (problem(NODES, {"gpu_zone_x": 1}, {}, 1) or "")
    # a dead node's resources and labels do not count
    assert "resource tpu: 1" in (problem(NODES, {"tpu": 1}, {}, 1) or "")
    assert "label zone=c" in (problem(NODES, {}, {"zone": "c"}, 1) or "")
    # each label exists, never on one node
    both = problem(NODES, {}, {"zone": "a", "tier": "fast"}, 1) or ""
    assert "all of the labels tier=fast, zone=a" in both
    # the resource exists, not on a node with the labels
    there = problem(NODES, {"zone_a": 0.5}, {"zone": "b"}, 1) or ""
    assert "with the labels zone=b" in there and "zone_a: 0.5" in there
    # each resource exists, never together on one node
    assert "together" in (problem(NODES, {"zone_a": 1, "gpu_zone": 1}, {}, 1) or "")
    assert problem([DEAD], {}, {}, 1) == "the cluster has no alive node"


def test_amounts_count_in_rays_units_and_replicas_need_room():
    # 0.1 ten times is exactly the node's 1.0 (no float drift), an eleventh does not fit
    assert problem([HEAD], {"zone_a": 0.1}, {}, 10) is None
    assert "hold 10 replica(s)" in (problem([HEAD], {"zone_a": 0.1}, {}, 11) or "")
    assert "hold 1 replica(s)" in (problem([HEAD], {"zone_a": 0.6}, {}, 2) or "")
    assert "the most one node has: 1" in (problem([HEAD], {"zone_a": 1.5}, {}, 1) or "")


def test_label_selectors_follow_ray():
    assert label_matches("a", "a") and not label_matches("a", "b") and not label_matches("a", None)
    assert label_matches("!a", "b") and label_matches("!a", None) and not label_matches("!a", "a")
    assert label_matches("in(a,b)", "b") and not label_matches("in(a,b)", "c")
    assert label_matches("!in(a, b)", "c") and not label_matches("!in(a, b)", "a")


def test_actor_options_carry_resources_and_the_label_selector():
    assert actor_options({}) == {"num_cpus": 0}
    placed = actor_options(
        {"resources": {"zone_a": 0.1}, "node_labels": {"zone": "a"}, "allow_pending": True}
    )
    assert placed == {"num_cpus": 0, "resources": {"zone_a": 0.1}, "label_selector": {"zone": "a"}}


def test_a_placement_request_is_checked_before_any_node_is():
    assert PlacementIn(resources={"zone_a": 0.0001}).resources == {"zone_a": 0.0001}
    bad = [
        ({"resources": {"CPU": 1}}, "not a custom resource"),
        ({"resources": {"zone_a": 0}}, "above 0"),
        ({"resources": {"zone_a": 0.00001}}, "finer than Ray's unit"),
        ({"resources": {"zone a": 1}}, "string_pattern_mismatch"),
        ({"node_labels": {"zone": "a b"}}, "string_pattern_mismatch"),
        ({"node_labels": {"-zone": "a"}}, "string_pattern_mismatch"),
    ]
    for body, words in bad:
        with pytest.raises(ValidationError) as caught:
            PlacementIn.model_validate(body)
        assert words in str(caught.value) or words in caught.value.errors()[0]["type"], body
    assert PlacementIn(node_labels={"ray.io/node-id": "ab12", "zone": "!in(a,b)"}).node_labels
    with pytest.raises(ValidationError, match="above max_replicas"):
        Autoscaling(min_replicas=3, max_replicas=2)
