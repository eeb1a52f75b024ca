"""Battery sizing search (:func:`simulate.sizing.smallest_battery`) on curves of known shape."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulate.sizing import RESOLUTION_KWH, smallest_battery


def curve_of(threshold_kwh: float, calls: list[np.ndarray]):
    """Coverage rises linearly to 100 % at ``threshold_kwh`` (monotone, like the kernel's)."""

    def curve(sizes: np.ndarray) -> pd.DataFrame:
        calls.append(np.asarray(sizes))
        cov = np.minimum(100.0, 100.0 * np.asarray(sizes, float) / threshold_kwh)
        return pd.DataFrame({"battery_kwh": np.asarray(sizes, float), "coverage_pct": cov})

    return curve


def test_grid_then_bisection_to_the_resolution() -> None:
    calls: list[np.ndarray] = []
    table, smallest = smallest_battery(curve_of(6.0, calls), None, 20.0, 1.0, 90.0)
    assert smallest is not None
    assert abs(smallest - 5.4) < RESOLUTION_KWH + 1e-9  # 90 % of 6 kWh
    assert table["battery_kwh"].is_monotonic_increasing
    assert len(calls) > 2  # the grid, then single sizes


def test_candidates_given_and_targets_not_reached() -> None:
    calls: list[np.ndarray] = []
    sizes = np.array([0.0, 2.4, 4.8, 7.2])
    _, smallest = smallest_battery(curve_of(6.0, calls), sizes, 20.0, 1.0, 90.0)
    assert smallest == 7.2
    assert len(calls) == 1
    _, none = smallest_battery(curve_of(60.0, []), None, 20.0, 1.0, 90.0)
    assert none is None

    def always(sizes: np.ndarray) -> pd.DataFrame:  # the PV alone carries every cut
        return pd.DataFrame({"battery_kwh": sizes, "coverage_pct": np.full(len(sizes), 100.0)})

    _, zero = smallest_battery(always, None, 20.0, 1.0, 90.0)
    assert zero == 0.0
