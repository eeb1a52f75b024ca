"""Files written whole or not at all: a crash or an error never leaves half a file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from telemetry.errors import InputError

__all__ = ["atomic_path"]


def _umask() -> int:
    current = os.umask(0)  # the only way to read it; set back at once
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path`` atomically.

    Parameters
    ----------
    path : str or pathlib.Path
        Final destination. Its directory is created if missing.
    mode : int, optional
        Permission bits for the final file (e.g. ``0o600`` for credentials).

    Raises
    ------
    InputError
        The destination directory cannot be created or written.
    """
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as exc:
        raise InputError(f"cannot write {dest}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp makes 0600 files; a report gets the usual umask-based mode unless told.
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
