"""Drain the spool into InfluxDB: delete only what the server confirmed.

What to do with a failed batch, and how long to wait, is the one policy of
:mod:`telemetry.retry` (:data:`~telemetry.retry.SPOOLED`); this module only adds the spool's
side of it, never losing a reading:

- split (413): write the halves; a single line over the limit goes to the quarantine;
- bad points (400/422): bisect the batch down to the offending lines, move those to the
  quarantine with the server's reason, write the rest;
- retry (no answer, 429, 5xx) and fail (401/403/404: credentials, a missing database; an
  unclassified answer): keep everything, wait as the policy says (honouring ``Retry-After``),
  and try again, forever, while the spool holds the data.

Points carry the device's timestamp, so a line written twice (a crash between the write and the
delete) overwrites itself instead of duplicating.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware_bridge.spool import Spool
from telemetry.errors import ServiceError, WriteError
from telemetry.influx import InfluxStore
from telemetry.retry import SPOOLED, Action, Backoff, RetryPolicy

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


class Writer:
    """Moves lines from a :class:`Spool` to an :class:`InfluxStore`.

    Parameters
    ----------
    spool : Spool
    store : InfluxStore
    batch_lines : int
        Lines per request (the spool's oldest first).
    max_backoff_s : float, optional
        Longest wait between attempts [s]; replaces ``policy.max_wait_s``.
    policy : RetryPolicy
        Default :data:`telemetry.retry.SPOOLED`; it must have no last attempt
        (``max_attempts=None``): the spool keeps every batch until it is stored.
    seed : int, optional
        Seed of the policy's jitter.
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
        max_backoff_s: float | None = None,
        policy: RetryPolicy = SPOOLED,
        seed: int | None = None,
        on_stored: Callable[[list[str]], None] | None = None,
        on_quarantined: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.spool = spool
        self.store = store
        self.batch_lines = int(batch_lines)
        if max_backoff_s is not None:
            policy = dataclasses.replace(
                policy,
                max_wait_s=float(max_backoff_s),
                min_wait_s=min(policy.min_wait_s, float(max_backoff_s)),
            )
        if policy.max_attempts is not None:
            raise ValueError("the writer's policy must have no last attempt (max_attempts=None)")
        self.policy = policy
        self.on_stored = on_stored
        self.on_quarantined = on_quarantined
        self.stats = WriterStats()
        self._backoff = Backoff(policy, seed=seed)

    def step(self) -> int:
        """Write one batch of the oldest lines; return lines confirmed (0: spool empty).

        Raises
        ------
        ServiceError
            The server cannot take the batch (now or as set up); nothing was deleted.
        """
        batch = self.spool.peek(self.batch_lines)
        if not batch:
            return 0
        done = self._write(batch)
        self._backoff.succeeded()
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
        except ServiceError as exc:
            action = self.policy.classify(exc)
            if action not in (Action.SPLIT, Action.BAD_POINTS):
                raise  # retry or fail: the spool keeps the batch, run() waits and tries again
            if len(batch) == 1:
                if action is Action.SPLIT:
                    reason = "single line larger than the server accepts (HTTP 413)"
                else:
                    reason = exc.reason if isinstance(exc, WriteError) else str(exc)
                self._quarantine(batch, reason)
                return 0
            half = len(batch) // 2
            return self._write(batch[:half]) + self._write(batch[half:])
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
                done = self.step()
            except Exception as exc:  # whatever it is: keep the data, try again
                if isinstance(exc, ServiceError):
                    reason = str(exc)
                else:  # a bug or a disk error
                    log.exception("writer step failed")
                    reason = f"writer error: {type(exc).__name__}: {exc}"
                wait = self._backoff.failed(exc)
                failures = self._backoff.failures
                with self.stats.lock:
                    self.stats.retries += 1
                    self.stats.last_error = reason
                    self.stats.backoff_s = wait
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning(
                        "%s; %d lines kept in the spool, retrying in %.1f s",
                        reason,
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
