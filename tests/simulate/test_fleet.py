"""The fleet runner: summary figures, calendars, hourly output, and the Dask split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulate.distributed import run_fleet_dask
from simulate.fleet import GREGORIAN_MONTHS, HIJRI_MONTHS, run_fleet
from simulate.weather import read_weather
from telemetry.registry import load_sample_fleet, parse_fleet

TMY3 = pytest.importorskip("pvlib").__path__[0] + "/data/723170TYA.CSV"


@pytest.fixture(scope="module")
def sample_run():
    return run_fleet(load_sample_fleet(), hourly=True)


def test_summary_figures_are_consistent(sample_run) -> None:
    s = sample_run.summary
    assert len(s) == 39
    greg = s[[f"ac_energy_kwh_{m}" for m in GREGORIAN_MONTHS]].sum(axis=1)
    hijri = s[[f"ac_energy_kwh_{m}" for m in HIJRI_MONTHS]].sum(axis=1)
    np.testing.assert_allclose(greg, s.ac_energy_kwh, rtol=1e-9)
    np.testing.assert_allclose(hijri, s.ac_energy_kwh, rtol=1e-9)
    np.testing.assert_allclose(s.specific_yield_kwh_per_kwp, s.ac_energy_kwh / s.dc_kwp)
    np.testing.assert_allclose(s.capacity_factor_pct, 100 * s.ac_energy_kwh / (s.ac_kw * 8760))
    assert ((s.performance_ratio > 0.6) & (s.performance_ratio < 0.9)).all()
    assert (s.peak_ac_power_w <= s.ac_kw * 1000 + 1e-6).all()
    # The hourly matrix integrates to the annual energy, and to the daily bins.
    assert sample_run.ac_power_w is not None
    np.testing.assert_allclose(sample_run.ac_power_w.sum(axis=1) / 1000, s.ac_energy_kwh)
    np.testing.assert_allclose(sample_run.daily_ac_energy_kwh.sum(axis=1), s.ac_energy_kwh)
    np.testing.assert_allclose(sample_run.hour_of_day_ac_energy_kwh.sum(axis=1), s.ac_energy_kwh)


def test_solar_hijri_months_follow_the_calendar(sample_run) -> None:
    # Farvardin starts at the March equinox (1990-03-21): its energy is that of 31 days from
    # then, in local (Tehran) dates.
    days = sample_run.days
    farvardin = (days >= pd.Timestamp("1990-03-21")) & (days <= pd.Timestamp("1990-04-20"))
    expected = sample_run.daily_ac_energy_kwh[:, farvardin].sum(axis=1)
    np.testing.assert_allclose(sample_run.summary.ac_energy_kwh_farvardin, expected)


def test_nights_are_dark_in_local_hours(sample_run) -> None:
    by_hour = sample_run.hour_of_day_ac_energy_kwh
    assert np.all(by_hour[:, [0, 1, 2, 3, 22, 23]] == 0)
    assert np.all(by_hour[:, 12] > 0)


def test_one_weather_file_for_all(tmp_path) -> None:
    fleet = parse_fleet(
        "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg\n"
        "A,36.1,-79.9,5,5,30,180\nB,36.1,-79.9,5,2.5,30,180\nC,36.1,-79.9,5,5,0,180\n"
    )
    run = run_fleet(fleet, read_weather(TMY3), timezone="America/New_York")
    s = run.summary.set_index("plant_id")
    assert s.loc["B", "peak_ac_power_w"] == pytest.approx(2500)  # clipped at the AC rating
    assert s.loc["B", "ac_energy_kwh"] < 0.95 * s.loc["A", "ac_energy_kwh"]
    assert s.loc["C", "ac_energy_kwh"] < s.loc["A", "ac_energy_kwh"]  # flat < 30° tilt here
    assert not run.estimate


def test_dask_local_cluster_equals_single_process() -> None:
    fleet = load_sample_fleet()
    weather = read_weather(TMY3)
    single = run_fleet(fleet, weather, hourly=True)
    split = run_fleet_dask(fleet, weather, "local", chunk_plants=8, hourly=True)
    pd.testing.assert_frame_equal(single.summary, split.summary, check_exact=True)
    np.testing.assert_array_equal(single.daily_ac_energy_kwh, split.daily_ac_energy_kwh)
    np.testing.assert_array_equal(single.ac_power_w, split.ac_power_w)
    # The embedded climatology path too (weather generated once, scattered to the workers).
    default = run_fleet(fleet)
    default_split = run_fleet_dask(fleet, None, "local", chunk_plants=10)
    pd.testing.assert_frame_equal(default.summary, default_split.summary, check_exact=True)
    assert default_split.estimate


def test_dask_unreachable_scheduler_is_a_service_error() -> None:
    from telemetry.errors import InputError, ServiceError

    with pytest.raises(ServiceError, match="Dask scheduler"):
        run_fleet_dask(load_sample_fleet().subset(0, 2), read_weather(TMY3), "tcp://127.0.0.1:9")
    with pytest.raises(InputError, match="tcp://"):
        run_fleet_dask(load_sample_fleet().subset(0, 2), read_weather(TMY3), "scheduler")
