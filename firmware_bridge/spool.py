"""The durable spool between the MQTT ingest and the InfluxDB writer (SQLite in WAL mode).

The ingest appends a group of decoded lines and quarantined messages in one transaction; only
when that commit has returned — the WAL fsync'd (``synchronous=FULL``) — are the messages
acknowledged to the broker. The writer reads the oldest lines, writes them to InfluxDB and deletes
exactly what InfluxDB confirmed. Lines the server refuses move to the quarantine with its reason.

Every thread uses its own connection (SQLite connections are not shared between threads);
WAL lets the writer read while the ingest appends.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from telemetry.errors import ConfigError

__all__ = ["QuarantineEntry", "Spool", "SpoolFull"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL,
    received_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ns INTEGER NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    plant_id TEXT
);
CREATE INDEX IF NOT EXISTS quarantine_reason ON quarantine (reason);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def _rollback(con: sqlite3.Connection) -> None:
    # SQLite rolls some failures back itself (SQLITE_FULL, SQLITE_IOERR): a second ROLLBACK
    # would raise "no transaction is active" and hide the error that matters.
    if con.in_transaction:
        con.execute("ROLLBACK")


USED_RECOUNT_S = 0.5
"""Longest time between two exact counts of the spool's data against its bound. [s]"""


class SpoolFull(Exception):  # noqa: N818 - a condition, not a bug
    """The spool reached its disk bound; the ingest must stop acknowledging until it drains."""


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A message (or a stored line) refused, kept with the reason.

    Attributes
    ----------
    received_ns : int
        Receive time [ns since the epoch].
    topic : str
    payload : bytes
        The raw payload (truncated by the caller when huge).
    reason : str
        Short code (``firmware_bridge.decode.REASONS``).
    detail : str
        One line saying what exactly was wrong.
    plant_id : str or None
    """

    received_ns: int
    topic: str
    payload: bytes
    reason: str
    detail: str
    plant_id: str | None = None


class Spool:
    """SQLite-backed spool of line-protocol lines and quarantined messages.

    Parameters
    ----------
    path : pathlib.Path
        Database file (created with its folder).
    max_bytes : int
        Bound of the data held [bytes]: the database pages in use, so a drained spool takes
        data again although SQLite files never shrink (the file stays at its high-water mark,
        the WAL at its checkpoint size). :meth:`append` raises :class:`SpoolFull` beyond it.
    synchronous : {'FULL', 'NORMAL'}
        FULL (default) fsyncs the WAL on every commit: a committed group survives power loss.
    """

    def __init__(
        self, path: Path | str, *, max_bytes: int = 4 * 1024**3, synchronous: str = "FULL"
    ) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create state folder {self.path.parent}: {exc.strerror}"
            ) from None
        if synchronous not in ("FULL", "NORMAL"):
            raise ConfigError("synchronous must be FULL or NORMAL")
        self.max_bytes = int(max_bytes)
        self._synchronous = synchronous
        self._local = threading.local()
        self._lock = threading.Lock()
        con = self._con()
        con.executescript(_SCHEMA)
        self._depth = con.execute("SELECT count(*) FROM outbox").fetchone()[0]
        self._used_bytes = 0
        self._used_counted_at = -1e9  # the first append counts
        self._page_size = con.execute("PRAGMA page_size").fetchone()[0]

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            try:
                con = sqlite3.connect(
                    self.path, timeout=60, isolation_level=None, check_same_thread=False
                )
                con.execute("PRAGMA journal_mode=WAL")
            except sqlite3.Error as exc:
                raise ConfigError(f"cannot open spool {self.path}: {exc}") from None
            con.execute(f"PRAGMA synchronous={self._synchronous}")
            con.execute("PRAGMA wal_autocheckpoint=4000")
            self._local.con = con
        return con

    # ---------------------------------------------------------------- ingest side

    def append(
        self,
        lines: Sequence[tuple[str, int]],
        quarantined: Sequence[QuarantineEntry] = (),
        state: dict[str, object] | None = None,
    ) -> None:
        """Store ``(line, received_ns)`` pairs and quarantine entries in one durable commit.

        Raises
        ------
        SpoolFull
            Beyond ``max_bytes``; nothing was stored.
        """
        if not lines and not quarantined and not state:
            return
        if self._used_estimate() > self.max_bytes:
            raise SpoolFull(f"spool {self.path} holds more than {self.max_bytes:,} bytes")
        con = self._con()
        counted = False
        con.execute("BEGIN IMMEDIATE")
        try:
            if lines:
                con.executemany("INSERT INTO outbox (line, received_ns) VALUES (?, ?)", lines)
            if quarantined:
                con.executemany(
                    "INSERT INTO quarantine (received_ns, topic, payload, reason, detail, "
                    "plant_id) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (q.received_ns, q.topic, q.payload, q.reason, q.detail, q.plant_id)
                        for q in quarantined
                    ],
                )
            if state:
                con.executemany(
                    "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                    [(k, json.dumps(v)) for k, v in state.items()],
                )
            # Counted before the lines become visible: counted after, the writer could delete
            # them first and ``depth`` would dip below zero.
            with self._lock:
                self._depth += len(lines)
            counted = True
            con.execute("COMMIT")
            with self._lock:  # until the next exact count: a line costs at least its text
                self._used_bytes += sum(len(line) for line, _ in lines) + sum(
                    len(q.payload) + len(q.detail) for q in quarantined
                )
        except BaseException:
            if counted:
                with self._lock:
                    self._depth -= len(lines)
            _rollback(con)
            raise

    # ---------------------------------------------------------------- writer side

    def peek(self, limit: int) -> list[tuple[int, str]]:
        """The oldest ``limit`` lines as ``(id, line)``, in arrival order."""
        return (
            self._con()
            .execute("SELECT id, line FROM outbox ORDER BY id LIMIT ?", (int(limit),))
            .fetchall()
        )

    def oldest_received_ns(self) -> int | None:
        """Receive time of the oldest line still waiting [ns], or None when empty."""
        row = self._con().execute("SELECT received_ns FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else int(row[0])

    def delete(self, ids: Iterable[int]) -> int:
        """Delete lines InfluxDB confirmed; returns how many were deleted."""
        ids = sorted(set(ids))  # a repeated id must not pass for a contiguous run below
        if not ids:
            return 0
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            lo, hi = ids[0], ids[-1]
            if hi - lo + 1 == len(ids):
                n = con.execute("DELETE FROM outbox WHERE id BETWEEN ? AND ?", (lo, hi)).rowcount
            else:
                n = con.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids]).rowcount
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        with self._lock:
            self._depth -= n
        return n

    def reject(self, items: Sequence[tuple[int, str]], reason: str, detail: str) -> None:
        """Move stored lines the server refused into the quarantine (one commit)."""
        if not items:
            return
        now = time.time_ns()
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany(
                "INSERT INTO quarantine (received_ns, topic, payload, reason, detail) "
                "VALUES (?, ?, ?, ?, ?)",
                [(now, "", line.encode("utf-8"), reason, detail) for _, line in items],
            )
            n = con.executemany(
                "DELETE FROM outbox WHERE id = ?", [(i,) for i, _ in items]
            ).rowcount
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        with self._lock:
            self._depth -= n

    # ---------------------------------------------------------------- inspection

    @property
    def depth(self) -> int:
        """Lines waiting for InfluxDB."""
        with self._lock:
            return self._depth

    def size_bytes(self) -> int:
        """Size of the database and its WAL on disk [bytes]."""
        total = 0
        for p in (self.path, self.path.with_name(self.path.name + "-wal")):
            with contextlib.suppress(OSError):
                total += p.stat().st_size
        return total

    def _used_estimate(self) -> int:
        """Data held [bytes]: counted by SQLite at most every ``USED_RECOUNT_S`` seconds, and on
        every call once within 10 % of the bound; in between, the last count plus what was
        appended since (deletes only make it an overestimate)."""
        now = time.monotonic()
        with self._lock:
            fresh = now - self._used_counted_at < USED_RECOUNT_S
            estimate = self._used_bytes
        if fresh and estimate < 0.9 * self.max_bytes:
            return estimate
        used = self.used_bytes()
        with self._lock:
            self._used_bytes, self._used_counted_at = used, now
        return used

    def used_bytes(self) -> int:
        """Data held: database pages in use, free pages not counted [bytes]."""
        con = self._con()
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        return int(pages - free) * self._page_size

    def quarantine_counts(self) -> dict[str, int]:
        """Quarantined entries by reason."""
        return dict(
            self._con()
            .execute("SELECT reason, count(*) FROM quarantine GROUP BY reason")
            .fetchall()
        )

    def quarantined(self, limit: int = 100) -> list[QuarantineEntry]:
        """The newest quarantine entries."""
        rows = (
            self._con()
            .execute(
                "SELECT received_ns, topic, payload, reason, detail, plant_id FROM quarantine "
                "ORDER BY id DESC LIMIT ?",
                (int(limit),),
            )
            .fetchall()
        )
        return [QuarantineEntry(r[0], r[1], bytes(r[2] or b""), r[3], r[4], r[5]) for r in rows]

    def get_state(self, key: str, default: object = None) -> object:
        """A JSON value saved with :meth:`set_state` (or ``append(state=...)``)."""
        row = self._con().execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_state(self, key: str, value: object) -> None:
        """Save a JSON-serialisable value durably."""
        self._con().execute(
            "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, json.dumps(value))
        )

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
