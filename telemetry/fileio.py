"""Files written whole or not at all: a crash or an error never leaves half a file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from telemetry.errors import InputError

__all__ = ["Outputs", "atomic_path", "outputs"]


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
    with outputs() as out:  # one file staged as a set of one
        tmp = out.reserve(dest, mode=mode)
        try:
            yield tmp
        except OSError as exc:
            raise InputError(f"cannot write {dest}: {exc.strerror or exc}") from None


class Outputs:
    """The files one command writes, staged so that it writes all of them or none.

    :meth:`reserve` creates each file's temporary twin beside it at once (so an unwritable
    destination is said before any work); the command writes into the temporaries; when the
    ``with outputs()`` block ends without error every one is moved onto its destination, and
    on an error every one is removed.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path, int | None]] = []

    def reserve(self, path: str | Path, mode: int | None = None) -> Path:
        """A temporary path for ``path`` (same folder, same suffix: writers that pick the
        format from the name still work); ``mode`` is the final file's permission bits
        (default: the umask's, e.g. ``0o600`` for credentials).

        Raises
        ------
        InputError
            The destination is a folder, or its folder cannot be created or written.
        """
        dest = Path(path)
        if dest.is_dir():
            raise InputError(f"cannot write {dest}: it is a folder")
        if any(os.path.abspath(dest) == os.path.abspath(d) for _, d, _ in self._staged):
            raise InputError(f"{dest} is named for two outputs")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f".{dest.stem}.", suffix=dest.suffix, dir=dest.parent
            )
        except OSError as exc:
            raise InputError(f"cannot write {dest}: {exc.strerror}") from None
        os.close(fd)
        tmp = Path(tmp_name)
        self._staged.append((tmp, dest, mode))
        return tmp

    def _commit(self) -> None:
        # mkstemp makes 0600 files; a report gets the usual umask-based mode unless told.
        default = 0o666 & ~_umask()
        for tmp, dest, mode in self._staged:
            try:
                os.chmod(tmp, default if mode is None else mode)
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
            except OSError as exc:
                raise InputError(f"cannot write {dest}: {exc.strerror or exc}") from None
        for tmp, dest, _ in self._staged:
            try:
                os.replace(tmp, dest)
            except OSError as exc:
                raise InputError(f"cannot write {dest}: {exc.strerror or exc}") from None
        self._staged = []

    def _discard(self) -> None:
        for tmp, _, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []


@contextlib.contextmanager
def outputs() -> Iterator[Outputs]:
    """``with outputs() as out: tmp = out.reserve(path) ...``: see :class:`Outputs`."""
    out = Outputs()
    try:
        yield out
        out._commit()
    finally:
        out._discard()
