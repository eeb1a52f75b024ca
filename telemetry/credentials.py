"""``credentials.csv``: the broker accounts ``roshanai deploy mosquitto`` made (``plant_id``,
``username``, ``password``; mode 0600), read by the deployment and by the emulator that
connects each plant with its own account."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from telemetry.errors import InputError
from telemetry.fileio import atomic_path

__all__ = ["CREDENTIAL_COLUMNS", "Account", "read_credentials", "write_credentials"]

CREDENTIAL_COLUMNS = ("plant_id", "username", "password")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Account:
    """One broker account.

    Attributes
    ----------
    plant_id : str
        The plant, or ``bridge`` / ``bridge-<n>`` for the bridges' accounts.
    username : str
        Equal to ``plant_id`` (the broker binds the client id to it).
    password : str
    """

    plant_id: str
    username: str
    password: str


def read_credentials(path: Path) -> list[Account]:
    """Accounts of an existing ``credentials.csv`` (empty list if there is none).

    Raises
    ------
    InputError
        The file is not a credentials file of this tool (wrong header, bad rows).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or tuple(rows[0]) != CREDENTIAL_COLUMNS:
        raise InputError(
            f"{path} is not a credentials file (its header must be "
            f"{','.join(CREDENTIAL_COLUMNS)}); move it away or pick another --out"
        )
    accounts: list[Account] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 3 or not _USERNAME_RE.fullmatch(row[1]) or not row[2]:
            raise InputError(f"{path} line {line}: expected plant_id,username,password")
        if row[1] in seen:
            raise InputError(f"{path} line {line}: username {row[1]!r} appears twice")
        seen.add(row[1])
        accounts.append(Account(row[0], row[1], row[2]))
    return accounts


def write_credentials(path: Path, accounts: Iterable[Account]) -> None:
    """Write ``credentials.csv`` atomically with mode 0600 (it holds clear-text passwords)."""
    with atomic_path(path, mode=0o600) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CREDENTIAL_COLUMNS)
        for a in accounts:
            w.writerow((a.plant_id, a.username, a.password))
