"""Fleet simulation: registry + weather → kernel → per-plant figures.

This module is the I/O-free orchestration above the numba kernel (:mod:`simulate.kernel`):
it turns a validated :class:`telemetry.registry.Fleet` and a :class:`simulate.weather.Weather`
(or the embedded climatology, one generated typical year per 0.5° cell) into arrays, bins the
hours into local days, calls the kernel chunk by chunk, and reduces the kernel's outputs into
the summary table (annual kWh, specific yield, performance ratio, capacity factor, Gregorian and
Solar Hijri monthly kWh).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from simulate.weather import COLUMNS, Weather
from telemetry.calendar import GREGORIAN_MONTHS, HIJRI_MONTHS, hijri_month_of
from telemetry.errors import InputError
from telemetry.fileio import atomic_path
from telemetry.helptext import count
from telemetry.registry import Fleet

__all__ = [
    "GREGORIAN_MONTHS",
    "HIJRI_MONTHS",
    "FleetRun",
    "default_fleet_weather",
    "fleet_cells",
    "run_fleet",
]

#: Cell size of the embedded default weather [degree]: one generated year per cell.
DEFAULT_WEATHER_CELL_DEG = 0.5


@dataclass(frozen=True)
class FleetRun:
    """Results of one fleet simulation.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per plant (file order): ``plant_id``, ``province``, ``dc_kwp``, ``ac_kw``,
        ``ac_energy_kwh``, ``specific_yield_kwh_per_kwp``, ``performance_ratio``,
        ``capacity_factor_pct`` (AC rating), ``peak_ac_power_w``, ``poa_insolation_kwh_m2``,
        ``ac_energy_kwh_<month>`` for the 12 Gregorian and the 12 Solar Hijri months.
    days : pandas.DatetimeIndex
        Local dates of the daily bins (naive dates in ``timezone``).
    daily_ac_energy_kwh : numpy.ndarray
        (n_plants, n_days) [kWh].
    hour_of_day_ac_energy_kwh : numpy.ndarray
        (n_plants, 24) by local hour of the interval midpoint [kWh].
    labels : pandas.DatetimeIndex
        The weather's UTC end-of-interval labels.
    ac_power_w : numpy.ndarray or None
        (n_plants, n_time) mean AC power per interval [W], only if hourly output was asked.
    weather_source : str
    timezone : str
    estimate : bool
        True when the weather is the embedded climatology estimate.
    """

    summary: pd.DataFrame
    days: pd.DatetimeIndex
    daily_ac_energy_kwh: np.ndarray
    hour_of_day_ac_energy_kwh: np.ndarray
    labels: pd.DatetimeIndex
    ac_power_w: np.ndarray | None
    weather_source: str
    timezone: str
    estimate: bool

    @property
    def total_ac_energy_kwh(self) -> float:
        """Fleet total over the simulated period [kWh]."""
        return float(self.summary["ac_energy_kwh"].sum())

    def hourly_long(self) -> pd.DataFrame:
        """Long table ``time`` (UTC label), ``plant_id``, ``ac_power_w``."""
        if self.ac_power_w is None:
            raise InputError("hourly output was not requested for this run")
        n_plants, n_time = self.ac_power_w.shape
        return pd.DataFrame(
            {
                "time": np.tile(self.labels.to_numpy(), n_plants),
                "plant_id": pd.Categorical(np.repeat(self.summary["plant_id"].to_numpy(), n_time)),
                "ac_power_w": self.ac_power_w.reshape(-1),
            }
        )


def _cache_dir() -> Path | None:
    """Folder of cached generated-weather cells, or None when caching is off.

    ``ROSHANAI_CACHE_DIR`` (empty string: off), else ``$XDG_CACHE_HOME/roshanai`` or
    ``~/.cache/roshanai``. The key includes a hash of the climatology table and of the generator's
    source, so an upgrade never reads stale cells.
    """
    env = os.environ.get("ROSHANAI_CACHE_DIR")
    if env == "":
        return None
    base = (
        Path(env)
        if env
        else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "roshanai"
    )
    import simulate.climatology as clim

    digest = hashlib.sha256()
    import simulate.merra2 as m2

    here = Path(clim.__file__).parent
    for f in (Path(clim.__file__), Path(m2.__file__), here / "data" / "iran_climatology.csv"):
        digest.update(f.read_bytes())
    return base / f"climate-{digest.hexdigest()[:16]}"


def _cell_weather(
    lat_deg: float, lon_deg: float, cache: Path | None, sample: int | None = None
) -> pd.DataFrame:
    """Generated typical (or sampled) year of one cell, through the on-disk cache if any."""
    from simulate.climatology import default_weather

    tag = "" if sample is None else f"_s{int(sample)}"
    path = None if cache is None else cache / f"{lat_deg:+08.3f}_{lon_deg:+08.3f}{tag}.npz"
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                frame = pd.DataFrame(
                    {c: z[c] for c in COLUMNS},
                    index=pd.DatetimeIndex(z["time_ns"]).tz_localize("UTC"),
                )
                frame.attrs["source"] = str(z["source"])
                frame.attrs["coarse"] = bool(z["coarse"])
                return frame
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache entry: regenerate it below
    frame = default_weather(lat_deg, lon_deg, sample=sample)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    time_ns=cast(pd.DatetimeIndex, frame.index)
                    .tz_convert("UTC")
                    .tz_localize(None)
                    .to_numpy("datetime64[ns]"),
                    source=np.str_(frame.attrs["source"]),
                    coarse=np.bool_(frame.attrs["coarse"]),
                    **{c: frame[c].to_numpy(float) for c in COLUMNS},  # type: ignore[arg-type]
                )
        except OSError:
            pass  # a read-only home: the cache is only a speed-up
    return frame


def default_fleet_weather(
    fleet: Fleet,
    progress: Callable[[int, int], None] | None = None,
    sample: int | None = None,
) -> tuple[Weather, np.ndarray]:
    """Climate-default weather for a fleet: one generated year per 0.5° cell.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    progress : callable, optional
        Called as ``progress(cells_done, cells_total)``.
    sample : int, optional
        None: the typical year; S ≥ 0: sampled year S in every cell (see
        :func:`simulate.climatology.default_weather`).

    Returns
    -------
    (Weather, numpy.ndarray)
        A weather whose ``data`` stacks the cells (a column MultiIndex ``(cell, variable)``)
        and each plant's cell index.
    """
    cell = DEFAULT_WEATHER_CELL_DEG
    centres, index = fleet_cells(fleet)
    cache = _cache_dir()
    frames = []
    for c_lat, c_lon in centres:
        frames.append(_cell_weather(float(c_lat), float(c_lon), cache, sample))
        if progress is not None:
            progress(len(frames), len(centres))
    first = frames[0]
    for f in frames[1:]:
        if not f.index.equals(first.index):
            raise InputError("generated weather cells do not share one time axis")
    data = pd.concat(frames, axis=1, keys=range(len(frames)))
    coarse = sum(bool(f.attrs.get("coarse")) for f in frames)
    source = (
        f"estimate: {'typical' if sample is None else f'sampled (#{int(sample)})'} years "
        f"generated from Roshanai's climate default, one per {cell:g}° cell "
        f"({count(len(frames), 'cell')}"
        + (
            f"; {coarse} outside Iran: coarse MERRA-2 estimate, air 20 °C assumed)"
            if coarse
            else ")"
        )
    )
    return (Weather(data=data, source=source, utc_offset_h=None, estimate=True), index)


def fleet_cells(fleet: Fleet) -> tuple[np.ndarray, np.ndarray]:
    """The climate default's weather cells of a fleet, and each plant's cell.

    Plants are grouped on a :data:`DEFAULT_WEATHER_CELL_DEG` grid; each cell's weather is
    generated at its centre, at most 0.25° (about 1 min of solar time) from its plants.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        (n_cells, 2) cell centres (latitude, longitude) [degree], and (n_plants,) cell index.
    """
    lat = fleet.plants["latitude"].to_numpy(float)
    lon = fleet.plants["longitude"].to_numpy(float)
    cell = DEFAULT_WEATHER_CELL_DEG
    keys = np.stack([np.round(lat / cell), np.round(lon / cell)], axis=1)
    uniq, index = np.unique(keys, axis=0, return_inverse=True)
    return uniq * cell, np.asarray(index, dtype=np.int64).reshape(-1)


def _weather_arrays(weather: Weather) -> tuple[np.ndarray, ...]:
    d = weather.data
    if isinstance(d.columns, pd.MultiIndex):
        n = len(d.columns.levels[0])
        return tuple(
            np.ascontiguousarray(np.stack([d[(i, c)].to_numpy(float) for i in range(n)]))
            for c in COLUMNS
        )
    return tuple(np.ascontiguousarray(d[c].to_numpy(float)[None, :]) for c in COLUMNS)


def _bins(labels: pd.DatetimeIndex, step_hours: float, timezone: str):
    mid = labels - pd.Timedelta(hours=step_hours / 2)
    local = mid.tz_convert(timezone)
    dates = local.normalize().tz_localize(None)
    days, day_index = np.unique(dates.to_numpy(), return_inverse=True)
    return (
        mid,
        pd.DatetimeIndex(days),
        day_index.astype(np.int64).reshape(-1),
        local.hour.to_numpy().astype(np.int64),
    )


def run_fleet(
    fleet: Fleet,
    weather: Weather | None = None,
    *,
    transposition: str = "haydavies",
    hourly: bool = False,
    timezone: str = "Asia/Tehran",
    progress: Callable[[int], None] | None = None,
    chunk_plants: int = 4096,
    weather_progress: Callable[[int, int], None] | None = None,
    weather_index: np.ndarray | None = None,
) -> FleetRun:
    """Simulate every plant of ``fleet`` over the weather's period.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    weather : simulate.weather.Weather, optional
        Shared by all plants. None: the embedded climatology (Iran only; an estimate).
    transposition : {'haydavies', 'perez'}
    hourly : bool
        Keep the (n_plants, n_time) AC power matrix.
    timezone : str
        Zone whose local dates define days and months [IANA name].
    progress : callable, optional
        Called with the number of plants done after each chunk.
    chunk_plants : int
        Plants per kernel call (bounds the memory of the hourly work arrays).
    weather_progress : callable, optional
        With the embedded climatology: called as ``(cells_done, cells_total)``.
    weather_index : numpy.ndarray, optional
        For a multi-column weather (``default_fleet_weather``): each plant's weather column.

    Returns
    -------
    FleetRun
    """
    from simulate.kernel import FleetArrays, simulate_arrays

    if weather is None:
        weather, weather_index = default_fleet_weather(fleet, weather_progress)
    elif weather_index is None:
        if isinstance(weather.data.columns, pd.MultiIndex):
            raise InputError("a multi-cell weather needs weather_index")
        weather_index = np.zeros(len(fleet), dtype=np.int64)
    elif len(weather_index) != len(fleet):
        raise InputError(f"weather_index has {len(weather_index)} entries for {len(fleet)} plants")
    estimate = weather.estimate
    labels = pd.DatetimeIndex(weather.data.index)
    mid, days, day_index, hour_index = _bins(labels, weather.step_hours, timezone)
    ghi, dni, dhi, temp_air, wind = _weather_arrays(weather)
    p = fleet.plants
    arrays = FleetArrays(
        latitude_deg=p["latitude"].to_numpy(float),
        longitude_deg=p["longitude"].to_numpy(float),
        altitude_m=p["altitude_m"].to_numpy(float),
        dc_kwp=p["dc_kwp"].to_numpy(float),
        ac_kw=p["ac_kw"].to_numpy(float),
        tilt_deg=p["tilt_deg"].to_numpy(float),
        azimuth_deg=p["azimuth_deg"].to_numpy(float),
        gamma_pdc_per_c=p["gamma_pdc_per_c"].to_numpy(float),
        losses_pct=p["losses_pct"].to_numpy(float),
        racking=(p["racking"] == "close_mount").to_numpy().astype(np.int8),
        weather_index=weather_index.astype(np.int64),
    )
    res = simulate_arrays(
        mid.to_numpy(dtype="datetime64[ns]"),
        ghi,
        dni,
        dhi,
        temp_air,
        wind,
        arrays,
        day_index=day_index,
        hour_index=hour_index,
        n_days=len(days),
        transposition=transposition,
        hourly=hourly,
        chunk_plants=chunk_plants,
        progress=progress,
        step_hours=weather.step_hours,
    )
    daily_kwh = res.daily_ac_energy_wh / 1000.0
    summary = _summary(p, res, daily_kwh, days, weather.step_hours * len(labels))
    return FleetRun(
        summary=summary,
        days=days,
        daily_ac_energy_kwh=daily_kwh,
        hour_of_day_ac_energy_kwh=res.ac_energy_by_hour_wh / 1000.0,
        labels=labels,
        ac_power_w=res.ac_power_w if hourly else None,
        weather_source=weather.source,
        timezone=timezone,
        estimate=estimate,
    )


def _summary(
    plants: pd.DataFrame, res, daily_kwh: np.ndarray, days: pd.DatetimeIndex, period_hours: float
) -> pd.DataFrame:
    dc_kwp = plants["dc_kwp"].to_numpy(float)
    ac_kw = plants["ac_kw"].to_numpy(float)
    energy_kwh = res.ac_energy_wh / 1000.0
    poa_kwh_m2 = res.poa_insolation_wh_m2 / 1000.0
    yield_kwh_kwp = energy_kwh / dc_kwp
    out = {
        "plant_id": plants["plant_id"].to_numpy(),
        "province": plants["province"].to_numpy(),
        "dc_kwp": dc_kwp,
        "ac_kw": ac_kw,
        "ac_energy_kwh": energy_kwh,
        "specific_yield_kwh_per_kwp": yield_kwh_kwp,
        # IEC 61724 final yield over reference yield (POA insolation / 1 kW/m²).
        "performance_ratio": np.divide(
            yield_kwh_kwp, poa_kwh_m2, out=np.zeros_like(poa_kwh_m2), where=poa_kwh_m2 > 0
        ),
        "capacity_factor_pct": 100.0 * energy_kwh / (ac_kw * period_hours),
        "peak_ac_power_w": res.peak_ac_power_w,
        "poa_insolation_kwh_m2": poa_kwh_m2,
    }
    # Months by number: a typical year spilling over New Year's Eve wraps into January.
    months = days.month.to_numpy()
    for m, name in enumerate(GREGORIAN_MONTHS, start=1):
        out[f"ac_energy_kwh_{name}"] = daily_kwh[:, months == m].sum(axis=1)
    hmonths = hijri_month_of(days)
    for m, name in enumerate(HIJRI_MONTHS, start=1):
        out[f"ac_energy_kwh_{name}"] = daily_kwh[:, hmonths == m].sum(axis=1)
    return pd.DataFrame(out)
