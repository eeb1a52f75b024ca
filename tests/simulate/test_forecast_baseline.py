"""The forecast baselines: clear sky × the climate's monthly sky index, and persistence of the
sky the fleet saw (from ``plant_expected`` in a real influxd)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulate.clearsky import clear_sky_cells, climate_sky_index_cells
from simulate.fleet import fleet_cells, run_fleet
from simulate.forecast_baseline import baseline_forecast, hour_labels_from, recent_sky_index
from simulate.forecast_run import run_forecast
from telemetry.errors import InputError
from telemetry.influx import InfluxStore
from telemetry.lineprotocol import format_point
from telemetry.registry import Fleet, load_sample_fleet


def _tehran() -> Fleet:
    p = load_sample_fleet().plants
    return Fleet(p[p["province"] == "Tehran"].reset_index(drop=True), "sample")


LABELS = hour_labels_from(pd.Timestamp("2026-07-10T00:00+03:30"), 72)


def test_labels_start_on_the_next_hour() -> None:
    labels = hour_labels_from(pd.Timestamp("2026-07-10T08:20Z"), 3)
    assert list(labels) == list(pd.date_range("2026-07-10T09:00Z", periods=3, freq="h"))
    with pytest.raises(InputError, match="--hours"):
        hour_labels_from(pd.Timestamp("2026-07-10T08:20Z"), 0)


def test_climate_baseline_is_clear_sky_times_the_monthly_index() -> None:
    fleet = _tehran()
    fc = baseline_forecast(fleet, LABELS)
    centres, _ = fleet_cells(fleet)
    cs = clear_sky_cells(centres, LABELS)
    k = climate_sky_index_cells(centres, LABELS)
    for c in range(len(centres)):
        np.testing.assert_allclose(fc.data["ghi"][0, c], cs.data[(c, "ghi")].to_numpy() * k[c])
    assert 0.7 < k[0, 0] <= 1.0  # a Tehran July: mostly clear
    # Its energy is close to the climate default's July mean day, plant by plant.
    run = run_forecast(fleet, fc)
    day = run.plant_daily_kwh[0][:, 1]  # 11 July, a whole local day
    typical = run_fleet(fleet, None)
    july = typical.days.month == 7
    mean_july = typical.daily_ac_energy_kwh[:, july].mean(axis=1)
    np.testing.assert_allclose(day, mean_july, rtol=0.12)


def test_persistence_takes_the_cells_median_and_falls_back_to_climate() -> None:
    p = load_sample_fleet().plants
    fleet = Fleet(p[p["province"].isin(["Tehran", "Yazd"])].reset_index(drop=True), "sample")
    centres, index = fleet_cells(fleet)
    tehran_cell = index[fleet.plants["province"].eq("Tehran").to_numpy()][0]
    recent = np.full(len(fleet), np.nan)
    in_tehran = index == tehran_cell
    recent[in_tehran] = np.linspace(0.3, 0.5, in_tehran.sum())  # a grey day over Tehran
    fc = baseline_forecast(fleet, LABELS, plant_sky_index=recent)
    cs = clear_sky_cells(centres, LABELS)
    k = climate_sky_index_cells(centres, LABELS)
    for c in range(len(centres)):
        want = np.median(recent[in_tehran]) if c == tehran_cell else k[c]
        np.testing.assert_allclose(fc.data["ghi"][0, c], cs.data[(c, "ghi")].to_numpy() * want)
    assert "persistence" in fc.source


def test_recent_sky_index_from_plant_expected(influxd: object, influx_db: str) -> None:
    fleet = _tehran()
    ids = list(fleet.plants["plant_id"])
    t0 = pd.Timestamp("2026-07-09T06:00Z")
    lines = []
    for h in range(4):
        ns = int((t0 + pd.Timedelta(hours=h)).value)
        # plant 0: 2 kW of 4 kW clear sky; plant 1: no measurement (absent field);
        # plant 2: judged without peers (left out).
        lines.append(
            format_point(
                "plant_expected",
                {"plant_id": ids[0]},
                {"ac_power_w": 2000.0, "clear_sky_ac_power_w": 4000.0, "from_peers": True},
                ns,
            )
        )
        lines.append(
            format_point(
                "plant_expected",
                {"plant_id": ids[1]},
                {"clear_sky_ac_power_w": 4000.0, "from_peers": True},
                ns,
            )
        )
        lines.append(
            format_point(
                "plant_expected",
                {"plant_id": ids[2]},
                {"ac_power_w": 3000.0, "clear_sky_ac_power_w": 4000.0, "from_peers": False},
                ns,
            )
        )
    with InfluxStore(influxd.url, influx_db) as store:  # type: ignore[attr-defined]
        store.write_batches(lines)
        k = recent_sky_index(store, fleet, t0, t0 + pd.Timedelta(hours=24))
    assert k[0] == pytest.approx(0.5)
    assert np.isnan(k[1])
    assert np.isnan(k[2])
