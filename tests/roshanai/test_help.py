"""Every command's ``--help`` as a user reads it: units, defaults and examples survive rendering.

The help is rendered as Markdown, which eats ``<words>`` as HTML tags; each command ends with
examples that must be real command lines of that command.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer

from roshanai.cli import app

_ROOT = typer.main.get_command(app)


def _leaves(command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], object]]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, command


LEAVES = dict(_leaves(_ROOT, ()))


def _help(path: tuple[str, ...]) -> str:
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run(
        [sys.executable, "-m", "roshanai", *path, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _parse(args: list[str]) -> object:
    """Parse a command line as click does (no command runs); return the command it reaches."""
    ctx = _ROOT.make_context("roshanai", list(args))
    command: object = _ROOT
    while getattr(command, "commands", None):
        rest = [*getattr(ctx, "_protected_args", getattr(ctx, "protected_args", [])), *ctx.args]
        _, command, rest = command.resolve_command(ctx, rest)  # type: ignore[attr-defined]
        ctx = command.make_context(command.name, rest, parent=ctx)  # type: ignore[attr-defined]
    ctx.close()
    return command


def _example_lines(command) -> list[str]:
    epilog = command.epilog or ""
    block = re.search(r"```\n(.*?)\n```", epilog, re.S)
    return block.group(1).splitlines() if block else []


def test_every_command_is_listed() -> None:
    """The walk below sees the commands the README names (a guard on the test itself)."""
    names = {" ".join(p) for p in LEAVES}
    assert {"simulate fleet", "simulate site", "bridge run", "emulate", "report"} <= names
    assert len(names) >= 15


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_help_ends_with_examples_that_parse(path: tuple[str, ...]) -> None:
    command = LEAVES[path]
    lines = _example_lines(command)
    assert 1 <= len(lines) <= 3, f"roshanai {' '.join(path)}: no examples at the end of --help"
    for line in lines:
        # Shown as written in an 80-column terminal (two columns of indent, two of margin):
        # a folded example cannot be pasted back.
        assert len(line) <= 76, f"example longer than 76 characters: {line}"
        words = shlex.split(line)
        assert words[0] == "roshanai", line
        # Parsed as the shell would hand it over: unknown options or a missing required one
        # raise, and the line must reach this very command.
        assert _parse(words[1:]) is command, f"{line!r} is not an example of {' '.join(path)}"
    text = _help(path)
    tail = text[text.rindex("Examples") :]
    for line in lines:
        assert line in tail, f"example not shown as written: {line}"


@pytest.mark.parametrize("path", sorted(LEAVES), ids=" ".join)
def test_help_keeps_units_and_placeholders(path: tuple[str, ...]) -> None:
    """Square-bracket units and backticked ``<placeholders>`` reach the rendered help."""
    command = LEAVES[path]
    text = " ".join(_help(path).split())
    for param in command.params:  # type: ignore[attr-defined]
        helptext = getattr(param, "help", None) or ""
        bare = re.findall(r"(?<!`)<[A-Za-z][^>`]*>(?!`)", re.sub(r"`[^`]*`", "", helptext))
        assert not bare, f"--{param.name}: {bare} would be eaten as HTML; put it in backticks"
        for unit in re.findall(r"\[[^\]]+\]", helptext):
            assert unit in text, f"--{param.name}: unit {unit} lost from --help"
        for code in re.findall(r"`([^`]+)`", helptext):
            assert code in text, f"--{param.name}: {code} lost from --help"
