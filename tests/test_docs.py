"""The README is self-contained: what it and ``docs/`` point at is inside the repository.

A fresh clone has no ``../shared/DESIGN.md``: the contracts the README relies on live in
``docs/contracts.md``. Every relative link of the README, ``docs/*.md`` and the packages'
READMEs resolves to a file or folder of the checkout; backticked paths of test files and
benchmarks exist too (they are what a reader runs).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("*/README.md")),
]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CODE_PATH = re.compile(r"`((?:tests|benchmarks)/[\w/.-]+\.py)`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{doc.name} points outside the repository (../shared)"
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # a web address
        path = (doc.parent / target).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name}: {target} leaves the repository"
        assert path.exists(), f"{doc.name}: link {target} does not exist"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_tests_and_benchmarks_exist(doc: Path) -> None:
    for name in CODE_PATH.findall(doc.read_text(encoding="utf-8")):
        assert (ROOT / name).exists(), f"{doc.name} names {name}, which does not exist"
