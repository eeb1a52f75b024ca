"""Broker accounts: random passwords, mosquitto's PBKDF2-SHA512 hashes, ``credentials.csv``.

mosquitto 2.0 reads password-file lines ``username:$7$<iterations>$<salt>$<hash>``: PBKDF2-HMAC-
SHA512 over the password with a 12-byte random salt, 64-byte result, both base64 with padding
(``mosquitto_passwd`` writes the same). They are computed here in Python (the hash runs inside
OpenSSL and releases the GIL, so a thread pool uses every core) instead of running
``mosquitto_passwd`` once per plant, which would take hours for 500,000 plants.

Iterations: 101, mosquitto's own default. The passwords are 192-bit random strings, so key
stretching protects nothing, while the broker pays the cost on every CONNECT and, for every
connected client, on every reload of a password file — a reconnect storm after a power cut at
500,000 plants must not stall it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from telemetry.credentials import (
    CREDENTIAL_COLUMNS,
    Account,
    read_credentials,
    write_credentials,
)
from telemetry.errors import InputError
from telemetry.fileio import atomic_path

__all__ = [
    "CREDENTIAL_COLUMNS",
    "ITERATIONS",
    "Account",
    "hash_password",
    "hash_passwords",
    "new_password",
    "read_credentials",
    "read_password_file",
    "verify_password",
    "write_credentials",
    "write_password_file",
]

ITERATIONS = 101
SALT_BYTES = 12
PASSWORD_BYTES = 24
"""Random bytes per password (192 bits; 32 URL-safe characters)."""

_USERNAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_password() -> str:
    """A fresh random password from the ``secrets`` module (URL-safe characters)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """mosquitto 2.0 password hash ``$7$<iterations>$<salt b64>$<hash b64>``.

    Parameters
    ----------
    password : str
    salt : bytes, optional
        12 random bytes by default (tests pass one to compare with ``mosquitto_passwd``).
    iterations : int
        PBKDF2 rounds.
    """
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return (
        f"$7${iterations}${base64.b64encode(salt).decode('ascii')}$"
        f"{base64.b64encode(digest).decode('ascii')}"
    )


def verify_password(password: str, encoded: str) -> bool:
    """True if ``encoded`` (a ``$7$`` hash as :func:`hash_password` writes) matches."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        want = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, len(want))
    return hmac.compare_digest(got, want)


def hash_passwords(passwords: Iterable[str], *, workers: int | None = None) -> list[str]:
    """Hash many passwords on all cores (hashlib releases the GIL inside OpenSSL)."""
    items = list(passwords)
    if len(items) < 256:
        return [hash_password(p) for p in items]
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        return list(pool.map(hash_password, items, chunksize=1024))


def read_password_file(path: Path) -> dict[str, str]:
    """``username → hash`` of an existing mosquitto password file (empty if there is none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        user, sep, encoded = line.partition(":")
        if sep and encoded.startswith("$7$"):
            out[user] = encoded
    return out


def write_password_file(path: Path, hashes: Mapping[str, str], mode: int = 0o600) -> None:
    """Write the mosquitto password file atomically (``username:hash`` per line)."""
    with atomic_path(path, mode=mode) as tmp, tmp.open("w", encoding="utf-8") as f:
        for user, encoded in hashes.items():
            f.write(f"{user}:{encoded}\n")
