"""Silent plant-hours explained: grid cut, comms loss, or the plant offline.

Every daylight plant-hour without a reading gets one class (:func:`classify_gaps`), in this
order:

1. ``grid_cut``: the plant's ``outage_zone`` is cut in the schedule for at least half the hour
   (:func:`cut_mask`), or — no schedule needed — at least :data:`NEIGHBOURHOOD_SILENT_SHARE` of
   its peers, or of the other plants of its ``outage_zone`` (at least ``MIN_PEERS`` of either),
   are silent in the same hour (:func:`inferred_cut_mask`): a neighbourhood or a feeder that
   goes quiet at once is the grid (or the mobile network), not each plant. Cuts go by feeder
   zone, so a cut silences a third of a city's peers but most of its zone. An hour in which no
   plant of the fleet (of more than ``MIN_PEERS``) reported is a cut for every silent plant, one
   with too few peers to judge by included;
2. ``comms_loss``: the lifetime energy counter advanced across the gap (by at least
   :data:`COUNTER_ADVANCE_SHARE` of the energy expected in the gap's daylight, and at least
   :data:`COUNTER_ADVANCE_MIN_WH`, beyond a reading interval's energy at the power on each
   side, which a plant stopping between two readings also adds): the plant produced, the
   link did not carry it;
3. ``grid_cut`` again, the plant's own: a gap of at most :data:`OWN_CUT_MAX_HOURS` daylight
   hours after which the plant reports again with its counter where it was — gateway and
   inverter stopped together, and together came back: the house lost its grid (a feeder's
   2-hour block nobody scheduled, with too few peers to show it; a grid-tied inverter cannot
   run without the grid, and the home's internet goes down with the power). A dead gateway
   comes back with the counter advanced (rule 2); a plant that stays silent, or is silent
   for longer than any cut block, is rule 4's. A gap open at the window's start (no counter
   before it) after which the plant reports again is a cut if short, else ``comms_loss``
   (the plant came back by itself): not offline;
4. ``offline``: peers report, the grid is up, nothing arrives and the counter (if it ever
   comes back) did not move.

Reported hours whose readings reached the database more than :data:`LATE_S` after the hour
(``stored_at``: a gateway's batch uploaded later) are ``late``: comms loss with the data
recovered. Night-time silence is not classed (``NIGHT``).

Cut hours are never a fault nor the plant's lost production: their expected energy is the
program's figure (:func:`cut_energy_kwh`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from simulate.outages import Schedule, cut_fractions, plant_zone_index
from triage.expected import MIN_PEERS, Peers
from triage.hourly import HourlyReadings

__all__ = [
    "COMMS_LOSS",
    "COUNTER_ADVANCE_MIN_WH",
    "COUNTER_ADVANCE_SHARE",
    "GAP_NAMES",
    "GRID_CUT",
    "ISLAND_CAP_FACTOR",
    "ISLAND_EXPECTED_FACTOR",
    "ISLAND_FINE_SHARE",
    "ISLAND_RECUR_DAYS",
    "ISLAND_RECUR_SHARE",
    "LATE",
    "LATE_S",
    "NEIGHBOURHOOD_SILENT_SHARE",
    "NIGHT",
    "OFFLINE",
    "OWN_CUT_MAX_HOURS",
    "REPORTED",
    "ZONE_MIN_PLANTS",
    "classify_gaps",
    "cut_energy_kwh",
    "cut_mask",
    "inferred_cut_mask",
    "islanded_mask",
]

REPORTED, GRID_CUT, COMMS_LOSS, OFFLINE, LATE, NIGHT = 0, 1, 2, 3, 4, 5
#: Class codes of :func:`classify_gaps` → names.
GAP_NAMES = {
    REPORTED: "reported",
    GRID_CUT: "grid_cut",
    COMMS_LOSS: "comms_loss",
    OFFLINE: "offline",
    LATE: "late",
    NIGHT: "night",
}
#: Share of a plant's peers silent in the same hour that makes its silence a (grid) cut.
NEIGHBOURHOOD_SILENT_SHARE = 0.6
#: The outage-zone rule of :func:`inferred_cut_mask` needs at least this many other plants of
#: the zone that a cut silences (a feeder is a stronger hint than distance, so fewer suffice).
ZONE_MIN_PLANTS = 3
#: A counter advance of at least this share of the gap's expected energy means comms loss.
COUNTER_ADVANCE_SHARE = 0.2
#: ... and at least this much. [Wh]
COUNTER_ADVANCE_MIN_WH = 20.0
#: Readings stored more than this after their hour arrived late (a batch). [s]
LATE_S = 3600.0
#: Longest daylight gap, flat counter and the plant back after it, taken for the house's own
#: power cut rather than the plant offline: two of the grid's 2-hour rotating blocks back to
#: back (Tavanir's load-shedding blocks are 2 h by zone or feeder, two a day in summer 2025 and
#: one a day in winter 2024–25; the project's domain notes, 2026). [h]
OWN_CUT_MAX_HOURS = 4
#: A hybrid plant's output held at most this many times its essential load
#: (``essential_load_w``) is the plant serving its house off the grid (:func:`islanded_mask`) ...
ISLAND_CAP_FACTOR = 1.3
#: ... while its expectation is at least this many times that cap (a third of the production
#: withheld at least: a small plant under a large house load shows its cut too).
ISLAND_EXPECTED_FACTOR = 1.5
#: ... between hours at least this share of their expectation (within 3 hours, past the
#: partly cut one) ...
ISLAND_FINE_SHARE = 0.85
#: ... unless it recurs at the same local hour on this many days or more ...
ISLAND_RECUR_DAYS = 3
#: ... and on at least this share of the days that hour could show it (a fixed obstacle
#: shades the same hours on every clear day; a feeder's cut blocks rotate through the day's
#: slots, so a cut comes back to an hour on a fraction of the days).
ISLAND_RECUR_SHARE = 0.6


def cut_mask(
    schedule: Schedule | None,
    outage_zone: Sequence[str] | np.ndarray,
    labels: pd.DatetimeIndex,
    min_share: float = 0.5,
) -> np.ndarray:
    """(n_plants, n_hours) bool: the plant's zone is cut for at least ``min_share`` of the
    hour (an unzoned schedule cuts every plant; no schedule: nothing)."""
    n_p = len(outage_zone)
    if schedule is None or len(schedule) == 0:
        return np.zeros((n_p, len(labels)), bool)
    cuts = cut_fractions(schedule, labels, 1.0)
    row = plant_zone_index(cuts, outage_zone)
    frac = np.where((row >= 0)[:, None], cuts.fraction[np.maximum(row, 0)], 0.0)
    return frac >= min_share


def _usual_readings(counts: np.ndarray) -> np.ndarray:
    """(n_plants,) each plant's median readings in an hour it reported (0 if it never did)."""
    return np.array(
        [np.median(r[r > 0]) if (r > 0).any() else 0.0 for r in np.asarray(counts)], dtype=float
    )


def inferred_cut_mask(
    readings: np.ndarray,
    outage_zone: Sequence[str] | np.ndarray,
    peers: Peers,
    *,
    hybrid: np.ndarray | None = None,
    min_peers: int = MIN_PEERS,
) -> np.ndarray:
    """(n_plants, n_hours) bool: hours in which the plant's outage zone or its neighbourhood
    went quiet at once — a cut nobody scheduled. True for every plant of the zone (or
    neighbourhood), reporting or not: a hybrid plant keeps reporting through a cut, capped at
    the household's load, and that is not its fault either.

    A plant-hour is *quiet* when it has at most half the plant's usual readings per hour (a
    cut starting at half past silences half an hour, as :func:`cut_mask` counts an hour cut
    from half of it). Only plants a cut silences are counted: not the ``hybrid`` ones, whose
    gateways run on the battery. The zone is quiet when at least
    :data:`NEIGHBOURHOOD_SILENT_SHARE` of the *other* such plants of its ``outage_zone`` (at
    least :data:`ZONE_MIN_PLANTS` of them) are quiet; the neighbourhood, when that share of its
    such peers (at least ``min_peers``) is. Quiet at night too: gateways report at night (0 W).
    A plant a cut would silence that reports as usual in that hour is never in it (its grid was
    up: the quiet feeder was a neighbour's).
    """
    counts = np.asarray(readings)
    n_p = counts.shape[0]
    usual = _usual_readings(counts)
    quiet = counts <= 0.5 * usual[:, None]
    witness = np.ones(n_p, bool) if hybrid is None else ~np.asarray(hybrid, bool)
    out = np.zeros(counts.shape, bool)
    zone = np.asarray(["" if z is None else str(z) for z in outage_zone], dtype=object)
    codes, names = pd.factorize(pd.Index(zone))
    for c, name in enumerate(names):
        if name in ("", "nan"):
            continue
        rows = np.flatnonzero(codes == c)
        w = rows[witness[rows]]
        n_quiet = quiet[w].sum(axis=0)
        # each member's share among the other witnesses (itself left out)
        others = len(w) - witness[rows].astype(int)
        mine = np.where(witness[rows, None], quiet[rows], False)
        share = (n_quiet[None, :] - mine) / np.maximum(others, 1)[:, None]
        out[rows] |= (others >= ZONE_MIN_PLANTS)[:, None] & (share >= NEIGHBOURHOOD_SILENT_SHARE)
    idx = peers.index
    has = (idx >= 0) & witness[np.maximum(idx, 0)]
    n_peers = has.sum(axis=1)
    ok = n_peers >= min_peers
    if ok.any():
        peer_quiet = np.where(has[:, :, None], quiet[np.maximum(idx, 0)], False)
        share = peer_quiet.sum(axis=1) / np.maximum(n_peers, 1)[:, None]
        out |= ok[:, None] & (share >= NEIGHBOURHOOD_SILENT_SHARE)
    # A plant that a cut silences and that reports as usual is not in the cut, whatever its
    # neighbours do: its gateway had power, so its grid was up (a feeder next door was cut).
    return out & (quiet | ~witness[:, None])


def islanded_mask(
    ac_power_w: np.ndarray,
    expected_w: np.ndarray,
    daylight: np.ndarray,
    hybrid: np.ndarray,
    load_w: np.ndarray,
    local_hour: np.ndarray,
) -> np.ndarray:
    """(n_plants, n_hours) bool: hours a hybrid plant spent islanded — its house's cut, seen
    in its own readings when no schedule or silent neighbourhood shows it.

    Through a cut a hybrid inverter keeps its gateway up and serves only the house: its AC
    output falls to the house's load whatever the sun. An hour is islanded when the output is
    at most :data:`ISLAND_CAP_FACTOR` × ``load_w`` while the expectation is at least
    :data:`ISLAND_EXPECTED_FACTOR` times that, in a run of at most
    :data:`OWN_CUT_MAX_HOURS` such hours (a cut block or two) with an hour of at least
    :data:`ISLAND_FINE_SHARE` of its expectation within three hours on either side past the
    next one (a cut interrupts a plant working as expected; a dead string or a failing
    inverter is low all day), together with the hour on each side below 90 % of its
    expectation (a cut from half past). Hours at a local hour that is
    held on :data:`ISLAND_RECUR_DAYS` days or more and on :data:`ISLAND_RECUR_SHARE` of the
    days it could be are left out: a fixed obstacle shades the same hours every clear day, a
    feeder's cut blocks rotate.

    Parameters
    ----------
    ac_power_w, expected_w : numpy.ndarray
        (n_plants, n_hours) measured hourly mean and expected power. [W]
    daylight : numpy.ndarray
        (n_plants, n_hours) bool.
    hybrid : numpy.ndarray
        (n_plants,) bool.
    load_w : numpy.ndarray
        (n_plants,) the house's essential load. [W]
    local_hour : numpy.ndarray
        (n_hours,) local hour of day of each hour's start.

    Returns
    -------
    numpy.ndarray
    """
    n_p, n_h = ac_power_w.shape
    out = np.zeros((n_p, n_h), bool)
    rows = np.flatnonzero(np.asarray(hybrid, bool))
    if not len(rows) or not n_h:
        return out
    P = ac_power_w[rows]
    E = np.nan_to_num(expected_w[rows], nan=0.0)
    cap = ISLAND_CAP_FACTOR * np.asarray(load_w, float)[rows, None]
    with np.errstate(invalid="ignore"):
        held = np.isfinite(P) & (cap >= P) & (ISLAND_EXPECTED_FACTOR * cap <= E) & daylight[rows]
        low = np.isfinite(P) & (P < 0.9 * E) & daylight[rows]
    # runs of held hours: label each run, keep those of at most OWN_CUT_MAX_HOURS
    edge = np.diff(np.concatenate([np.zeros((len(rows), 1), bool), held], axis=1).astype(np.int8))
    run_id = np.cumsum(edge == 1, axis=1) * held
    # ... and fine beside: a cut interrupts a plant that produced as expected before or after
    # it (past the partly cut hour); a dead string or a failing inverter is low all day
    with np.errstate(invalid="ignore"):
        fine = np.isfinite(P) & (P >= ISLAND_FINE_SHARE * E) & (E > 0)
    keep = np.zeros_like(held)
    for r in range(len(rows)):
        ids, counts = np.unique(run_id[r][run_id[r] > 0], return_counts=True)
        for run in ids[counts <= OWN_CUT_MAX_HOURS]:
            at = np.flatnonzero(run_id[r] == run)
            a, b = int(at[0]), int(at[-1])
            side = np.r_[fine[r, max(0, a - 4) : max(0, a - 1)], fine[r, b + 2 : b + 5]]
            if side.any():
                keep[r, at] = True
    # not at local hours that recur (shading)
    hours = np.asarray(local_hour, np.int64) % 24
    could = np.isfinite(P) & (ISLAND_EXPECTED_FACTOR * cap <= E) & daylight[rows]
    per_hour = np.stack([np.bincount(hours[k], minlength=24) for k in keep])
    chances = np.stack([np.bincount(hours[c], minlength=24) for c in could])
    recurring = (per_hour >= ISLAND_RECUR_DAYS) & (per_hour >= ISLAND_RECUR_SHARE * chances)
    keep &= ~recurring[:, hours]
    # the partly cut hour on each side
    before = np.zeros_like(keep)
    before[:, :-1] = keep[:, 1:]
    after = np.zeros_like(keep)
    after[:, 1:] = keep[:, :-1]
    out[rows] = keep | ((before | after) & low)
    return out


def _runs(reported: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every hour, the last reported hour before it and the first after it (-1 / n if
    none), per plant."""
    n_p, n_h = reported.shape
    idx = np.broadcast_to(np.arange(n_h), (n_p, n_h))
    before = pd.DataFrame(np.where(reported, idx, np.nan).T).ffill().shift(1).to_numpy().T
    after = pd.DataFrame(np.where(reported, idx, np.nan).T).bfill().shift(-1).to_numpy().T
    # shift() moved the neighbours' own hour in; for a silent hour the previous reported hour
    # is the ffill of the hour before, which is what shift gives.
    before = np.where(np.isnan(before), -1, before).astype(np.int64)
    after = np.where(np.isnan(after), n_h, after).astype(np.int64)
    return before, after


def classify_gaps(
    hourly: HourlyReadings,
    expected_w: np.ndarray,
    daylight: np.ndarray,
    cut: np.ndarray,
    peers: Peers,
    *,
    min_peers: int = MIN_PEERS,
) -> np.ndarray:
    """Class of every plant-hour (codes :data:`GAP_NAMES`; see the module docstring).

    Parameters
    ----------
    hourly : HourlyReadings
    expected_w : numpy.ndarray
        (n_plants, n_hours) expected power (:mod:`triage.expected`). [W]
    daylight : numpy.ndarray
        (n_plants, n_hours) bool: hours in which the plant should produce.
    cut : numpy.ndarray
        (n_plants, n_hours) bool: scheduled cuts (:func:`cut_mask`).
    peers : Peers
    min_peers : int

    Returns
    -------
    numpy.ndarray
        (n_plants, n_hours) int8.
    """
    reported = hourly.reported
    n_p, n_h = reported.shape
    out = np.full((n_p, n_h), REPORTED, dtype=np.int8)
    silent = ~reported
    out[silent & ~daylight] = NIGHT
    if hourly.late_s is not None:
        out[reported & (np.nan_to_num(hourly.late_s, nan=0.0) > LATE_S)] = LATE
    todo = silent & daylight
    # 1. the grid: the schedule, or the neighbourhood silent at once
    idx = peers.index
    has = idx >= 0
    peer_silent = np.where(has[:, :, None], silent[np.maximum(idx, 0)], False)  # (n_p, K, n_h)
    n_peers = has.sum(axis=1)[:, None]
    share = peer_silent.sum(axis=1) / np.maximum(n_peers, 1)
    hood = (n_peers >= min_peers) & (share >= NEIGHBOURHOOD_SILENT_SHARE)
    # The whole fleet silent at once is the grid or the data path, not every plant broken at
    # once: that holds for a plant with too few peers to judge by its neighbourhood too.
    fleet_silent = (n_p > min_peers) & ~reported.any(axis=0)
    grid = todo & (cut | hood | fleet_silent[None, :])
    out[grid] = GRID_CUT
    todo &= ~grid
    if not todo.any():
        return out
    # 2. the counter across the gap
    before, after = _runs(reported)
    rows = np.arange(n_p)[:, None]
    last_wh = hourly.energy_last_wh[rows, np.clip(before, 0, n_h - 1)]
    first_wh = hourly.energy_first_wh[rows, np.clip(after, 0, n_h - 1)]
    last_wh = np.where(before >= 0, last_wh, np.nan)
    first_wh = np.where(after < n_h, first_wh, np.nan)
    advance_wh = first_wh - last_wh
    e_wh = np.where(daylight & silent, np.nan_to_num(expected_w, nan=0.0), 0.0)
    cum = np.concatenate([np.zeros((n_p, 1)), np.cumsum(e_wh, axis=1)], axis=1)
    gap_expected_wh = cum[rows, np.clip(after, 0, n_h)] - cum[rows, np.clip(before + 1, 0, n_h)]
    # The counter also moves by the energy between the last reading and the moment the plant
    # stopped, and between its restart and the first reading after: up to a reading interval
    # at the power on each side. That much is no sign of production through the gap.
    step_h = 1.0 / np.maximum(_usual_readings(hourly.readings), 1.0)
    p_before = np.nan_to_num(hourly.ac_power_w[rows, np.clip(before, 0, n_h - 1)], nan=0.0)
    p_after = np.nan_to_num(hourly.ac_power_w[rows, np.clip(after, 0, n_h - 1)], nan=0.0)
    edges_wh = (np.maximum(p_before, 0.0) + np.maximum(p_after, 0.0)) * step_h[:, None]
    net_wh = advance_wh - edges_wh
    with np.errstate(invalid="ignore"):
        advanced = (net_wh >= COUNTER_ADVANCE_MIN_WH) & (
            net_wh >= COUNTER_ADVANCE_SHARE * gap_expected_wh
        )
    out[todo & advanced] = COMMS_LOSS
    todo &= ~advanced
    # 3. the house's own cut: a short daylight gap, back with the counter where it was
    dark = np.concatenate([np.zeros((n_p, 1)), np.cumsum(silent & daylight, axis=1)], axis=1)
    gap_hours = dark[rows, np.clip(after, 0, n_h)] - dark[rows, np.clip(before + 1, 0, n_h)]
    own_cut = todo & np.isfinite(advance_wh) & (gap_hours <= OWN_CUT_MAX_HOURS)
    # A gap open at the window's start has no counter before it: if the plant reports again,
    # a short one is taken for a cut and a longer one for the link (it came back by itself,
    # as a dead gateway does, and is not offline now) — never offline for good.
    unknown = todo & (before < 0) & (after < n_h) & np.isnan(last_wh)
    own_cut |= unknown & (gap_hours <= OWN_CUT_MAX_HOURS)
    out[own_cut] = GRID_CUT
    back = unknown & ~own_cut
    out[back] = COMMS_LOSS
    out[todo & ~own_cut & ~back] = OFFLINE
    return out


def cut_energy_kwh(expected_w: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """(n_plants,) energy the cuts kept the plants from producing: the expected energy of the
    cut hours (the program's figure, never the plant's loss). [kWh]"""
    return np.where(cut, np.nan_to_num(expected_w, nan=0.0), 0.0).sum(axis=1) / 1000.0
