"""Findings: what is wrong with a plant, since when, what it costs, how sure, and why.

Each finding is one row: ``plant_id``, ``finding``, ``start`` (UTC, the first hour of it),
``lost_kwh_per_day`` (the energy lost from ``start`` to the end of the period, per day; 0 for
``comms_loss``, whose energy was produced), ``confidence`` (0–1), ``evidence`` (which peers,
which hours, in a line). The detectors, in the order they claim hours, with their thresholds:

``offline``
    At least :data:`OFFLINE_MIN_HOURS` daylight hours silent while peers report, the grid is up
    and the counter did not move (:mod:`triage.gaps`). Loss: the expectation of those hours.
``comms_loss``
    At least :data:`COMMS_MIN_HOURS` daylight hours silent with the counter advancing across
    them, or whose readings arrived late. Loss 0: a remote fix, ranked last.
``inverter_fault``
    At least :data:`INVERTER_ALARM_MIN_HOURS` reported hour with an alarm code while the sun is
    up (clear-sky output ≥ :data:`DAYLIGHT_SHARE` of the rating, whatever the clouds), or at
    least :data:`INVERTER_MIN_HOURS` daylight hours with AC power at most
    :data:`ZERO_POWER_SHARE` of the rating while the expectation from the peers is at least
    :data:`PRODUCING_SHARE` of it. Loss: expected − measured in those hours.
``string_fault``
    With two or more DC inputs: one input below :data:`STRING_SHARE` of its rated share (equal
    shares: the fleet file has no per-input rating) in at least :data:`STRING_MIN_HOURS`
    daylight hours, in most hours from its onset on. Loss: the missing DC power × 0.96.
``shading``
    On clear hours (peers' sky index ≥ :data:`CLEAR_SKY_INDEX`, or ≥ :data:`DIMMED_SKY_INDEX`
    on a day whose index is ≥ :data:`CLEAR_SKY_INDEX`), some local hours of the day
    recur below :data:`SHADING_RATIO` of the expectation (median over at least 2 clear days,
    and on :data:`SHADING_RECUR` of them), at most half the day's hours, the other hours
    fine (≥ :data:`FINE_RATIO`). Loss: the deficit of those hours.
``soiling``
    A stochastic-rate-and-recovery reading of the plant's daily performance index (its energy
    over the peers' expectation), after Deceglie, Micheli & Muller, "Quantifying soiling loss
    directly from PV yield", IEEE J. Photovoltaics 8(2), 547–551 (2018) — RdTools'
    ``soiling_srr``, simplified (RdTools itself was not taken on: see the README): cleaning
    events are rises of at least :data:`CLEANING_JUMP` over the days before; within the last
    interval between them (≥ :data:`SOILING_MIN_DAYS` days) a Theil–Sen slope at most
    −:data:`SOILING_RATE_MIN` per day, its 95 % interval below zero, a straight decline
    fitting better than one step (a step is another fault), and at least
    :data:`SOILING_MIN_LOSS` lost by the end. Loss: the fitted decline × daily expectation.
``degradation``
    Only with at least :data:`DEGRADATION_MIN_DAYS` days of history: the year-on-year median
    rate of the daily index (Jordan et al. 2018, RdTools' ``degradation_year_on_year``) at most
    :data:`DEGRADATION_RATE_MIN` per year against the peers. Not reported otherwise.
``underperforming``
    Anything else: from its onset, the plant's energy below :data:`UNDERPERFORMING_RATIO` of the
    peers' expectation, and below the :data:`PEER_LOW_QUANTILE` quantile of its peers' own day
    ratios (:func:`peer_low_ratio`: a neighbourhood whose sky is uneven that day spreads its
    healthy plants' ratios), on at least :data:`UNDERPERFORMING_MIN_DAYS` days, with the size
    — or on one day when the loss is at least :data:`UNDERPERFORMING_FAST_SIZE` and the expectation
    of at least :data:`UNDERPERFORMING_FAST_PEERS` of its hours came from the peers (a large
    step is worth a visit the next morning; the climate fallback does not know the day's
    clouds, so it alone never gives the one-day finding) and the day's sky index is at least
    :data:`UNDERPERFORMING_FAST_SKY`; or on one day of any sky when the loss is at least
    :data:`UNDERPERFORMING_STEP_SIZE`; a one-day finding, besides, only when at most
    :data:`STEP_COMPANY_MAX` peer was as low that day (:func:`peer_company`: a loss some
    neighbours share is a cloud over part of the neighbourhood). Every call also needs the
    loss to stand out of the noise a healthy plant shows there (:func:`loss_z`): at least
    :data:`UNDERPERFORMING_Z` standard deviations over two days or more,
    :data:`UNDERPERFORMING_STEP_Z` for a one-day call, the standard deviation being the
    neighbourhood's spread that day or the plant's own day-to-day scatter before the loss,
    whichever is larger (a plant under a sky of its own, whose ratio to its peers swings, needs
    a larger or longer loss).

The daily index (underperforming, soiling) uses only days with at least :data:`DAY_PEER_SHARE`
of their hours' expectation from the peers and a sky index of at least :data:`OVERCAST_INDEX`.

The thresholds aim at the goal of issue 17: faults costing ≥ 10 % of a plant's energy found
within 2 days, ≤ 1 % of fault-free plants flagged, no cut ever a fault (cut hours, scheduled or
inferred from a silent neighbourhood, are left out of every detector). Confidence:
``0.5 + 0.45 × min(1, hours / FULL_EVIDENCE_HOURS) × peer_share`` (peer_share: the share of
the evidence hours whose expectation came from ≥ 5 peers; the climate fallback counts 0.3);
an alarm code gives 0.95.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from telemetry.helptext import count
from telemetry.schema import FINDING_KINDS
from triage.expected import FALLBACK_RADIUS_KM, MIN_PEERS, PEER_RADIUS_KM, Expectation, Peers
from triage.gaps import COMMS_LOSS, GRID_CUT, LATE, OFFLINE
from triage.hourly import HourlyReadings

__all__ = [
    "FINDINGS",
    "FINDING_COLUMNS",
    "Context",
    "detect",
    "onset",
    "yoy_rate",
]

FINDINGS = FINDING_KINDS
FINDING_COLUMNS = ("plant_id", "finding", "start", "lost_kwh_per_day", "confidence", "evidence")

OFFLINE_MIN_HOURS = 3
COMMS_MIN_HOURS = 2
INVERTER_MIN_HOURS = 2
#: An alarm code is the inverter's own word: one daylight hour of it is enough.
INVERTER_ALARM_MIN_HOURS = 1
ZERO_POWER_SHARE = 0.01
PRODUCING_SHARE = 0.10
STRING_SHARE = 0.5
STRING_MIN_HOURS = 3
CLEAR_SKY_INDEX = 0.75
#: On a clear day (its sky index ≥ :data:`CLEAR_SKY_INDEX`), an hour down to this index still
#: counts as clear for shading (the low sun's hours).
DIMMED_SKY_INDEX = 0.5
SHADING_RATIO = 0.8
SHADING_RECUR = 0.7
#: Shading is reported when it costs at least this share of the plant's daily expectation.
SHADING_MIN_LOSS = 0.05
FINE_RATIO = 0.9
CLEANING_JUMP = 0.05
#: RdTools' ``soiling_srr`` default ``min_interval_length``. [day]
SOILING_MIN_DAYS = 7
SOILING_RATE_MIN = 0.003
#: A decline faster than this is not dust settling (published soiling rates reach about
#: 1 %/day in the dustiest deserts; a dust storm is a step): weather or another fault. [1/day]
SOILING_RATE_MAX = 0.02
SOILING_MIN_LOSS = 0.04
DEGRADATION_MIN_DAYS = 730
DEGRADATION_RATE_MIN = -0.015
UNDERPERFORMING_RATIO = 0.9
UNDERPERFORMING_MIN_DAYS = 2
#: ... or 1 day when the loss is at least this large and at least this share of the day's
#: hours have their expectation from the peers.
UNDERPERFORMING_FAST_SIZE = 0.25
UNDERPERFORMING_FAST_PEERS = 0.8
#: ... and the day was mostly clear (the peers' sky index of the day at least this): on a
#: grey day one day's 25 % is within the spread of healthy neighbours.
UNDERPERFORMING_FAST_SKY = 0.6
#: ... or on one day of any sky the daily index takes (≥ :data:`OVERCAST_INDEX`) when the loss
#: is at least this: a dead string of a one-input inverter, a tripped half. No fault-free
#: plant-day of the benchmark runs (July, December, March; 34,000 plant-days) fell that far
#: below both its expectation and its peers' 10 % quantile, under any sky.
UNDERPERFORMING_STEP_SIZE = 0.4
#: A one-day finding needs the plant nearly alone that day: at most this many of its peers
#: with a daily ratio below its own plus :data:`STEP_COMPANY_MARGIN` (one allowed: a
#: neighbour with a fault of its own).
STEP_COMPANY_MAX = 1
STEP_COMPANY_MARGIN = 0.2
#: A day is low only when the plant's ratio is also below this quantile of its peers' own
#: ratios that day (:func:`peer_low_ratio`).
PEER_LOW_QUANTILE = 0.1
#: How far below its expectation a loss must lie, in standard deviations of a healthy plant's
#: daily ratio there (:func:`loss_z`), for a call over two days or more ...
UNDERPERFORMING_Z = 5.0
#: ... and for a one-day call (which also needs the plant nearly alone and a large loss).
UNDERPERFORMING_STEP_Z = 3.0
#: Smallest standard deviation of a healthy plant's daily ratio (a clear day's, in the
#: benchmark runs: 2.6 % for fault-free plant-days with a sky index ≥ 0.75). [1]
DAY_RATIO_SIGMA_MIN = 0.02
#: Days of history before a loss that give the plant's own day-to-day scatter.
OWN_SCATTER_MIN_DAYS = 3
#: Evidence hours that give a detector full weight in the confidence.
FULL_EVIDENCE_HOURS = 6
#: An hour takes part in the performance checks when its expectation is at least this share
#: of the rating.
DAYLIGHT_SHARE = 0.10
#: A day takes part in the daily index (underperforming, soiling) when at least this share of
#: its hours had their expectation from the peers (the climate default does not know the
#: day's clouds: on a grey December day it errs by a factor of several) ...
DAY_PEER_SHARE = 0.8
#: ... and the peers' sky index of the day (its expected over its clear-sky energy) is at
#: least this: under an overcast sky the light is mostly diffuse, plants answer it according
#: to their orientation and horizon, and a day at a tenth of the clear sky tells little about
#: a loss of 10 %.
OVERCAST_INDEX = 0.3
_INVERTER_EFFICIENCY = 0.96


@dataclass(frozen=True)
class Context:
    """Everything the detectors look at, for a set of plants over the same hours.

    Attributes
    ----------
    hourly : HourlyReadings
    expectation : Expectation
    gaps : numpy.ndarray
        (n_plants, n_hours) :func:`triage.gaps.classify_gaps` codes.
    cut : numpy.ndarray
        (n_plants, n_hours) bool: scheduled cuts.
    rating_w : numpy.ndarray
        (n_plants,) AC rating. [W]
    peers : Peers
    until : pandas.Timestamp
        End of the period (UTC).
    timezone : str
        Zone of the local hours and days. [IANA name]
    """

    hourly: HourlyReadings
    expectation: Expectation
    gaps: np.ndarray
    cut: np.ndarray
    rating_w: np.ndarray
    peers: Peers
    until: pd.Timestamp
    timezone: str = "Asia/Tehran"


def onset(flags: np.ndarray, share: float = 0.8) -> int | None:
    """The earliest position ``t`` with ``flags[t]`` set and at least ``share`` of
    ``flags[t:]`` set (a fault that began and stayed); None if there is none."""
    flags = np.asarray(flags, bool)
    n = len(flags)
    if not flags.any():
        return None
    tail = np.cumsum(flags[::-1])[::-1] / np.arange(n, 0, -1)
    hits = np.flatnonzero(flags & (tail >= share))
    return int(hits[0]) if len(hits) else None


def loss_z(
    ratio: np.ndarray,
    peer_low: np.ndarray,
    history: np.ndarray,
) -> float:
    """How many standard deviations a run of low days lies below the expectation.

    Each day's ratio (energy over expectation) is weighed by the inverse of its variance, the
    standard deviation of a healthy plant's ratio that day being the largest of

    - the neighbourhood's spread: how far its peers' :data:`PEER_LOW_QUANTILE` quantile lies
      below 1, in normal quantiles (wide under a broken cloud field or an overcast sky);
    - the plant's own day-to-day scatter against its peers before the run (robust: the median
      absolute day-to-day change ÷ 0.6745 ÷ √2), when it has :data:`OWN_SCATTER_MIN_DAYS` such
      days (a plant under a sky of its own, whose expectation often misses);
    - :data:`DAY_RATIO_SIGMA_MIN`.

    Parameters
    ----------
    ratio : numpy.ndarray
        (n,) the run's daily ratios, all finite. [1]
    peer_low : numpy.ndarray
        (n,) the peers' low quantile on the same days, NaN where unknown. [1]
    history : numpy.ndarray
        The plant's daily ratios before the run, finite. [1]

    Returns
    -------
    float
        Weighted mean deficit over its standard error. [1]
    """
    spread = np.where(
        np.isfinite(peer_low), (1.0 - peer_low) / NormalDist().inv_cdf(1.0 - PEER_LOW_QUANTILE), 0.0
    )
    own = 0.0
    if len(history) >= OWN_SCATTER_MIN_DAYS:
        own = float(np.median(np.abs(np.diff(history)))) / 0.6745 / np.sqrt(2.0)
    sigma = np.maximum(np.maximum(spread, own), DAY_RATIO_SIGMA_MIN)
    w = 1.0 / sigma**2
    return float(np.sum(w * (1.0 - ratio)) / np.sqrt(np.sum(w)))


def yoy_rate(pi_daily: pd.Series) -> float:
    """Year-on-year degradation rate of a daily index (Jordan et al. 2018): the median of
    ``pi[d] / pi[d − 365 days] − 1`` over every day with a pair. [1/year]; NaN if none."""
    s = pi_daily.dropna()
    if s.empty:
        return float("nan")
    back = s.reindex(pd.DatetimeIndex(s.index) - pd.Timedelta(days=365))
    rate = s.to_numpy() / back.to_numpy() - 1.0
    rate = rate[np.isfinite(rate)]
    return float(np.median(rate)) if len(rate) else float("nan")


def _median_slope(x: np.ndarray, y: np.ndarray) -> float:
    """The Theil–Sen slope alone (the median of the pairwise slopes, as
    ``scipy.stats.theilslopes``), without scipy's intervals: a cheap first test."""
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    return float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else float("nan")


def _theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    from scipy.stats import theilslopes

    slope, intercept, low, high = theilslopes(y, x, alpha=0.95)
    return float(slope), float(intercept), float(low), float(high)


def _step_beats_line(y: np.ndarray, x: np.ndarray, slope: float, intercept: float) -> bool:
    """Whether two levels fit ``y`` better than the line (a step fault, not soiling)."""
    line_sse = float(np.sum((y - (intercept + slope * x)) ** 2))
    best = np.inf
    for k in range(2, len(y) - 1):
        a, b = y[:k], y[k:]
        best = min(best, float(np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2)))
    return best < line_sse


class _Plant:
    """One plant's arrays, cut out of the context once."""

    def __init__(
        self,
        ctx: Context,
        i: int,
        local: pd.DatetimeIndex,
        day: np.ndarray,
        peer_low: np.ndarray | None = None,
        company: np.ndarray | None = None,
    ) -> None:
        #: (n_days,) the peers' low daily ratio (:func:`peer_low_ratio`), NaN where unknown
        self.peer_low = np.full(int(day.max()) + 1, np.nan) if peer_low is None else peer_low
        #: (n_days,) peers as low as the plant that day (:func:`peer_company`), -1: unknown
        self.company = np.zeros(int(day.max()) + 1, np.int64) if company is None else company
        h, e = ctx.hourly, ctx.expectation
        self.i = i
        self.pid = h.plant_ids[i]
        self.labels = h.labels
        self.local = local
        self.day = day
        self.power_w = h.ac_power_w[i]
        self.expected_w = np.nan_to_num(e.expected_w[i], nan=0.0)
        self.from_peers = e.from_peers[i]
        self.peers_reporting = e.peers_reporting[i]
        self.sky_index = e.sky_index[i]
        self.gaps = ctx.gaps[i]
        self.rating_w = float(ctx.rating_w[i])
        self.alarm = h.alarm_code[i]
        self.dc_w = None if h.dc_power_w is None else h.dc_power_w[i]
        self.excluded = ctx.cut[i] | (self.gaps == GRID_CUT)
        self.daylight = self.expected_w >= DAYLIGHT_SHARE * self.rating_w
        self.clear_sky_w = e.clear_sky_w[i]
        #: the sun is up whatever the clouds (an alarm counts under a grey sky too)
        self.sun = self.clear_sky_w >= DAYLIGHT_SHARE * self.rating_w
        self.reported = h.readings[i] > 0
        self.valid = (
            (h.readings[i] > 0) & ~self.excluded & self.daylight & np.isfinite(self.power_w)
        )
        peers = ctx.peers.index[i]
        self.peer_ids = [ctx.hourly.plant_ids[j] for j in peers[peers >= 0]]
        self.until = ctx.until

    def start_of(self, t: int) -> pd.Timestamp:
        return self.labels[t] - pd.Timedelta(hours=1)

    def per_day(self, lost_wh: float, t: int) -> float:
        days = max(1.0, (self.until - self.start_of(t)) / pd.Timedelta(days=1))
        return round(lost_wh / 1000.0 / days, 2)

    def confidence(self, hours: np.ndarray) -> float:
        n = int(hours.sum())
        if n == 0:
            return 0.5
        peer_share = float(np.mean(np.where(self.from_peers[hours], 1.0, 0.3)))
        return round(min(0.99, 0.5 + 0.45 * min(1.0, n / FULL_EVIDENCE_HOURS) * peer_share), 2)

    def peers_text(self, hours: np.ndarray) -> str:
        """Whom the plant was judged against in ``hours``: its peers, the wider peers of the
        fallback, or the climate default."""
        if not self.from_peers[hours].any():
            return "too few peers: the climate default"
        if len(self.peer_ids) < MIN_PEERS:  # the fallback's plants within FALLBACK_RADIUS_KM
            n = int(self.peers_reporting[hours & self.from_peers].max())
            return f"{count(n, 'peer')} ≤ {FALLBACK_RADIUS_KM:g} km"
        names = ", ".join(self.peer_ids[:3]) + (" …" if len(self.peer_ids) > 3 else "")
        return f"{len(self.peer_ids)} peers ≤ {PEER_RADIUS_KM:g} km ({names})"

    def hours_text(self, hours: np.ndarray) -> str:
        lh = self.local.hour.to_numpy()[hours]
        days = pd.Index(self.local.normalize()[hours]).unique()
        span = f"{days[0]:%m-%d}" + (f"…{days[-1]:%m-%d}" if len(days) > 1 else "")
        return f"{int(hours.sum())} h, {lh.min():02d}–{lh.max() + 1:02d} h local, {span}"

    def row(self, finding: str, t: int, lost_wh: float, conf: float, evidence: str) -> dict:
        return {
            "plant_id": self.pid,
            "finding": finding,
            "start": self.start_of(t),
            "lost_kwh_per_day": 0.0 if finding == "comms_loss" else self.per_day(lost_wh, t),
            "confidence": conf,
            "evidence": evidence,
        }


def _plant_findings(p: _Plant) -> list[dict]:
    out: list[dict] = []
    E, P = p.expected_w, p.power_w
    # offline
    off = (p.gaps == OFFLINE) & p.daylight
    if off.sum() >= OFFLINE_MIN_HOURS:
        t = int(np.flatnonzero(off)[0])
        out.append(
            p.row(
                "offline",
                t,
                float(E[off].sum()),
                p.confidence(off),
                f"silent {p.hours_text(off)}; no cut scheduled; {p.peers_text(off)} report"
                if p.from_peers[off].any()
                else f"silent {p.hours_text(off)}; no cut scheduled, too few peers to see "
                "one (the climate default)",
            )
        )
    # comms loss
    comms = ((p.gaps == COMMS_LOSS) | (p.gaps == LATE)) & p.daylight
    if comms.sum() >= COMMS_MIN_HOURS:
        t = int(np.flatnonzero(comms)[0])
        late = int(((p.gaps == LATE) & p.daylight).sum())
        what = f"{late} h arrived late, " if late else ""
        out.append(
            p.row(
                "comms_loss",
                t,
                0.0,
                p.confidence(comms),
                f"{what}counter ran on through silence; {p.hours_text(comms)}",
            )
        )
    # inverter fault. An alarm counts in any reported hour with the sun up: under a grey sky
    # (expectation below the daylight share) and in an hour partly cut (a reading came, so the
    # grid was up when it was taken).
    alarm = p.reported & p.sun & (p.gaps != GRID_CUT) & np.isfinite(P) & (p.alarm != 0)
    zero = (
        p.valid
        & (np.nan_to_num(P, nan=0.0) <= max(20.0, ZERO_POWER_SHARE * p.rating_w))
        & (PRODUCING_SHARE * p.rating_w <= E)
        & p.from_peers
    )
    inv = alarm | zero
    if zero.sum() >= INVERTER_MIN_HOURS or alarm.sum() >= INVERTER_ALARM_MIN_HOURS:
        t = int(np.flatnonzero(inv)[0])
        codes = sorted({int(c) for c in p.alarm[alarm]})
        why = f"alarm {', '.join(map(str, codes))}; " if codes else ""
        conf = 0.95 if codes else p.confidence(inv)
        out.append(
            p.row(
                "inverter_fault",
                t,
                float(np.clip(E - np.nan_to_num(P), 0, None)[inv & p.valid].sum()),
                conf,
                f"{why}0 W in {p.hours_text(inv)} while {p.peers_text(inv)} produce"
                if not codes
                else f"{why}{p.hours_text(inv)}",
            )
        )
    perf = p.valid & ~inv  # hours left for the slower findings
    adjusted = np.nan_to_num(P, nan=0.0).copy()
    # string fault
    if p.dc_w is not None and p.dc_w.shape[0] >= 2:
        dc = p.dc_w
        total = np.nansum(dc, axis=0)
        n_in = np.isfinite(dc).sum(axis=0)
        hours = perf & (n_in >= 2) & (total >= DAYLIGHT_SHARE * p.rating_w)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = dc / total * n_in  # 1 = the input's equal rated share
        weak_in = np.argmin(np.where(np.isfinite(share), share, np.inf), axis=0)
        weak_share = np.take_along_axis(share, weak_in[None, :], axis=0)[0]
        weak = hours & (weak_share < STRING_SHARE)
        first = onset(weak[hours]) if hours.any() else None
        if first is not None and weak.sum() >= STRING_MIN_HOURS:
            t = int(np.flatnonzero(hours)[first])
            weak &= np.arange(len(weak)) >= t
            w = dc[weak_in, np.arange(dc.shape[1])]
            others = (total - w) / np.maximum(n_in - 1, 1)
            missing_w = np.where(weak, np.clip(others - w, 0, None) * _INVERTER_EFFICIENCY, 0.0)
            adjusted += missing_w
            idx = int(np.bincount(weak_in[weak]).argmax()) + 1
            out.append(
                p.row(
                    "string_fault",
                    t,
                    float(missing_w.sum()),
                    p.confidence(weak),
                    f"DC input {idx} at {np.nanmedian(weak_share[weak]) * 100:.0f} % of its "
                    f"share; {p.hours_text(weak)}",
                )
            )
    # shading: deficits recurring at the same local hours on clear days
    lh = p.local.hour.to_numpy()
    shading, shaded_hours = _shading(p, perf, adjusted, lh)
    if shading is not None:
        out.append(shading)
    daily = perf & ~np.isin(lh, shaded_hours)
    # daily performance index
    n_days = int(p.day.max()) + 1
    e_day = np.bincount(p.day[daily], weights=E[daily], minlength=n_days)
    m_day = np.bincount(p.day[daily], weights=adjusted[daily], minlength=n_days)
    n_hours = np.bincount(p.day[daily], minlength=n_days)
    n_peer_hours = np.bincount(p.day[daily & p.from_peers], minlength=n_days)
    cs_day = np.bincount(p.day[daily], weights=p.clear_sky_w[daily], minlength=n_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        day_sky = e_day / cs_day
    ok_day = (
        (n_hours >= 3)
        & (e_day > 0)
        & (n_peer_hours >= DAY_PEER_SHARE * n_hours)
        & (day_sky >= OVERCAST_INDEX)
    )
    pi = np.where(ok_day, m_day / np.where(e_day > 0, e_day, 1.0), np.nan)
    first_hour_of_day = np.array(
        [int(np.flatnonzero(p.day == d)[0]) if (p.day == d).any() else 0 for d in range(n_days)]
    )
    soiled = False
    days_ok = np.flatnonzero(ok_day)
    if len(days_ok) >= SOILING_MIN_DAYS:
        y_all = pi[days_ok]
        starts = [0]
        for k in range(1, len(days_ok)):
            before = y_all[max(0, k - 3) : k]
            if y_all[k] - np.median(before) >= CLEANING_JUMP:
                starts.append(k)
        a = starts[-1]
        x, y = days_ok[a:].astype(float), y_all[a:]
        if len(y) >= SOILING_MIN_DAYS and _median_slope(x, y) <= -SOILING_RATE_MIN:
            slope, intercept, _low, high = _theil_sen(x, y)
            level0 = intercept + slope * x[0]
            fit = intercept + slope * x
            loss_end = 1.0 - fit[-1] / level0 if level0 > 0 else 0.0
            if (
                -SOILING_RATE_MAX <= slope <= -SOILING_RATE_MIN
                and high < 0
                and loss_end >= SOILING_MIN_LOSS
                and not _step_beats_line(y, x, slope, intercept)
            ):
                soiled = True
                d0 = int(days_ok[a])
                lost = float(np.sum(np.clip(1.0 - fit / level0, 0, None) * e_day[days_ok[a:]]))
                hrs = daily & (p.day >= d0)
                reset = " after a cleaning" if len(starts) > 1 else ""
                out.append(
                    p.row(
                        "soiling",
                        first_hour_of_day[d0],
                        lost,
                        p.confidence(hrs),
                        f"{-slope * 100:.1f} %/day against peers over {len(y)} days{reset}, "
                        f"{loss_end * 100:.0f} % lost by the end",
                    )
                )
    # degradation: only with two years of history
    if len(days_ok) and days_ok[-1] - days_ok[0] + 1 >= DEGRADATION_MIN_DAYS:
        dates = pd.DatetimeIndex(
            [p.local[first_hour_of_day[d]].normalize().tz_localize(None) for d in days_ok]
        )
        rate = yoy_rate(pd.Series(pi[days_ok], index=dates))
        if np.isfinite(rate) and rate <= DEGRADATION_RATE_MIN:
            last_year = days_ok[days_ok >= days_ok[-1] - 365]
            lost = float(np.sum(-rate * e_day[last_year]))
            out.append(
                p.row(
                    "degradation",
                    first_hour_of_day[last_year[0]],
                    lost,
                    p.confidence(daily),
                    f"{rate * 100:.1f} %/year against peers (year on year, {len(days_ok)} days)",
                )
            )
    # underperforming: the rest, with its size
    if not soiled and len(days_ok):
        # Low: below the ratio, and below most of the peers' own ratios that day (a healthy
        # plant's day ratio strays as far as its neighbourhood's sky is uneven).
        beyond = ~(p.peer_low[days_ok] <= pi[days_ok])
        low = (pi[days_ok] < UNDERPERFORMING_RATIO) & beyond
        first_low = onset(low)
        n_low = 0 if first_low is None else int(low[first_low:].sum())
        if first_low is not None and n_low >= 1:
            d0 = int(days_ok[first_low])
            sel = days_ok[first_low:]
            lost = float(np.clip(e_day[sel] - m_day[sel], 0, None).sum())
            size = 1.0 - float(m_day[sel].sum() / e_day[sel].sum())
            # A large step (a dead string on a one-input inverter, a broken panel) is worth a
            # visit after one day, when the peers, not the climate, vouch for that day.
            sel_hours = daily & np.isin(p.day, sel)
            vouched = float(p.from_peers[sel_hours].mean()) >= UNDERPERFORMING_FAST_PEERS
            alone = bool((p.company[sel] <= STEP_COMPANY_MAX).all())
            z = loss_z(pi[sel], p.peer_low[sel], pi[days_ok[:first_low]])
            fast = (
                vouched
                and alone
                and z >= UNDERPERFORMING_STEP_Z
                and (
                    size >= UNDERPERFORMING_STEP_SIZE
                    or (
                        size >= UNDERPERFORMING_FAST_SIZE
                        and float(np.nanmin(day_sky[sel])) >= UNDERPERFORMING_FAST_SKY
                    )
                )
            )
            slow = n_low >= UNDERPERFORMING_MIN_DAYS and z >= UNDERPERFORMING_Z
            if size >= 1.0 - UNDERPERFORMING_RATIO and (slow or fast):
                hrs = daily & (p.day >= d0)
                out.append(
                    p.row(
                        "underperforming",
                        first_hour_of_day[d0],
                        lost,
                        p.confidence(hrs),
                        f"{(1 - size) * 100:.0f} % of expected over {len(sel)} days "
                        f"({z:.0f} σ); "
                        f"{p.peers_text(hrs)}",
                    )
                )
    return out


def _shading(
    p: _Plant, perf: np.ndarray, adjusted: np.ndarray, lh: np.ndarray
) -> tuple[dict | None, list[int]]:
    """The shading finding of a plant (or None) and the local hours it claims."""
    E = p.expected_w
    # Clear: the hour's sky index, or the whole day's when the hour is only dimmed (the first
    # and last hours of a clear day, where the clear-sky model and the real low sun part ways).
    n_days = int(p.day.max()) + 1
    day_e = np.bincount(p.day[perf], weights=E[perf], minlength=n_days)
    day_cs = np.bincount(p.day[perf], weights=p.clear_sky_w[perf], minlength=n_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        clear_day = (day_e / day_cs >= CLEAR_SKY_INDEX)[p.day]
    clear = (
        perf
        & p.from_peers
        & ((p.sky_index >= CLEAR_SKY_INDEX) | (clear_day & (p.sky_index >= DIMMED_SKY_INDEX)))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = adjusted / E
    by_hour = {}
    for h in np.unique(lh[clear]):
        r = ratio[clear & (lh == h)]
        if len(r) >= 2:
            by_hour[int(h)] = r
    if not by_hour:
        return None, []
    med = {h: float(np.median(r)) for h, r in by_hour.items()}
    shaded = [
        h
        for h, r in by_hour.items()
        if med[h] < SHADING_RATIO and np.mean(r < SHADING_RATIO + 0.05) >= SHADING_RECUR
    ]
    rest = [r for h, r in by_hour.items() if h not in shaded]
    fine = bool(rest) and float(np.median(np.concatenate(rest))) >= FINE_RATIO
    if not shaded or not fine or len(shaded) > len(by_hour) / 2:
        return None, []
    sh = perf & np.isin(lh, shaded)
    hit = sh & clear & (ratio < SHADING_RATIO)
    t = int(np.flatnonzero(hit)[0]) if hit.any() else int(np.flatnonzero(sh)[0])
    since_t = np.arange(len(E)) >= t
    lost = sum((1 - med[h]) * float(E[perf & (lh == h) & since_t].sum()) for h in shaded)
    days_since = max(1, len(np.unique(p.day[perf & since_t])))
    daily_expected = float(E[perf].sum()) / max(1, len(np.unique(p.day[perf])))
    if lost / days_since < SHADING_MIN_LOSS * daily_expected:
        return None, []  # real but immaterial (an evening chimney): not worth a visit
    pct = np.mean([med[h] for h in shaded]) * 100
    hrs = f"{min(shaded):02d}–{max(shaded) + 1:02d} h local"
    n_clear = len(pd.Index(p.local.normalize()[clear]).unique())
    row = p.row(
        "shading",
        t,
        lost,
        p.confidence(sh & clear),
        f"clear days: {hrs} at {pct:.0f} % of peers ({n_clear} clear days), other hours fine",
    )
    return row, shaded


def _peer_day_ratios(ctx: Context, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n_plants, n_days) each plant's daily ratio (energy over expectation, daylight hours
    reported outside cuts; NaN where none) and (n_plants, MAX_PEERS, n_days) its peers'."""
    h, e = ctx.hourly, ctx.expectation
    expected = np.nan_to_num(e.expected_w, nan=0.0)
    ok = (
        h.reported
        & ~ctx.cut
        & (ctx.gaps != GRID_CUT)
        & np.isfinite(h.ac_power_w)
        & (expected >= DAYLIGHT_SHARE * ctx.rating_w[:, None])
    )
    n_days = int(day.max()) + 1
    onehot = np.zeros((len(day), n_days))
    onehot[np.arange(len(day)), day] = 1.0
    m_day = np.where(ok, h.ac_power_w, 0.0) @ onehot
    e_day = np.where(ok, expected, 0.0) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(e_day > 0, m_day / e_day, np.nan)
    idx = ctx.peers.index
    vals = np.where((idx >= 0)[:, :, None], ratio[np.maximum(idx, 0)], np.nan)
    return ratio, vals


def _low_quantile(vals: np.ndarray) -> np.ndarray:
    n = np.isfinite(vals).sum(axis=1)
    # numpy.nanquantile's linear rule along the peers, vectorised (NaN sort last)
    ranked = np.sort(vals, axis=1)
    pos = PEER_LOW_QUANTILE * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    v_lo = np.take_along_axis(ranked, lo[:, None, :], axis=1)[:, 0, :]
    v_hi = np.take_along_axis(ranked, hi[:, None, :], axis=1)[:, 0, :]
    q = v_lo + (pos - lo) * (v_hi - v_lo)
    return np.where(n >= MIN_PEERS, q, np.nan)


def peer_low_ratio(ctx: Context, day: np.ndarray) -> np.ndarray:
    """(n_plants, n_days) the :data:`PEER_LOW_QUANTILE` quantile of each plant's peers' daily
    ratios (energy over expectation, daylight hours reported outside cuts); NaN where fewer
    than :data:`triage.expected.MIN_PEERS` peers have one.

    A healthy plant whose day ratio is not below most of its peers' is no evidence of a fault:
    the expectation errs that day (a front between the plant and its peers, an overcast sky).
    """
    return _low_quantile(_peer_day_ratios(ctx, day)[1])


def peer_company(ctx: Context, day: np.ndarray) -> np.ndarray:
    """(n_plants, n_days) how many of each plant's peers had a daily ratio below the plant's
    own plus :data:`STEP_COMPANY_MARGIN` (-1 where the plant has no ratio that day).

    A one-day loss that some neighbours share is the sky (a cloud over part of the
    neighbourhood), not the plant: the one-day findings need the plant nearly alone.
    """
    return _company(*_peer_day_ratios(ctx, day))


def _company(ratio: np.ndarray, vals: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        near = (vals < (ratio + STEP_COMPANY_MARGIN)[:, None, :]).sum(axis=1)
    return np.where(np.isfinite(ratio), near, -1)


def detect(ctx: Context) -> pd.DataFrame:
    """All findings of every plant, most kWh lost per day first.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FINDING_COLUMNS`.
    """
    local = (ctx.hourly.labels - pd.Timedelta(minutes=30)).tz_convert(ctx.timezone)
    dates = local.normalize()
    day = np.asarray(pd.factorize(dates)[0], dtype=np.int64)
    ratio, vals = _peer_day_ratios(ctx, day)
    peer_low = _low_quantile(vals)
    company = _company(ratio, vals)
    rows: list[dict] = []
    for i in range(len(ctx.hourly.plant_ids)):
        rows += _plant_findings(_Plant(ctx, i, local, day, peer_low[i], company[i]))
    frame = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    if frame.empty:
        frame["start"] = pd.to_datetime(frame["start"], utc=True)
        return frame
    frame["start"] = pd.to_datetime(frame["start"], utc=True).dt.tz_convert("UTC")
    return frame.sort_values(
        ["lost_kwh_per_day", "confidence", "plant_id"], ascending=[False, False, True]
    ).reset_index(drop=True)
