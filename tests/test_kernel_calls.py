"""The numba kernels' long parameter lists cannot drift: every call passes each array by name.

``_fleet_kernel`` takes 28 arrays and ``_dispatch_kernel`` 30. Passed by position, a reordered
list (or a validation dict iterated in another order) would swap, say, tilt and azimuth with
no error. The rule, read from the source: a call to a kernel (an ``@njit(parallel=True)``
entry point, called from Python with whole arrays) of more than six parameters passes every
argument as a keyword, and names each parameter exactly once. The small per-hour functions
inside a kernel take a few scalars and are checked against pvlib piece by piece instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "simulate").rglob("*.py")) + sorted(
    (ROOT / "firmware_bridge").rglob("*.py")
)
LONG = 6


def _is_kernel(decorator: ast.expr) -> bool:
    """``@njit(parallel=True, ...)`` or ``@numba.jit(..., parallel=True)``."""
    if not isinstance(decorator, ast.Call):
        return False
    node = decorator.func
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    parallel = any(
        k.arg == "parallel" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in decorator.keywords
    )
    return name in {"njit", "jit"} and parallel


def _kernels() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and any(map(_is_kernel, node.decorator_list)):
                params = [a.arg for a in node.args.posonlyargs + node.args.args]
                if len(params) > LONG:
                    found[node.name] = params
    return found


KERNELS = _kernels()


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    out = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    out.append((path, node))
    return out


def test_the_long_kernels_are_found() -> None:
    """A guard on the rule's reach: both kernels the rule exists for are seen."""
    assert {"_fleet_kernel", "_dispatch_kernel"} <= set(KERNELS)
    assert len(KERNELS["_fleet_kernel"]) >= 20
    assert len(KERNELS["_dispatch_kernel"]) >= 20


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_every_call_names_every_parameter(kernel: str) -> None:
    calls = _calls(kernel)
    assert calls, f"{kernel} is never called"
    params = KERNELS[kernel]
    for path, call in calls:
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        assert not call.args, f"{where}: {kernel} called with {len(call.args)} positional arguments"
        names = [k.arg for k in call.keywords]
        assert None not in names, f"{where}: {kernel} called with **kwargs (order unchecked)"
        missing, unknown = sorted(set(params) - set(names)), sorted(set(names) - set(params))
        assert sorted(names) == sorted(params), (
            f"{where}: {kernel} keywords differ from its parameters: "
            f"missing {missing}, unknown {unknown}"
        )
