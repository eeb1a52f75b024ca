"""Triage of a fleet over a period: readings → expectation → gaps → findings (no I/O).

:func:`triage_fleet` chains the steps of :mod:`triage.expected`, :mod:`triage.gaps` and
:mod:`triage.findings`; it computes nothing itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulate.load import ESSENTIAL_PEAK_W
from simulate.outages import Schedule, plant_zone_index
from telemetry.registry import Fleet
from triage import expected as ex
from triage.findings import Context, detect
from triage.gaps import (
    GRID_CUT,
    classify_gaps,
    cut_energy_kwh,
    cut_mask,
    inferred_cut_mask,
    islanded_mask,
)
from triage.hourly import HourlyReadings, bin_hourly, hour_labels

__all__ = ["TriageResult", "triage_fleet"]


@dataclass(frozen=True)
class TriageResult:
    """What a triage run found.

    Attributes
    ----------
    findings : pandas.DataFrame
        :data:`triage.findings.FINDING_COLUMNS`, most kWh lost per day first.
    hourly : HourlyReadings
    expectation : triage.expected.Expectation
    gaps : numpy.ndarray
        (n_plants, n_hours) :mod:`triage.gaps` codes.
    cut_kwh : numpy.ndarray
        (n_plants,) energy kept from the grid by cuts (scheduled or inferred): the program's
        figure, not the plants' loss. [kWh]
    """

    findings: pd.DataFrame
    hourly: HourlyReadings
    expectation: ex.Expectation
    gaps: np.ndarray
    cut_kwh: np.ndarray

    @property
    def cut_kwh_total(self) -> float:
        """Fleet energy lost to cuts. [kWh]"""
        return float(self.cut_kwh.sum())


def triage_fleet(
    readings: pd.DataFrame | HourlyReadings,
    fleet: Fleet,
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    schedule: Schedule | None = None,
    timezone: str = "Asia/Tehran",
    clear_sky_w: np.ndarray | None = None,
    climate_index: np.ndarray | None = None,
    progress: Callable[[str], None] | None = None,
) -> TriageResult:
    """Triage every plant of ``fleet`` over ``[since, until)``.

    Parameters
    ----------
    readings : pandas.DataFrame or HourlyReadings
        Readings shaped like the ``inverter`` measurement (:mod:`triage.hourly`), or already
        binned on the fleet's plants and the period's hours.
    fleet : telemetry.registry.Fleet
    since, until : pandas.Timestamp
        tz-aware.
    schedule : simulate.outages.Schedule, optional
        Cuts; plants take theirs by ``outage_zone``.
    timezone : str
        Zone of local hours and days. [IANA name]
    clear_sky_w, climate_index : numpy.ndarray, optional
        (n_plants, n_hours) precomputed :func:`triage.expected.clear_sky_power` and
        :func:`triage.expected.climate_sky_index` (else computed here).
    progress : callable, optional
        Called with the name of each step as it starts.

    Returns
    -------
    TriageResult
    """

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    labels = hour_labels(since, until)
    if isinstance(readings, HourlyReadings):
        hourly = readings
    else:
        step("binning readings")
        hourly = bin_hourly(readings, fleet.plant_ids, labels)
    labels = hourly.labels
    rating_w = 1000.0 * fleet.plants["ac_kw"].to_numpy(float)
    step("clear-sky power")
    if clear_sky_w is None:
        clear_sky_w = ex.clear_sky_power(fleet, labels, timezone=timezone)
    if climate_index is None:
        climate_index = ex.climate_sky_index(fleet, labels)
    peers = ex.peers_of_fleet(fleet)
    zones = fleet.plants["outage_zone"].to_numpy()
    # Scheduled cuts, and the ones nobody scheduled (a zone or neighbourhood silent at once):
    # left out of the peers, of every detector and of the plants' losses.
    hybrid = (fleet.plants["inverter_type"] == "hybrid").to_numpy()
    cut = cut_mask(schedule, zones, labels) | inferred_cut_mask(
        hourly.readings, zones, peers, hybrid=hybrid
    )
    step("expected power from the peers")
    alarm = hourly.alarm_code != 0
    wide_peers = ex.peers_of_fleet(fleet, ex.FALLBACK_RADIUS_KM)

    def expect(excluded: np.ndarray) -> ex.Expectation:
        return ex.fleet_expectation(
            hourly.ac_power_w,
            clear_sky_w,
            climate_index,
            rating_w,
            peers,
            excluded=excluded,
            wide_peers=wide_peers,
        )

    expectation = expect(cut | alarm)
    daylight = clear_sky_w >= ex.CLEAR_SKY_FLOOR * rating_w[:, None]
    # A hybrid's own cut, its output held at its house's load: for the hybrids whose cuts no
    # schedule gives — every one without a schedule; with one, those without an outage_zone
    # and those of a zone its cuts do not name (a schedule without cuts in the window says
    # there were none: a season without cuts is no reason to read a hybrid's low hours as one).
    unknown = np.ones(len(fleet), bool)
    if schedule is not None:
        no_zone = pd.Series(zones).fillna("").astype(str).str.strip().eq("").to_numpy()
        unknown = no_zone | ((plant_zone_index(schedule, zones) < 0) & (len(schedule) > 0))
    hybrid_unknown = hybrid & unknown
    if hybrid_unknown.any():
        load_w = fleet.plants["essential_load_w"].fillna(ESSENTIAL_PEAK_W).to_numpy(float)
        local_hour = (labels - pd.Timedelta(hours=1)).tz_convert(timezone).hour.to_numpy()
        island = (
            islanded_mask(
                hourly.ac_power_w,
                expectation.expected_w,
                daylight,
                hybrid_unknown,
                load_w,
                local_hour,
            )
            & ~cut
        )
        if island.any():
            step("expected power without the islanded hours")
            cut |= island
            expectation = expect(cut | alarm)
    step("gaps")
    gaps = classify_gaps(hourly, expectation.expected_w, daylight, cut, peers)
    step("findings")
    ctx = Context(hourly, expectation, gaps, cut, rating_w, peers, pd.Timestamp(until), timezone)
    findings = detect(ctx)
    cut_kwh = cut_energy_kwh(expectation.expected_w, cut | (gaps == GRID_CUT))
    return TriageResult(findings, hourly, expectation, gaps, cut_kwh)
