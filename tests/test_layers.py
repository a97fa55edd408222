"""The allowed directions between raylake's layers (docs/architecture.md, "Layers"), read from the source.

core  <-  ml  <-  platform  <-  serve_apps / train_jobs / launcher
core  <-  schemas  <-  platform

Every ``import`` counts, also one inside a function: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "raylake"
THIRD_PARTY_API = ("fastapi", "starlette", "alembic")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module the file imports (``from a import b`` counts as ``a`` and ``a.b``)."""
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module(path): _imports(path) for path in sorted(ROOT.rglob("*.py"))}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def _is_router(module: str) -> bool:
    return module.rpartition(".")[2] == "router"


def _within(module: str, *layers: str) -> bool:
    # the package's own ``__init__`` (``raylake.__version__``) sits below every layer
    return (
        module.partition(".")[0] != "raylake" or module == "raylake.__version__" or _layer(module) in layers
    )


def _violations(layer: str, allowed: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in MODULES.items()
        if _layer(module) == layer
        for target in targets
        if target.startswith("raylake.") and not _within(target, *allowed)
    )


@pytest.mark.parametrize(
    ("layer", "allowed"),
    [
        ("core", ("core",)),
        ("ml", ("ml", "core")),
        ("schemas", ("schemas", "core")),
        ("platform", ("platform", "schemas", "ml", "core")),
    ],
)
def test_layer_imports_only_what_is_below_it(layer: str, allowed: tuple[str, ...]) -> None:
    assert _violations(layer, allowed) == []


def test_core_imports_only_the_standard_library() -> None:
    stdlib = {"__future__", "enum", "math", "re", "datetime", "typing", "dataclasses", "collections"}
    outside = sorted(
        f"{module} imports {target}"
        for module, targets in MODULES.items()
        if _layer(module) == "core"
        for target in targets
        if not target.startswith("raylake.") and target.partition(".")[0] not in stdlib
    )
    assert outside == []


def test_no_router_imports_another_router() -> None:
    crossing = sorted(
        f"{module} imports {target}"
        for module, targets in MODULES.items()
        if _is_router(module)
        for target in targets
        if target.startswith("raylake.") and _is_router(target) and target != module
    )
    assert crossing == []


def test_jobs_import_no_api_module() -> None:
    """A job runs without the API: no router, app, deps or service module, no FastAPI or Alembic (the
    whole import closure is checked in a fresh interpreter by tests/platform/test_job_imports.py)."""
    api = sorted(
        f"{module} imports {target}"
        for module, targets in MODULES.items()
        if _layer(module) == "train_jobs"
        for target in targets
        if target.partition(".")[0] in THIRD_PARTY_API
        or (
            target.startswith("raylake.")
            and target.rpartition(".")[2] in ("router", "app", "deps", "service")
        )
    )
    assert api == []


def test_the_rules_see_the_source() -> None:
    """Guards the test itself: it finds the layers and a known import."""
    assert {"core", "ml", "platform", "schemas", "train_jobs", "serve_apps"} <= {_layer(m) for m in MODULES}
    assert "raylake.core.types" in MODULES["raylake.ml.preprocess"]
