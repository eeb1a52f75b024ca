"""Readings into hours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from triage.hourly import bin_hourly, hour_labels


def test_bins_mean_counter_alarm_and_inverters() -> None:
    labels = hour_labels(pd.Timestamp("2026-07-01T00:00Z"), pd.Timestamp("2026-07-01T03:00Z"))
    assert list(labels.hour) == [1, 2, 3]
    t = pd.to_datetime(
        ["2026-07-01T00:10Z", "2026-07-01T00:40Z", "2026-07-01T02:05Z", "2026-07-01T00:20Z"]
    )
    r = pd.DataFrame(
        {
            "time": [*t[:3], t[3], t[3]],
            "plant_id": ["A", "A", "A", "B", "B"],
            "inverter": ["", "", "", "x", "y"],
            "ac_power_w": [100.0, 300.0, 50.0, 10.0, 20.0],
            "energy_total_wh": [1000.0, 1100.0, 1200.0, 5.0, 7.0],
            "alarm_code": [0, 7, 0, 0, 0],
            "dc1_power_w": [50.0, 150.0, 25.0, 5.0, 10.0],
        }
    )
    h = bin_hourly(r, ["A", "B", "C"], labels)
    assert h.ac_power_w[0, 0] == 200.0
    assert np.isnan(h.ac_power_w[0, 1])
    assert h.readings[0].tolist() == [2, 0, 1]
    assert h.energy_first_wh[0, 0] == 1000.0
    assert h.energy_last_wh[0, 0] == 1100.0
    assert h.alarm_code[0].tolist() == [7, 0, 0]
    assert h.ac_power_w[1, 0] == 30.0  # two gateway inverters add up
    assert h.energy_last_wh[1, 0] == 12.0
    assert not h.reported[2].any()
    assert h.dc_power_w is not None
    assert h.dc_power_w.shape == (3, 1, 3)
