"""Every module of the five packages imports on its own (no import cycle that only a lucky
import order hides), like ``../shared/tools/import-each-module`` but in one interpreter: the
project's modules are forgotten before each import, third-party ones stay loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("roshanai", "telemetry", "simulate", "firmware_bridge", "dashboards", "triage")

_SCRIPT = """
import importlib, sys
packages = {packages!r}
failed = []
for name in {modules!r}:
    for loaded in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{{name}}: {{type(exc).__name__}}: {{exc}}")
print("\\n".join(failed))
"""


def _modules() -> list[str]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue  # runs the command line
            out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_every_module_imports_on_its_own() -> None:
    modules = _modules()
    assert "simulate.cli.battery" in modules
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(packages=PACKAGES, modules=modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "", run.stdout


#: Which packages each package may import (docs/contracts.md, "Packages"), lazy imports inside
#: functions included.
MAY_IMPORT = {
    "telemetry": set(),
    "simulate": {"telemetry"},
    "firmware_bridge": {"telemetry", "simulate"},
    "dashboards": {"telemetry"},
    "triage": {"telemetry", "simulate"},
    "roshanai": {"telemetry", "simulate", "firmware_bridge", "dashboards", "triage"},
}


def test_imports_follow_the_package_rules() -> None:
    import ast

    bad = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in MAY_IMPORT and top != package and top not in allowed:
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert bad == []


def _third_party_imports() -> dict[str, str]:
    """Top-level module → first file importing it, for every import in the five packages that is
    neither the standard library nor one of the packages."""
    import ast

    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in PACKAGES or top == "__future__":
                        continue
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    """``pip install .`` must bring every module the code imports (typer 0.29 stopped bringing
    click, and ``roshanai --help`` crashed in a clean venv). The ``dask`` extra covers Dask."""
    import importlib.metadata as md
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    declared = {
        re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0].lower().replace("_", "-") for spec in specs
    }
    for spec in specs:  # dask[distributed]: the extra brings the distributed package
        extras = re.search(r"\[([^\]]*)\]", spec)
        if extras:
            declared |= {e.strip().lower() for e in extras.group(1).split(",")}
    owners = md.packages_distributions()
    missing = {}
    for module, where in _third_party_imports().items():
        dists = {d.lower().replace("_", "-") for d in owners.get(module, [module])}
        if not dists & declared:
            missing[module] = (where, sorted(dists))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
