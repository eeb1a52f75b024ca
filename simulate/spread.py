"""P50 / P90 / P10 of annual yield on the climate default: many possible years, not one.

A typical year answers "what is normal"; a program manager presenting a fleet's contribution
also needs "how low can a year be". On the climate default, :func:`yield_spread` simulates the
fleet through ``n_years`` **sampled years**: each day's irradiation drawn at random from its
month's MERRA-2 distribution of daily irradiation near the plant
(:func:`simulate.climatology.default_weather` with ``sample``), the same sample number in every
cell (a grey year is grey across the fleet, the cautious assumption for a fleet total).

Names follow the energy-yield convention: **P90 is the annual energy exceeded in 90 % of years**
(the 10th percentile), P50 the median, P10 the energy exceeded in only 10 % of years.

What it leaves out: days are drawn independently, so weeks-long grey spells and year-to-year
shifts of a whole month (and of dust) are not represented; the spread is that of day-to-day
weather only, a lower bound on the inter-annual variability of annual irradiation (of the order
of 2–5 % in arid climates). It says nothing of degradation, soiling or outages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from telemetry.errors import InputError
from telemetry.registry import Fleet

__all__ = ["DEFAULT_SPREAD_YEARS", "YieldSpread", "yield_spread"]

#: Cell-years generated at once (memory ≈ 0.35 MB each). [-]
_BLOCK_CELL_YEARS = 640
#: Sampled years behind the P-values when none is asked for. 20 years put the P90 between the
#: 2nd and 3rd lowest year. [-]
DEFAULT_SPREAD_YEARS = 20


@dataclass(frozen=True)
class YieldSpread:
    """Annual AC energy over sampled years.

    Attributes
    ----------
    plant_id : numpy.ndarray
        Plant ids, fleet file order.
    energy_kwh : numpy.ndarray
        (n_plants, n_years) annual AC energy of each sampled year [kWh].
    """

    plant_id: np.ndarray
    energy_kwh: np.ndarray

    @property
    def n_years(self) -> int:
        """Number of sampled years."""
        return int(self.energy_kwh.shape[1])

    def plants(self) -> pd.DataFrame:
        """Per plant ``ac_energy_p90_kwh``, ``ac_energy_p50_kwh``, ``ac_energy_p10_kwh`` [kWh]."""
        e = self.energy_kwh
        return pd.DataFrame(
            {
                "plant_id": self.plant_id,
                "ac_energy_p90_kwh": np.percentile(e, 10, axis=1),
                "ac_energy_p50_kwh": np.percentile(e, 50, axis=1),
                "ac_energy_p10_kwh": np.percentile(e, 90, axis=1),
            }
        )

    def fleet_kwh(self) -> dict[str, float]:
        """P90, P50 and P10 of the fleet's total annual AC energy [kWh]."""
        total = self.energy_kwh.sum(axis=0)
        return {
            "p90": float(np.percentile(total, 10)),
            "p50": float(np.percentile(total, 50)),
            "p10": float(np.percentile(total, 90)),
        }


def yield_spread(
    fleet: Fleet,
    n_years: int = DEFAULT_SPREAD_YEARS,
    *,
    transposition: str = "haydavies",
    timezone: str = "Asia/Tehran",
    progress: Callable[[int, int], None] | None = None,
) -> YieldSpread:
    """Simulate a fleet through ``n_years`` sampled years of the climate default.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    n_years : int
        Sampled years, 2–1000. [-]
    transposition : {'haydavies', 'perez'}
    timezone : str
        Zone of the local calendar. [IANA name]
    progress : callable, optional
        Called as ``progress(cells_done, cells_total)`` (weather cells of 0.5°).

    Returns
    -------
    YieldSpread

    Raises
    ------
    InputError
        ``n_years`` out of range, or a plant outside the default's cover.
    """
    from simulate.climatology import sampled_years
    from simulate.fleet import COLUMNS, fleet_cells, run_fleet
    from simulate.weather import Weather

    if isinstance(n_years, bool) or not isinstance(n_years, (int, np.integer)):
        raise InputError(f"the number of sampled years must be an integer, not {n_years!r}")
    if not 2 <= int(n_years) <= 1000:
        raise InputError(f"the number of sampled years must be 2–1000, not {n_years}")
    n = int(n_years)
    centres, cell_of_plant = fleet_cells(fleet)
    energy = np.empty((len(fleet), n))
    done = 0
    # Cells in blocks: each cell's years share one sun computation; a block's frames
    # (cells × years × 8760 h × 5 columns) stay within a few hundred MB.
    block = max(1, _BLOCK_CELL_YEARS // n)
    for first in range(0, len(centres), block):
        cells = np.arange(first, min(first + block, len(centres)))
        years = [sampled_years(lat, lon, list(range(n))) for lat, lon in centres[cells]]
        rows = np.flatnonzero(np.isin(cell_of_plant, cells))
        part = Fleet(fleet.plants.iloc[rows].reset_index(drop=True), fleet.source)
        local = np.searchsorted(cells, cell_of_plant[rows])
        for s in range(n):
            data = pd.concat(
                [frames[s][list(COLUMNS)] for frames in years], axis=1, keys=range(len(cells))
            )
            weather = Weather(data=data, source="sampled year", utc_offset_h=None, estimate=True)
            run = run_fleet(
                part,
                weather,
                weather_index=local,
                transposition=transposition,
                timezone=timezone,
            )
            energy[rows, s] = run.summary["ac_energy_kwh"].to_numpy(float)
        done += len(cells)
        if progress is not None:
            progress(done, len(centres))
    return YieldSpread(plant_id=fleet.plants["plant_id"].to_numpy(), energy_kwh=energy)
