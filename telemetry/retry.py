"""The one retry policy of every InfluxDB write: what to do with a failed batch, and when again.

A failed write is classified once, from the error's type alone (:mod:`telemetry.errors`), as
Telegraf's outputs do:

- :attr:`Action.SPLIT`: 413, the body is over the server's limit; send the halves;
- :attr:`Action.BAD_POINTS`: 400/422, the points are refused; bisect down to the offending
  lines (a one-shot write raises, the bridge quarantines them);
- :attr:`Action.RETRY`: no answer, or 429/5xx (:class:`~telemetry.errors.TransientServiceError`);
  the same request may succeed later: wait and send it again;
- :attr:`Action.FAIL`: anything else (401/403 credentials, 404 database, not an InfluxDB):
  sending it again as is fails the same way until the setup is fixed.

The wait before attempt ``n + 1`` after ``n`` consecutive failures is
``first_wait_s * factor ** (n - 1)``, at least ``min_wait_s``, at most ``max_wait_s``; with
``jitter`` it is spread by up to that fraction either way (seeded: the same seed, the same
waits). A server's ``Retry-After`` is honoured: the wait is never shorter than it asked
(up to ``max_wait_s``).

:data:`ONE_SHOT` is the policy of a command's write (three attempts), :data:`SPOOLED` that of
the bridge, whose spool holds the data for as long as it takes (no last attempt).
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from telemetry.errors import PayloadTooLarge, ServiceError, TransientServiceError, WriteRejected

__all__ = ["ONE_SHOT", "SPOOLED", "Action", "Backoff", "RetryPolicy", "classify"]

T = TypeVar("T")


class Action(enum.Enum):
    """What to do with a batch whose write failed."""

    RETRY = "retry"
    SPLIT = "split"
    BAD_POINTS = "bad_points"
    FAIL = "fail"


def classify(exc: BaseException) -> Action:
    """The action for a failed write, from the type of its error.

    Parameters
    ----------
    exc : BaseException
        What the write raised.

    Returns
    -------
    Action
        ``SPLIT`` for :class:`PayloadTooLarge`, ``BAD_POINTS`` for a :class:`WriteRejected`
        whose points are at fault, ``RETRY`` for a :class:`TransientServiceError`, ``FAIL``
        for everything else.
    """
    if isinstance(exc, PayloadTooLarge):
        return Action.SPLIT
    if isinstance(exc, WriteRejected):
        return Action.BAD_POINTS if exc.bad_points else Action.FAIL
    if isinstance(exc, TransientServiceError):
        return Action.RETRY
    return Action.FAIL


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts and waits of a write, and which failures are worth another attempt.

    Parameters
    ----------
    max_attempts : int or None
        Attempts per request, the first included; None: no last attempt (the caller keeps
        the data and stops the loop itself).
    first_wait_s : float
        Wait after the first failure [s].
    factor : float
        Growth of the wait with each further failure (2: 1, 2, 4 … s).
    max_wait_s : float
        Longest wait, a server's ``Retry-After`` included [s].
    min_wait_s : float
        Shortest wait, so a ``Retry-After: 0`` cannot spin [s].
    jitter : float
        Fraction by which a wait is spread either way (0: the schedule exactly), so that
        several writers do not come back at the same instant.
    """

    max_attempts: int | None = 3
    first_wait_s: float = 1.0
    factor: float = 2.0
    max_wait_s: float = 30.0
    min_wait_s: float = 0.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1 (or None for no last attempt)")
        if not 0 <= self.min_wait_s <= self.max_wait_s or not math.isfinite(self.max_wait_s):
            raise ValueError("need 0 <= min_wait_s <= max_wait_s, finite")
        if self.first_wait_s < 0 or self.factor < 1:
            raise ValueError("need first_wait_s >= 0 and factor >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be a fraction in [0, 1)")

    classify = staticmethod(classify)

    def backoff_s(self, failures: int) -> float:
        """The scheduled wait after ``failures`` consecutive failures (no jitter) [s].

        Parameters
        ----------
        failures : int
            Consecutive failures so far, at least 1.
        """
        if failures < 1:
            raise ValueError("failures counts from 1")
        # Bounded exponent: the cap is reached long before, and 2.0 ** 2000 overflows.
        wait = self.first_wait_s * self.factor ** min(failures - 1, 1000)
        return min(self.max_wait_s, max(self.min_wait_s, wait))

    def schedule(self) -> list[float]:
        """The waits between the attempts of a request that fails every time (no jitter) [s]."""
        if self.max_attempts is None:
            raise ValueError("a policy without a last attempt has no finite schedule")
        return [self.backoff_s(n) for n in range(1, self.max_attempts)]

    def wait_s(
        self, failures: int, exc: BaseException | None = None, *, rng: random.Random | None = None
    ) -> float:
        """How long to wait after ``failures`` consecutive failures, the last being ``exc`` [s].

        Parameters
        ----------
        failures : int
            Consecutive failures so far, at least 1.
        exc : BaseException, optional
            The last failure; its ``retry_after_s`` (a server's ``Retry-After``) is honoured.
        rng : random.Random, optional
            Source of the jitter (a seeded one for repeatable waits).
        """
        wait = self.backoff_s(failures)
        if self.jitter:
            spread = (rng or random).uniform(-self.jitter, self.jitter)
            wait = min(self.max_wait_s, max(self.min_wait_s, wait * (1 + spread)))
        asked = exc.retry_after_s if isinstance(exc, TransientServiceError) else None
        if asked is not None:
            wait = max(wait, min(asked, self.max_wait_s))
        return wait

    def gives_up(self, attempts: int) -> bool:
        """True once ``attempts`` attempts have failed and no further one is allowed."""
        return self.max_attempts is not None and attempts >= self.max_attempts

    def call(
        self,
        attempt: Callable[[], T],
        *,
        sleep: Callable[[float], object] = time.sleep,
        seed: int | None = None,
    ) -> T:
        """Run ``attempt`` until it succeeds, waiting between tries as the policy says.

        Only :attr:`Action.RETRY` failures are tried again; any other, and the last retryable
        one, is raised as it came.

        Parameters
        ----------
        attempt : callable
            One request, e.g. ``lambda: store.write_lines(chunk)``.
        sleep : callable
            Waits the given seconds (``time.sleep``; ``threading.Event.wait`` to be stoppable).
        seed : int, optional
            Seed of the jitter.
        """
        backoff = Backoff(self, seed=seed)
        while True:
            try:
                return attempt()
            except ServiceError as exc:
                if classify(exc) is not Action.RETRY:
                    raise
                wait = backoff.failed(exc)
                if backoff.given_up:
                    raise
                sleep(wait)


class Backoff:
    """The waits of one stream of requests under a policy: consecutive failures, reset on success.

    Parameters
    ----------
    policy : RetryPolicy
    seed : int, optional
        Seed of the jitter (None: unpredictable).
    """

    def __init__(self, policy: RetryPolicy, *, seed: int | None = None) -> None:
        self.policy = policy
        self.failures = 0
        self._rng = random.Random(seed)

    def failed(self, exc: BaseException | None = None) -> float:
        """Count a failure; return how long to wait before the next attempt [s]."""
        self.failures += 1
        return self.policy.wait_s(self.failures, exc, rng=self._rng)

    def succeeded(self) -> None:
        """A request went through: the next failure waits the first wait again."""
        self.failures = 0

    @property
    def given_up(self) -> bool:
        """True when the failures so far used up the policy's attempts."""
        return self.policy.gives_up(self.failures)


#: A command's write: three attempts, waiting 1 then 2 s (or what the server asks, ≤ 30 s).
ONE_SHOT: Final = RetryPolicy()

#: The bridge's writer: the spool keeps the batch, so there is no last attempt; waits from
#: 0.5 s doubling up to 30 s, spread by 10 % so that several bridges do not return together.
SPOOLED: Final = RetryPolicy(
    max_attempts=None, first_wait_s=0.5, max_wait_s=30.0, min_wait_s=0.1, jitter=0.1
)
