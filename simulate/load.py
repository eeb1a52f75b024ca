"""Household load: what a family runs during a power cut, and what the whole home draws.

Profiles are tables of mean power by local month × local hour (12 × 24, Asia/Tehran clock by
default) [W]; the dispatch kernel reads them through a per-plant profile index and scale, so a
fleet of any size costs a few kilobytes of load data.

Essential load (:func:`essential_profile_w`) — a low-income home keeping the essentials on during
a cut. Assumptions (round figures for a typical Iranian household; not measurements):

- **evaporative cooler** (کولر آبی) 400 W at full duty: a 4,000–5,500 m³/h residential unit,
  ⅓–½ hp fan motor plus its ~40 W water pump (Iranian energy labels give 300–450 W inputs).
  Monthly duty for a Tehran-like climate: Apr 0.1, May 0.5, Jun 0.9, Jul–Aug 1.0, Sep 0.8,
  Oct 0.3, otherwise 0 (heating is by gas). Daily shape: 1.0 from 12:00 to 19:00, 0.8 at
  10–12 and 19–22, 0.6 at 22–24, 0.5 at 07–10, 0.4 at night;
- **refrigerator** (older fridge-freezer) averaged over its compressor cycle: 60 W
  (≈ 1.4 kWh/day) rising to 80 W (≈ 1.9 kWh/day) in the hottest months, in proportion to the
  cooler's monthly duty (a hot kitchen);
- **lights**: five 12 W LED/CFL lamps (60 W) in the hours whose middle is after sunset, until
  midnight, and from 05:00 until sunrise; one lamp (12 W) from midnight to 05:00. Sunrise and
  sunset are those of Tehran (35.7° N, 51.4° E) in mid-month on the +03:30 clock (pvlib SPA);
- **modem/router and phone charging**: 20 W around the clock.

This gives 500 W on a July or August afternoon (400 + 80 + 20), ~140 W on a winter evening and
about 1.9 MWh a year if it ran all year.

Full home (:func:`full_home_profile_w`) — the essential load plus a television (80 W from 18:00
to midnight, half of that from 10:00 to 18:00), more rooms lit (another 60 W in the evening
hours), and the day's other appliances (washing machine, iron, vacuum cleaner, kitchen
appliances, a water pump) averaged to 120 W between 09:00 and 21:00: about 2.8 MWh a year,
in line with a modest Iranian urban household. Used for self-consumption and for "what if the
family ran everything during the cut".

Per-plant scaling: a plant's ``essential_load_w`` (fleet file) is its essential load on a
summer afternoon, i.e. the profile's maximum; both profiles are multiplied by
``essential_load_w / 500`` for that plant (a larger household draws proportionally more).

Per-plant override (``--load FILE``, :func:`read_load_file`): CSV with columns ``plant_id``,
``hour`` (local hour 0–23), ``load_w`` and optionally ``month`` (1–12). A plant listed gets
exactly that profile (not scaled): 24 rows for a profile used all year, or 12 × 24 rows with
``month``. A ``plant_id`` of ``*`` sets the profile of every plant not listed by name.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from telemetry.errors import InputError

__all__ = [
    "ESSENTIAL_PEAK_W",
    "LOAD_KINDS",
    "LoadFileError",
    "PlantLoads",
    "essential_profile_w",
    "full_home_profile_w",
    "plant_loads",
    "read_load_file",
]

LOAD_KINDS = ("essential", "full")

#: Evaporative cooler rating and monthly duty (Jan … Dec). [W], [-]
COOLER_W = 400.0
COOLER_DUTY = np.array([0, 0, 0, 0.1, 0.5, 0.9, 1.0, 1.0, 0.8, 0.3, 0, 0])
#: Share of the cooler's monthly duty by local hour 0 … 23. [-]
COOLER_HOURLY = np.array([0.4] * 7 + [0.5] * 3 + [0.8] * 2 + [1.0] * 7 + [0.8] * 3 + [0.6] * 2)
FRIDGE_W = (60.0, 80.0)  # cool months, hottest months (average over the cycle) [W]
LIGHTS_W, NIGHT_LIGHT_W = 60.0, 12.0
MODEM_W = 20.0
#: Tehran sunrise and sunset in mid-month, +03:30 clock (pvlib SPA). [h]
SUNRISE_H = np.array([7.22, 6.85, 6.25, 5.52, 4.98, 4.78, 4.98, 5.38, 5.78, 6.17, 6.67, 7.10])
SUNSET_H = np.array(
    [17.23, 17.77, 18.18, 18.62, 19.03, 19.35, 19.33, 18.88, 18.18, 17.47, 16.95, 16.87]
)
TV_W, EXTRA_LIGHTS_W, APPLIANCES_W = 80.0, 60.0, 120.0


def _dark_evening(month: int, hour: int) -> bool:
    return hour + 0.5 > SUNSET_H[month]


def _dark_morning(month: int, hour: int) -> bool:
    return 5 <= hour < SUNRISE_H[month]


@functools.cache
def _essential() -> np.ndarray:
    table = np.zeros((12, 24))
    for m in range(12):
        fridge = FRIDGE_W[0] + (FRIDGE_W[1] - FRIDGE_W[0]) * COOLER_DUTY[m]
        for h in range(24):
            lights = (
                LIGHTS_W
                if _dark_evening(m, h) or _dark_morning(m, h)
                else NIGHT_LIGHT_W
                if h < 5
                else 0.0
            )
            table[m, h] = COOLER_W * COOLER_DUTY[m] * COOLER_HOURLY[h] + fridge + lights + MODEM_W
    table.setflags(write=False)
    return table


@functools.cache
def _full_home() -> np.ndarray:
    table = _essential().copy()
    for m in range(12):
        for h in range(24):
            tv = TV_W if h >= 18 else TV_W / 2 if h >= 10 else 0.0
            extra = EXTRA_LIGHTS_W if _dark_evening(m, h) else 0.0
            appliances = APPLIANCES_W if 9 <= h < 21 else 0.0
            table[m, h] += tv + extra + appliances
    table.setflags(write=False)
    return table


def essential_profile_w() -> np.ndarray:
    """Essential load of a low-income home during a cut, (12 months, 24 local hours). [W]"""
    return _essential()


def full_home_profile_w() -> np.ndarray:
    """Whole-home load, (12 months, 24 local hours). [W]"""
    return _full_home()


#: The essential profile's maximum (a summer afternoon): ``essential_load_w`` scales to it. [W]
ESSENTIAL_PEAK_W: float = float(_essential().max())


class LoadFileError(InputError):
    """The load override file breaks its contract; the message names the line and column."""


def read_load_file(path: str | Path, plant_ids: Sequence[str]) -> dict[str, np.ndarray]:
    """Per-plant load profiles from a CSV file (see the module docstring).

    Parameters
    ----------
    path : str or pathlib.Path
    plant_ids : sequence of str
        The fleet's plants; a row naming another plant is refused.

    Returns
    -------
    dict
        ``plant_id`` (or ``*``) → (12, 24) profile [W].

    Raises
    ------
    LoadFileError
    """
    p = Path(path)
    name = p.name
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, comment="#", skipinitialspace=True)
    except FileNotFoundError:
        raise LoadFileError(f"load file not found: {p}") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LoadFileError(f"cannot read load file {name}: {first}") from None
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in ("plant_id", "hour", "load_w") if c not in frame.columns]
    if missing:
        raise LoadFileError(
            f"{name} line 1: missing column(s) {', '.join(missing)} "
            f"(expected plant_id,hour,load_w[,month])"
        )
    if frame.empty:
        raise LoadFileError(f"{name}: no rows")
    line = np.arange(len(frame)) + 2  # header is line 1 (comment lines shift this; rare)
    known = set(plant_ids) | {"*"}

    def number(col: str, low: float, high: float, integer: bool) -> np.ndarray:
        values = pd.to_numeric(frame[col].str.strip(), errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values) | (values < low) | (values > high)
        if integer:
            bad |= np.isfinite(values) & (values != np.round(values))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            kind = "an integer" if integer else "a number"
            raise LoadFileError(
                f"{name} line {line[i]}, column {col}: {frame[col].iloc[i]!r} "
                f"is not {kind} in [{low:g}, {high:g}]"
            )
        return values

    hour = number("hour", 0, 23, True).astype(int)
    load = number("load_w", 0, 1_000_000, False)
    has_month = "month" in frame.columns
    month = number("month", 1, 12, True).astype(int) - 1 if has_month else None
    ids = frame["plant_id"].str.strip().to_numpy()
    unknown = [i for i, pid in enumerate(ids) if pid not in known]
    if unknown:
        i = unknown[0]
        raise LoadFileError(
            f"{name} line {line[i]}, column plant_id: {ids[i]!r} is not a plant of the fleet"
        )
    out: dict[str, np.ndarray] = {}
    for pid in dict.fromkeys(ids):
        rows = np.flatnonzero(ids == pid)
        table = np.full((12, 24), np.nan)
        slot = hour[rows] if month is None else month[rows] * 24 + hour[rows]
        want = 24 if month is None else 288
        seen: dict[int, int] = {}
        for row, key in zip(rows.tolist(), slot.tolist(), strict=True):
            if key in seen:
                raise LoadFileError(
                    f"{name} line {line[row]}: plant {pid!r} has this "
                    f"{'month and ' if month is not None else ''}hour "
                    f"already (line {line[seen[key]]})"
                )
            seen[key] = row
        if len(rows) != want:
            raise LoadFileError(
                f"{name} line {line[rows[-1]]}: plant {pid!r} has {len(rows)} "
                f"rows; a profile needs {want} "
                f"({'12 months × ' if month is not None else ''}24 hours)"
            )
        if month is None:
            table[:, hour[rows]] = load[rows][None, :]
        else:
            table[month[rows], hour[rows]] = load[rows]
        out[pid] = table
    return out


@dataclass(frozen=True)
class PlantLoads:
    """Load profiles of a fleet in the form the dispatch kernel reads.

    Attributes
    ----------
    tables_w : numpy.ndarray
        (n_profiles, 12, 24) profiles by local month and hour. [W]
    cut_index, cut_scale : numpy.ndarray
        (n_plants,) profile row and multiplier of each plant's load during a cut.
    self_index, self_scale : numpy.ndarray
        (n_plants,) profile row (-1: none) and multiplier of the home load served from the
        plant's own PV while the grid is up (self-consumption).
    """

    tables_w: np.ndarray
    cut_index: np.ndarray
    cut_scale: np.ndarray
    self_index: np.ndarray
    self_scale: np.ndarray

    def cut_load_w(
        self,
        plant_index: np.ndarray,
        month_index: np.ndarray,
        hour_index: np.ndarray,
    ) -> np.ndarray:
        """Load of plants during a cut at local months and hours (broadcast), as the dispatch
        kernel reads it: ``tables_w[cut_index[p], month, hour] * cut_scale[p]``.

        Parameters
        ----------
        plant_index : int array
            Plant rows (0 … n_plants − 1).
        month_index : int array
            Local month, 0 = January … 11.
        hour_index : int array
            Local hour, 0 … 23.

        Returns
        -------
        numpy.ndarray
            Load [W], the broadcast shape of the three indexes.
        """
        p = np.asarray(plant_index, dtype=np.int64)
        return self.tables_w[self.cut_index[p], month_index, hour_index] * self.cut_scale[p]


def plant_loads(
    plant_ids: Sequence[str],
    essential_load_w: np.ndarray | Sequence[float],
    *,
    kind: str = "essential",
    overrides: dict[str, np.ndarray] | None = None,
    self_consumption: bool = False,
) -> PlantLoads:
    """Each plant's load during cuts (and, with self-consumption, while the grid is up).

    Parameters
    ----------
    plant_ids : sequence of str
    essential_load_w : array of float, shape (n_plants,)
        The fleet file's ``essential_load_w`` (NaN: not given → the default profile unscaled).
        [W]
    kind : {'essential', 'full'}
        Profile used during cuts.
    overrides : dict, optional
        From :func:`read_load_file`: these plants' cut load (unscaled); ``*`` for all others.
    self_consumption : bool
        Also serve the full-home profile from PV while the grid is up (the program's plants
        sell all their energy, so the default is False).

    Returns
    -------
    PlantLoads
    """
    if kind not in LOAD_KINDS:
        raise InputError(f"load profile must be one of {', '.join(LOAD_KINDS)}, not {kind!r}")
    n = len(plant_ids)
    given = np.asarray(essential_load_w, dtype=float).reshape(-1)
    if given.shape != (n,):
        raise InputError(f"essential_load_w: expected {n} values, got {given.shape[0]}")
    scale = np.where(np.isfinite(given), given / ESSENTIAL_PEAK_W, 1.0)
    tables = [essential_profile_w(), full_home_profile_w()]
    cut_index = np.full(n, LOAD_KINDS.index(kind), dtype=np.int64)
    cut_scale = scale.copy()
    if overrides:
        by_id = {pid: i for i, pid in enumerate(plant_ids)}
        if "*" in overrides:
            tables.append(overrides["*"])
            cut_index[:] = len(tables) - 1
            cut_scale[:] = 1.0
        for pid, table in overrides.items():
            if pid == "*":
                continue
            if pid not in by_id:
                raise InputError(f"load override for unknown plant {pid!r}")
            tables.append(table)
            cut_index[by_id[pid]] = len(tables) - 1
            cut_scale[by_id[pid]] = 1.0
    self_index = np.full(n, 1 if self_consumption else -1, dtype=np.int64)
    return PlantLoads(
        np.ascontiguousarray(np.stack(tables), dtype=np.float64),
        cut_index,
        cut_scale,
        self_index,
        scale.copy(),
    )
