"""Expected power from the peers, live in the bridge: the fleet as its own irradiance sensor.

For a reading of plant *i* at device time *t*::

    expected_w = clear_sky_w(i, t) × K(i)

``clear_sky_w`` is the fleet kernel's output under pvlib's Ineichen clear sky
(:func:`simulate.clearsky.clear_sky_power`) on a 15-minute grid covering the coming
:data:`HORIZON_H` hours, computed in a background thread at start and again before the grid runs
out (:class:`PeerExpectation`). ``K`` is the plant's **local sky index**, recomputed at every
status tick over the whole fleet at once (:func:`local_sky_index`): the weighted median of its
peers' current indices (each peer's latest AC power ÷ its clear-sky power at that reading's
time; readings no older than :data:`FRESH_S`, no alarm, plant online, clear sky at least
``CLEAR_SKY_FLOOR`` of the AC rating), leaving out the plant itself, peers flagged
underperforming and peers in a cut (their outage zone or neighbourhood gone silent). With fewer
than ``MIN_PEERS`` peers reporting, ``K`` is the climate default's mean clear-sky index of the
month (:func:`simulate.clearsky.climate_sky_index`). Peers, radius and weights are
:func:`simulate.peers.peers_of_fleet`'s (25 km, distance and orientation).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulate.peers import Peers
from telemetry.registry import Fleet

__all__ = [
    "CUT_SILENT_SHARE",
    "FRESH_S",
    "GRID_STEP_S",
    "HORIZON_H",
    "RETRY_AFTER_S",
    "LiveReadings",
    "PeerExpectation",
    "SkyGrid",
    "local_sky_index",
    "weighted_median",
]

log = logging.getLogger("roshanai.bridge.peers")

#: A plant's latest reading serves as a sky sensor while it is at most this old (device time). [s]
FRESH_S = 900.0
#: Step of the clear-sky grid. [s]
GRID_STEP_S = 900
#: The grid covers this many hours from a little before its computation. [h]
HORIZON_H = 48
#: The grid starts this long before the time it is computed for. [h]
LEAD_H = 3
#: A new grid is computed (in the background) this long before the current one ends (at most
#: half the grid's span, so that a short grid is not recomputed at every tick). [h]
REFRESH_BEFORE_END_H = 12
#: After a failed computation, the next attempt waits this long. [s]
RETRY_AFTER_S = 600.0
#: A plant is in a cut when at least this share of its outage zone, or of its peers (by weight),
#: that reported in the last day is silent now.
CUT_SILENT_SHARE = 0.5
#: Plants per clear-sky computation (bounds the memory of the work arrays).
CHUNK_PLANTS = 20_000

_DAY_NS = 86_400 * 10**9


def weighted_median(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted median of each row, ignoring NaN values and zero weights.

    The lower weighted median: the smallest value whose cumulative weight reaches half the
    row's total (as :func:`triage.expected.peer_sky_index`).

    Parameters
    ----------
    values : numpy.ndarray
        (n_rows, k) [any unit]
    weights : numpy.ndarray
        (n_rows, k) non-negative [-]

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        (n_rows,) the medians, NaN where a row has no weighted value, and (n_rows,) the number
        of values that counted.
    """
    valid = np.isfinite(values) & (weights > 0)
    v = np.where(valid, values, np.inf)
    w = np.where(valid, weights, 0.0)
    order = np.argsort(v, axis=1, kind="stable")
    vs = np.take_along_axis(v, order, axis=1)
    cum = np.cumsum(np.take_along_axis(w, order, axis=1), axis=1)
    total = cum[:, -1] if cum.shape[1] else np.zeros(len(v))
    if not cum.shape[1]:
        return np.full(len(v), np.nan), np.zeros(len(v), dtype=np.int64)
    pos = np.argmax(cum >= 0.5 * total[:, None], axis=1)
    med = vs[np.arange(len(vs)), pos]
    return np.where(total > 0, med, np.nan), valid.sum(axis=1)


@dataclass(frozen=True)
class SkyGrid:
    """Clear-sky power and the climate fallback of every plant on a regular time grid.

    Attributes
    ----------
    start_ns : int
        Time of the first step [ns since the epoch, UTC].
    step_ns : int
        [ns]
    clear_sky_w : numpy.ndarray
        (n_plants, n_steps) float32 clear-sky AC power at each step [W]; NaN for plants with no
        default weather (open sea).
    climate_index : numpy.ndarray
        (n_plants, n_months) float32 climate fallback sky index [-], NaN where none.
    month_of_step : numpy.ndarray
        (n_steps,) column of ``climate_index`` for each step.
    """

    start_ns: int
    step_ns: int
    clear_sky_w: np.ndarray
    climate_index: np.ndarray
    month_of_step: np.ndarray

    @property
    def end_ns(self) -> int:
        """Time of the last step [ns]."""
        return self.start_ns + (self.clear_sky_w.shape[1] - 1) * self.step_ns

    def clear_sky_at(self, row: int, ts_ns: int) -> float:
        """Clear-sky AC power of plant ``row`` at ``ts_ns`` (linear between steps) [W]; NaN
        outside the grid."""
        x = (ts_ns - self.start_ns) / self.step_ns
        j = int(x)
        if x < 0 or j >= self.clear_sky_w.shape[1] - 1:
            return float(self.clear_sky_w[row, j]) if x >= 0 and x == j else float("nan")
        f = x - j
        a, b = self.clear_sky_w[row, j], self.clear_sky_w[row, j + 1]
        return float(a + f * (b - a))

    def climate_one(self, row: int, ts_ns: int) -> float:
        """Climate fallback sky index of plant ``row`` at ``ts_ns`` (nearest step) [-]."""
        j = round((ts_ns - self.start_ns) / self.step_ns)
        j = min(max(j, 0), len(self.month_of_step) - 1)
        return float(self.climate_index[row, self.month_of_step[j]])

    def climate_at(self, ts_ns: int) -> np.ndarray:
        """(n_plants,) climate fallback sky index at ``ts_ns`` (nearest step) [-]."""
        j = round((ts_ns - self.start_ns) / self.step_ns)
        j = min(max(j, 0), len(self.month_of_step) - 1)
        return np.asarray(self.climate_index[:, self.month_of_step[j]], dtype=float)


def compute_grid(
    fleet: Fleet, start_ns: int, horizon_h: float = HORIZON_H, step_s: int = GRID_STEP_S
) -> SkyGrid:
    """Clear-sky power and climate index of every plant from ``start_ns`` on (see
    :class:`SkyGrid`)."""
    from simulate.clearsky import clear_sky_power, climate_sky_index

    n_steps = int(horizon_h * 3600 // step_s) + 1
    times = pd.date_range(pd.Timestamp(start_ns, tz="UTC"), periods=n_steps, freq=f"{step_s}s")
    labels = times + pd.Timedelta(minutes=30)  # the kernel runs at label − 30 min
    months = times.year * 12 + times.month
    uniq, month_of_step = np.unique(months, return_inverse=True)
    first = [int(np.flatnonzero(month_of_step == m)[0]) for m in range(len(uniq))]
    n = len(fleet)
    clear = np.full((n, n_steps), np.nan, dtype=np.float32)
    climate = np.full((n, len(uniq)), np.nan, dtype=np.float32)
    for a in range(0, n, CHUNK_PLANTS):
        part = fleet.subset(a, min(n, a + CHUNK_PLANTS))
        climate[a : a + len(part)] = climate_sky_index(part, labels[first])
        clear[a : a + len(part)] = clear_sky_power(part, labels)
    clear[~np.isfinite(climate).any(axis=1)] = np.nan  # open sea: no expectation, as before
    return SkyGrid(int(times[0].value), step_s * 10**9, clear, climate, month_of_step)


class PeerExpectation:
    """The peers and the clear-sky grid of a fleet, computed in the background.

    The bridge does not wait for them: until :attr:`ready`, the status carries no expectation.
    :meth:`refresh` (called at each status tick) starts a new grid before the current one ends.

    Parameters
    ----------
    fleet : Fleet
    start_ns : int, optional
        Start of the first grid [ns]; default ``LEAD_H`` before now.
    horizon_h : float
        Length of each grid [h].
    clock : callable
        Monotonic clock for the retry delay after a failure [s] (tests inject one).
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        start_ns: int | None = None,
        horizon_h: float = HORIZON_H,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fleet = fleet
        self.horizon_h = horizon_h
        p = fleet.plants
        self.rating_w = 1000.0 * p["ac_kw"].to_numpy(float)
        zones = p["outage_zone"].astype(str).to_numpy() if "outage_zone" in p else None
        self.zone: np.ndarray | None = None
        if zones is not None and (zones != "").any():
            _, inv = np.unique(zones, return_inverse=True)
            inv = np.asarray(inv, dtype=np.int64).reshape(-1)
            self.zone = np.where(zones == "", -1, inv)
        self.peers: Peers | None = None
        self.grid: SkyGrid | None = None
        self.error = ""
        self._start_ns = start_ns
        self._clock = clock  # for the retry delay after a failure [s]
        self._busy = threading.Lock()
        self._failed_at: float | None = None
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self.grid is not None and self.peers is not None

    def start(self) -> PeerExpectation:
        start = self._start_ns if self._start_ns is not None else _grid_start(time.time_ns())
        if self._busy.acquire(blocking=False):
            self._launch(start, True)
        return self

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the latest computation started is done; True if a grid is ready."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return self.ready

    def refresh(self, now_ns: int) -> None:
        """Start a new grid in the background when ``now_ns`` [ns, the bridge's clock] nears the
        current one's end (or lies before its start), or again ``RETRY_AFTER_S`` after a failed
        computation (the first one included)."""
        g = self.grid
        if self._busy.locked():
            return
        if g is None:
            if self._failed_at is None:
                return  # not started
        else:
            margin_ns = min(int(REFRESH_BEFORE_END_H * 3600e9), (g.end_ns - g.start_ns) // 2)
            if g.start_ns <= now_ns <= g.end_ns - margin_ns:
                return
        if self._failed_at is not None and self._clock() - self._failed_at < RETRY_AFTER_S:
            return
        if self._busy.acquire(blocking=False):
            self._launch(_grid_start(now_ns), False)

    def _launch(self, start_ns: int, first: bool) -> None:
        """Compute in a thread; the caller holds ``_busy``, which the thread releases."""
        self._thread = threading.Thread(
            target=self._compute, args=(start_ns, first), name="peer-expectation", daemon=True
        )
        self._thread.start()

    def _compute(self, start_ns: int, first: bool) -> None:
        t0 = time.monotonic()
        try:
            if self.peers is None:
                from simulate.peers import peers_of_fleet

                self.peers = peers_of_fleet(self.fleet)
            grid = compute_grid(self.fleet, start_ns, self.horizon_h)
            self.grid = grid
            self._failed_at = None
            none = int((~np.isfinite(grid.clear_sky_w).any(axis=1)).sum())
            log.info(
                "expected power from the peers ready: %d plants (%d with no default weather), "
                "clear sky until %s, %.1f s",
                len(self.fleet),
                none,
                pd.Timestamp(grid.end_ns, tz="UTC").isoformat(),
                time.monotonic() - t0,
            )
        except Exception as exc:  # the status works without expectations
            self._failed_at = self._clock()
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning(
                "no expected power from the peers%s: %s", "" if first else " (refresh)", self.error
            )
        finally:
            self._busy.release()


def _grid_start(now_ns: int) -> int:
    step = GRID_STEP_S * 10**9
    return (now_ns - int(LEAD_H * 3600e9)) // step * step


class LiveReadings:
    """Each plant's latest reading as arrays (fleet row order), filled by the status tracker.

    Attributes
    ----------
    ts_ns : numpy.ndarray
        (n,) int64 device time of the latest reading [ns], 0 if none.
    seen_ns : numpy.ndarray
        (n,) int64 when the bridge last heard from the plant [ns], 0 if never.
    ac_power_w, clear_sky_w : numpy.ndarray
        (n,) the latest AC power and the clear-sky power at its time [W] (NaN: unknown).
    alarm, will_offline, underperforming : numpy.ndarray
        (n,) bool
    sky_index : numpy.ndarray
        (n,) the local sky index of the last tick [-], NaN before one.
    from_peers : numpy.ndarray
        (n,) bool: that index came from the peers.
    cut : numpy.ndarray
        (n,) bool: the plant was in a cut at the last tick (never underperforming then).
    """

    def __init__(self, n: int) -> None:
        self.ts_ns = np.zeros(n, dtype=np.int64)
        self.seen_ns = np.zeros(n, dtype=np.int64)
        self.ac_power_w = np.full(n, np.nan)
        self.clear_sky_w = np.full(n, np.nan)
        self.alarm = np.zeros(n, dtype=bool)
        self.will_offline = np.zeros(n, dtype=bool)
        self.underperforming = np.zeros(n, dtype=bool)
        self.sky_index = np.full(n, np.nan)
        self.from_peers = np.zeros(n, dtype=bool)
        self.cut = np.zeros(n, dtype=bool)


def local_sky_index(
    live: LiveReadings,
    expectation: PeerExpectation,
    now_ns: int,
    *,
    offline_after_ns: int,
    fresh_ns: int = int(FRESH_S * 1e9),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every plant's local sky index now, vectorised over the fleet (see the module docstring).

    Parameters
    ----------
    live : LiveReadings
    expectation : PeerExpectation
        Ready (peers and grid).
    now_ns : int
        [ns since the epoch]
    offline_after_ns : int
        A plant silent this long is offline [ns].
    fresh_ns : int
        Oldest reading that counts [ns].

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray)
        (n,) the index used [-] (NaN where neither peers nor climate know), (n,) bool from the
        peers, (n,) number of peers that reported, (n,) bool in a cut.
    """
    from simulate.peers import CLEAR_SKY_FLOOR, MIN_PEERS, SKY_INDEX_MAX

    peers: Peers | None = expectation.peers
    grid = expectation.grid
    assert peers is not None
    assert grid is not None
    age = now_ns - live.ts_ns
    heard = (live.ts_ns > 0) & (age < _DAY_NS)
    fresh = heard & (age <= fresh_ns)
    online = (live.seen_ns > 0) & (now_ns - live.seen_ns < offline_after_ns) & ~live.will_offline
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.clip(live.ac_power_w / live.clear_sky_w, 0.0, SKY_INDEX_MAX)
    own_ok = (
        fresh
        & online
        & ~live.alarm
        & np.isfinite(own)
        & (live.clear_sky_w >= CLEAR_SKY_FLOOR * expectation.rating_w)
    )
    # A cut: the plant's zone, or most of its neighbourhood, went silent at once (a hybrid
    # plant reporting from its battery there is no sky sensor).
    silent = heard & ~fresh
    idx = peers.index
    has = idx >= 0
    safe = np.maximum(idx, 0)
    w_heard = np.where(has & heard[safe], peers.weight, 0.0)
    w_silent = np.where(silent[safe], w_heard, 0.0)
    total = w_heard.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cut = (total > 0) & (w_silent.sum(axis=1) >= CUT_SILENT_SHARE * total)
    if expectation.zone is not None:
        z = expectation.zone
        inz = z >= 0
        n_z = int(z.max()) + 1
        heard_z = np.bincount(z[inz], weights=heard[inz], minlength=n_z)
        silent_z = np.bincount(z[inz], weights=silent[inz], minlength=n_z)
        zone_cut = (heard_z > 0) & (silent_z >= CUT_SILENT_SHARE * np.maximum(heard_z, 1))
        cut |= inz & zone_cut[np.maximum(z, 0)]
    usable = own_ok & ~live.underperforming & ~cut
    vals = np.where(has & usable[safe], own[safe], np.nan)
    k_peer, count = weighted_median(vals, peers.weight)
    from_peers = (count >= MIN_PEERS) & np.isfinite(k_peer)
    climate = grid.climate_at(now_ns)
    k = np.where(from_peers, k_peer, climate)
    return k, from_peers, count, cut
