"""Drain the spool into InfluxDB: delete only what the server confirmed.

Errors are classified once, by :mod:`telemetry.influx`:

- 413 (payload too large): split the batch in halves and write them;
- 400/422 (bad points): bisect the batch down to the offending lines, move those to the
  quarantine with the server's reason, write the rest;
- 401/403/404 (a bad target: credentials, missing database): keep everything, retry, and say so;
- 429, 5xx, network: keep everything and retry with exponential backoff (honouring
  ``Retry-After``), forever, while the spool holds the data.

Points carry the device's timestamp, so a line written twice (a crash between the write and the
delete) overwrites itself instead of duplicating.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_bridge.spool import Spool
from telemetry.errors import ServiceError
from telemetry.influx import InfluxStore, PayloadTooLarge, WriteRejected, WriteRetryable

__all__ = ["Writer", "WriterStats"]

log = logging.getLogger("roshanai.bridge.writer")


@dataclass
class WriterStats:
    """Counters of one writer (cumulative since start)."""

    stored: int = 0
    rejected: int = 0
    requests: int = 0
    retries: int = 0
    last_error: str = ""
    backoff_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class _Retry(Exception):  # noqa: N818 - control flow inside the writer
    def __init__(self, wait_s: float | None, reason: str) -> None:
        super().__init__(reason)
        self.wait_s = wait_s
        self.reason = reason


class Writer:
    """Moves lines from a :class:`Spool` to an :class:`InfluxStore`.

    Parameters
    ----------
    spool : Spool
    store : InfluxStore
    batch_lines : int
        Lines per request (the spool's oldest first).
    max_backoff_s : float
        Ceiling of the exponential backoff between retries [s].
    on_stored : callable, optional
        Called with the lines confirmed after each successful request.
    on_quarantined : callable, optional
        Called with the lines the server refused (moved to the quarantine).
    """

    def __init__(
        self,
        spool: Spool,
        store: InfluxStore,
        *,
        batch_lines: int = 5000,
        max_backoff_s: float = 30.0,
        on_stored: Callable[[list[str]], None] | None = None,
        on_quarantined: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.spool = spool
        self.store = store
        self.batch_lines = int(batch_lines)
        self.max_backoff_s = float(max_backoff_s)
        self.on_stored = on_stored
        self.on_quarantined = on_quarantined
        self.stats = WriterStats()
        self._failures = 0

    def step(self) -> int:
        """Write one batch of the oldest lines; return lines confirmed (0: spool empty).

        Raises
        ------
        _Retry
            The server cannot take the batch now; nothing was deleted.
        """
        batch = self.spool.peek(self.batch_lines)
        if not batch:
            return 0
        done = self._write(batch)
        self._failures = 0
        with self.stats.lock:
            self.stats.backoff_s = 0.0
        return done

    def _write(self, batch: list[tuple[int, str]]) -> int:
        """Write ``batch``; split on 413, bisect on bad points. Returns lines stored."""
        with self.stats.lock:
            self.stats.requests += 1
        lines = [line for _, line in batch]
        try:
            self.store.write_lines(lines)
        except PayloadTooLarge:
            if len(batch) == 1:
                self._quarantine(batch, "single line larger than the server accepts (HTTP 413)")
                return 0
            half = len(batch) // 2
            return self._write(batch[:half]) + self._write(batch[half:])
        except WriteRejected as exc:
            if not exc.bad_points:
                raise _Retry(None, str(exc)) from None
            if len(batch) == 1:
                self._quarantine(batch, exc.reason)
                return 0
            half = len(batch) // 2
            return self._write(batch[:half]) + self._write(batch[half:])
        except WriteRetryable as exc:
            raise _Retry(exc.retry_after_s, str(exc)) from None
        except ServiceError as exc:
            # Not a classified write error: the store could not even tell the server's version
            # (``/ping`` answered 502/503 from a proxy in front of a stopped InfluxDB). Retry;
            # escaping here would end the writer thread while the spool fills up.
            raise _Retry(None, str(exc)) from None
        self.spool.delete(i for i, _ in batch)
        with self.stats.lock:
            self.stats.stored += len(batch)
        if self.on_stored is not None:
            self.on_stored(lines)
        return len(batch)

    def _quarantine(self, batch: list[tuple[int, str]], reason: str) -> None:
        detail = " ".join(reason.split())[:300]
        self.spool.reject(batch, "rejected_by_store", detail)
        with self.stats.lock:
            self.stats.rejected += len(batch)
        if self.on_quarantined is not None:
            self.on_quarantined([line for _, line in batch])
        log.warning("InfluxDB refused %d line(s); quarantined: %s", len(batch), detail)

    def run(
        self,
        stop: threading.Event,
        *,
        idle_wait_s: float = 0.05,
        wake: threading.Event | None = None,
    ) -> None:
        """Drain until ``stop`` is set; wait ``idle_wait_s`` (or for ``wake``) when empty."""
        while not stop.is_set():
            try:
                try:
                    done = self.step()
                except _Retry:
                    raise
                except Exception as exc:  # a bug or a disk error: keep the data, keep trying
                    log.exception("writer step failed")
                    raise _Retry(None, f"writer error: {type(exc).__name__}: {exc}") from None
            except _Retry as retry:
                self._failures += 1
                backoff = min(self.max_backoff_s, 0.5 * 2 ** min(self._failures - 1, 10))
                wait = retry.wait_s if retry.wait_s is not None else backoff
                wait = min(max(wait, 0.1), self.max_backoff_s) * random.uniform(0.9, 1.1)
                with self.stats.lock:
                    self.stats.retries += 1
                    self.stats.last_error = retry.reason
                    self.stats.backoff_s = wait
                if self._failures in (1, 10) or self._failures % 100 == 0:
                    log.warning(
                        "%s; %d lines kept in the spool, retrying in %.1f s",
                        retry.reason,
                        self.spool.depth,
                        wait,
                    )
                stop.wait(wait)
                continue
            if done == 0:
                if wake is not None:
                    wake.wait(idle_wait_s)
                    wake.clear()
                else:
                    stop.wait(idle_wait_s)
