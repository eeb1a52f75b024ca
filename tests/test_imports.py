"""Every module of the five packages imports on its own (no import cycle that only a lucky
import order hides), like ``../shared/tools/import-each-module`` but in one interpreter: the
project's modules are forgotten before each import, third-party ones stay loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("roshanai", "telemetry", "simulate", "firmware_bridge", "dashboards")

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
    "roshanai": {"telemetry", "simulate", "firmware_bridge", "dashboards"},
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
