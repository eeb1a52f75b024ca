"""Conventions of the command-line text (help, counts) every package's commands share (plain
text, no CLI library: the packages' typer apps use it).

The help is rendered as Markdown (``rich_markup_mode="markdown"``): units go in square brackets
(``Latitude [degree]``), and anything in angle brackets must be in backticks
(```<out-dir>/report```) or it is taken for an HTML tag and vanishes.
"""

from __future__ import annotations

__all__ = ["count", "examples"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for one (``1 cut``, ``2,048 cuts``).

    Parameters
    ----------
    n : int
    noun : str
        Singular.
    plural : str, optional
        Default: ``noun + "s"``.
    """
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def examples(*command_lines: str) -> str:
    """The epilog that ends a command's ``--help``: its examples, one command line each.

    Parameters
    ----------
    *command_lines : str
        Whole command lines as a user types them, starting with ``roshanai``.

    Returns
    -------
    str
        A Markdown block: an **Examples** heading and the lines as a code block (shown as
        written, never folded or joined).

    Raises
    ------
    ValueError
        No line, or a line that does not start with ``roshanai``.
    """
    if not command_lines:
        raise ValueError("examples() needs at least one command line")
    for line in command_lines:
        if not line.startswith("roshanai ") or "\n" in line:
            raise ValueError(f"an example is one roshanai command line, not {line!r}")
    body = "\n".join(command_lines)
    return f"**Examples**\n\n```\n{body}\n```"
