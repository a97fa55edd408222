"""Where a deployment's replicas may run: its placement checked against the cluster's nodes, and the
Ray actor options that ask for it.

A placement names Ray custom resources (an amount per replica) and node labels (Ray's label selectors:
``value``, ``!value``, ``in(a,b)``, ``!in(a,b)``). Ray schedules by both natively: resources through
``ray_actor_options["resources"]``, labels through ``ray_actor_options["label_selector"]``, which Serve
2.60 passes to each replica actor. The check here reads the nodes as ``ray.nodes()`` reports them
(``Alive``, ``Resources`` as totals, ``Labels``), so a placement no node can meet is refused up front
instead of leaving replicas waiting for a node without a word.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Ray counts resources in fixed-point units of 1/10000: amounts are compared as whole units, so 0.1 + 0.2
# fits in 0.3 as it does for Ray's scheduler.
UNITS = 10_000
Node = Mapping[str, Any]


def units(amount: float) -> int:
    """An amount of a resource in Ray's fixed-point units."""
    return round(amount * UNITS)


def label_matches(selector: str, value: str | None) -> bool:
    """Whether a node's label ``value`` (None: the node has no such label) meets a Ray label selector."""
    negated = selector.startswith("!")
    body = selector[1:] if negated else selector
    if body.startswith("in(") and body.endswith(")"):
        wanted = {part.strip() for part in body[3:-1].split(",")}
    else:
        wanted = {body}
    return (value not in wanted) if negated else (value in wanted)


def _has_labels(node: Node, labels: Mapping[str, str]) -> bool:
    found = node.get("Labels") or {}
    return all(label_matches(selector, found.get(key)) for key, selector in labels.items())


def _capacity(node: Node, needed: Mapping[str, int]) -> int:
    """How many replicas needing ``needed`` (in units) the node's totals hold."""
    totals = node.get("Resources") or {}
    return min(units(float(totals.get(name, 0))) // amount for name, amount in needed.items())


def _named(resources: Mapping[str, float]) -> str:
    return ", ".join(f"{name}: {amount:g}" for name, amount in sorted(resources.items()))


def problem(
    nodes: Sequence[Node], resources: Mapping[str, float], labels: Mapping[str, str], replicas: int
) -> str | None:
    """Why the cluster's alive nodes cannot hold ``replicas`` replicas so placed (naming the missing
    label or resource); None when they can."""
    alive = [node for node in nodes if node.get("Alive")]
    if not alive:
        return "the cluster has no alive node"
    missing = [
        f"label {key}={selector}"
        for key, selector in sorted(labels.items())
        if not any(_has_labels(node, {key: selector}) for node in alive)
    ]
    if missing:
        return f"no alive node has {', '.join(missing)}"
    labelled = [node for node in alive if _has_labels(node, labels)]
    if not labelled:
        return f"no alive node has all of the labels {_named_labels(labels)}"
    if not resources:
        return None
    needed = {name: units(amount) for name, amount in resources.items()}
    where = f" with the labels {_named_labels(labels)}" if labels else ""
    short = []
    for name, amount in sorted(resources.items()):
        most = max(float((node.get("Resources") or {}).get(name, 0)) for node in labelled)
        if units(most) < needed[name]:
            short.append(f"resource {name}: {amount:g} (the most one node{where} has: {most:g})")
    if short:
        return f"no alive node{where} has {'; '.join(short)}"
    capacity = sum(_capacity(node, needed) for node in labelled)
    if capacity == 0:
        return f"no alive node{where} has the resources {_named(resources)} together"
    if capacity < replicas:
        return (
            f"the nodes that fit hold {capacity} replica(s) needing {_named(resources)} each, not {replicas}"
        )
    return None


def _named_labels(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={selector}" for key, selector in sorted(labels.items()))


def actor_options(placement: Mapping[str, Any]) -> dict[str, Any]:
    """The replica actor's Ray options for a stored placement: no CPU (as every model replica), its
    custom resources and its label selector."""
    options: dict[str, Any] = {"num_cpus": 0}
    if placement.get("resources"):
        options["resources"] = dict(placement["resources"])
    if placement.get("node_labels"):
        options["label_selector"] = dict(placement["node_labels"])
    return options
