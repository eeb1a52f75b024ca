"""Numerical weather forecasts as the simulator's weather: Open-Meteo responses and plain CSV.

A :class:`Forecast` holds hourly weather for one or more locations and one or more ensemble
members, on UTC labels **at the end of each hour** (the convention of :mod:`simulate.weather`),
with pvlib's names and units: ``ghi``, ``dni``, ``dhi`` [W/m²], ``temp_air`` [°C],
``wind_speed`` [m/s]. :meth:`Forecast.weather` turns one member into a
:class:`simulate.weather.Weather` the fleet kernel runs on, one column block per location,
with each plant on its nearest location (:meth:`Forecast.plant_locations`).

Formats, read as the Open-Meteo server writes them (``Sources/App/Helper/Writer/JsonWriter.swift``
and ``CsvWriter.swift`` of open-meteo/open-meteo, units as ``Unit.swift`` of open-meteo/sdk
spells them; read 2026-12-01):

- **Open-Meteo JSON** of the forecast (``/v1/forecast``) or ensemble (``/v1/ensemble``) API:
  one object, or a list of objects for several locations. ``hourly.time`` is ISO 8601 local
  time without offset (``"2026-07-01T00:00"``, local = UTC + ``utc_offset_seconds``) or, with
  ``timeformat=unixtime``, seconds since the epoch (UTC). Ensemble members are the variables
  ``<name>_member01`` … ``_memberNN`` beside the control run's bare ``<name>``. Missing values
  are ``null``.
- **Open-Meteo CSV** (``format=csv``): a location header (``latitude,longitude,elevation,
  utc_offset_seconds,timezone,timezone_abbreviation``, with ``location_id`` first when there
  are several locations), a blank line, then one section per resolution (current,
  15-minutely, hourly, daily), each with a header ``time,<name> (<unit>),…`` (``location_id,``
  first for several locations). The hourly section is the one read. Missing values are
  ``NaN``.
- **Plain CSV**: ``time`` (ISO 8601 with a UTC offset, the **end** of the hour, as for weather
  files), optional ``latitude``/``longitude`` (else one location for every plant) and
  ``member``, then ``ghi`` and optionally ``dni``, ``dhi``, ``temp_air``, ``wind_speed``.

Variables and conventions (Open-Meteo's documentation, "Valid time" column):

- ``shortwave_radiation`` (GHI), ``diffuse_radiation`` (DHI) and ``direct_normal_irradiance``
  (DNI) are **means of the preceding hour**: the value stamped T is the mean over
  [T − 1 h, T], i.e. already an end-of-hour label;
- ``temperature_2m`` and ``wind_speed_10m`` are **instantaneous** at T: the hour ending at T
  gets the mean of the values at T − 1 h and T (the first hour its own value);
- units are converted from ``hourly_units`` (or the CSV's ``(unit)``): °C/°F; km/h (the API's
  default), m/s, mp/h, kn; irradiance must be W/m².

What a forecast lacks is filled in and said in :attr:`Forecast.notes`: without DHI, GHI is
split with Erbs (:func:`pvlib.irradiance.erbs`); without DNI, DNI = (GHI − DHI) / cos(zenith)
at the hour's midpoint; without temperature, 20 °C, and without wind, 0 m/s (pvlib
ModelChain's assumptions). Trailing hours where the forecast has no GHI (beyond a model's
horizon) are dropped; a gap inside the horizon is refused with its time.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulate.weather import COLUMNS, Weather
from telemetry.errors import WeatherFileError

__all__ = [
    "MAX_LOCATION_KM",
    "OPEN_METEO_HOURLY",
    "Forecast",
    "forecast_from_arrays",
    "forecast_from_open_meteo",
    "read_forecast",
]

#: Plants farther than this from every forecast location are left out. [km]
MAX_LOCATION_KM = 50.0

#: Open-Meteo hourly variables read, and the pvlib column each becomes.
OPEN_METEO_HOURLY = {
    "shortwave_radiation": "ghi",
    "direct_normal_irradiance": "dni",
    "diffuse_radiation": "dhi",
    "temperature_2m": "temp_air",
    "wind_speed_10m": "wind_speed",
}
#: Older Open-Meteo spelling (before 2023) of the same variables.
_OLD_NAMES = {"windspeed_10m": "wind_speed_10m"}
#: Instantaneous variables (averaged onto the hour ending at each stamp).
_INSTANT = ("temp_air", "wind_speed")
#: Unit conversions to the pvlib units: abbreviation → (scale, offset).
_UNITS: dict[str, dict[str, tuple[float, float]]] = {
    "ghi": {"W/m²": (1.0, 0.0), "W/m2": (1.0, 0.0)},
    "dni": {"W/m²": (1.0, 0.0), "W/m2": (1.0, 0.0)},
    "dhi": {"W/m²": (1.0, 0.0), "W/m2": (1.0, 0.0)},
    "temp_air": {"°C": (1.0, 0.0), "°F": (5.0 / 9.0, -32.0 * 5.0 / 9.0)},
    "wind_speed": {
        "m/s": (1.0, 0.0),
        "km/h": (1.0 / 3.6, 0.0),
        "mp/h": (0.44704, 0.0),
        "mph": (0.44704, 0.0),
        "kn": (0.514444, 0.0),
    },
}
#: Fallbacks when a forecast lacks a variable (pvlib ModelChain's assumptions).
_DEFAULTS = {"temp_air": 20.0, "wind_speed": 0.0}
_MEMBER = re.compile(r"^(?P<name>.+?)_member(?P<n>\d{2,3})$")


@dataclass(frozen=True)
class Forecast:
    """Hourly forecast weather of some locations and ensemble members.

    Attributes
    ----------
    labels : pandas.DatetimeIndex
        (n_hours,) UTC, end of each hour.
    latitude_deg, longitude_deg, elevation_m : numpy.ndarray
        (n_locations,) [degree], [m] (NaN where the source gave none).
    members : tuple of str
        Member names: ``("control",)`` for a deterministic forecast, else ``"control"``,
        ``"member01"``, …
    data : dict of str to numpy.ndarray
        :data:`simulate.weather.COLUMNS` → (n_members, n_locations, n_hours) in pvlib units.
    source : str
        File and format.
    notes : tuple of str
        What was filled in or converted (shown to the user).
    """

    labels: pd.DatetimeIndex
    latitude_deg: np.ndarray
    longitude_deg: np.ndarray
    elevation_m: np.ndarray
    members: tuple[str, ...]
    data: dict[str, np.ndarray]
    source: str
    notes: tuple[str, ...] = field(default=())

    @property
    def n_members(self) -> int:
        """Ensemble members (1 for a deterministic forecast)."""
        return len(self.members)

    @property
    def n_locations(self) -> int:
        return len(self.latitude_deg)

    @property
    def ensemble(self) -> bool:
        return self.n_members > 1

    def weather(self, member: int = 0) -> Weather:
        """One member as the kernel's weather: a column block ``(location, variable)`` per
        location (the shape of :func:`simulate.fleet.default_fleet_weather`).

        Parameters
        ----------
        member : int
            Index into :attr:`members`.
        """
        frames = {(k, c): self.data[c][member, k] for k in range(self.n_locations) for c in COLUMNS}
        data = pd.DataFrame(frames, index=self.labels)
        data.columns = pd.MultiIndex.from_tuples(list(frames))
        if self.n_locations == 1:
            data = pd.DataFrame(data[0])
        name = self.members[member]
        return Weather(
            data=data,
            source=f"{self.source}, {name}" if self.ensemble else self.source,
            step_hours=1.0,
            utc_offset_h=None,
            latitude_deg=float(self.latitude_deg[0]) if self.n_locations == 1 else None,
            longitude_deg=float(self.longitude_deg[0]) if self.n_locations == 1 else None,
        )

    def plant_locations(
        self, latitude_deg: np.ndarray, longitude_deg: np.ndarray, max_km: float = MAX_LOCATION_KM
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each plant's nearest forecast location and its distance.

        Parameters
        ----------
        latitude_deg, longitude_deg : numpy.ndarray
            (n_plants,) [degree]
        max_km : float
            Plants farther than this from every location get index −1. [km]

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            (n_plants,) location index (−1: too far) and distance [km].
        """
        lat = np.radians(np.asarray(latitude_deg, float))[:, None]
        lon = np.radians(np.asarray(longitude_deg, float))[:, None]
        flat = np.radians(self.latitude_deg)[None, :]
        flon = np.radians(self.longitude_deg)[None, :]
        if np.isnan(flat).all():  # a plain CSV without coordinates: one location for all
            return np.zeros(lat.shape[0], dtype=np.int64), np.zeros(lat.shape[0])
        h = (
            np.sin((flat - lat) / 2) ** 2
            + np.cos(lat) * np.cos(flat) * np.sin((flon - lon) / 2) ** 2
        )
        d_km = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
        index = np.argmin(d_km, axis=1)
        dist = d_km[np.arange(len(index)), index]
        return np.where(dist <= max_km, index, -1).astype(np.int64), dist


def read_forecast(path: str | Path) -> Forecast:
    """Read a forecast file (Open-Meteo JSON or CSV, or a plain CSV; told from its content).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    Forecast

    Raises
    ------
    WeatherFileError
        Unreadable file, unknown layout, a unit it cannot convert, a gap inside the horizon,
        values outside physical limits; one line naming what and where.
    """
    p = Path(path)
    if not p.is_file():
        raise WeatherFileError(f"forecast file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WeatherFileError(f"cannot read forecast file {p}: {exc}") from None
    head = text.lstrip()[:1]
    if head in ("{", "["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WeatherFileError(
                f"{p.name}: not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        return _from_open_meteo_json(doc, p.name)
    first = text.splitlines()[0] if text.strip() else ""
    if first.replace("location_id,", "").startswith("latitude,longitude,elevation"):
        return _from_open_meteo_csv(text, p.name)
    return _from_plain_csv(text, p.name)


def forecast_from_arrays(
    labels: pd.DatetimeIndex,
    columns: dict[str, np.ndarray],
    *,
    latitude_deg: np.ndarray | None = None,
    longitude_deg: np.ndarray | None = None,
    elevation_m: np.ndarray | None = None,
    members: tuple[str, ...] | None = None,
    instant: bool = False,
    source: str = "forecast",
) -> Forecast:
    """A checked :class:`Forecast` from arrays (readers and tests share it).

    Parameters
    ----------
    labels : pandas.DatetimeIndex
        (n_hours,) tz-aware, end of each hour (instantaneous variables: their stamps).
    columns : dict
        Some of :data:`simulate.weather.COLUMNS` (``ghi`` required) → (n_members,
        n_locations, n_hours) in pvlib units; NaN where missing.
    latitude_deg, longitude_deg, elevation_m : numpy.ndarray, optional
        (n_locations,); absent: one location that every plant uses.
    members : tuple of str, optional
    instant : bool
        True: ``temp_air``/``wind_speed`` are instantaneous at the stamps (Open-Meteo) and are
        averaged onto the hour ending at each stamp.
    source : str
    """
    if "ghi" not in columns:
        raise WeatherFileError(f"{source}: no GHI (shortwave_radiation or ghi)")
    labels = pd.DatetimeIndex(labels)
    if labels.tz is None:
        raise WeatherFileError(f"{source}: times have no UTC offset")
    labels = labels.tz_convert("UTC").as_unit("ns")
    ghi = np.asarray(columns["ghi"], float)
    n_m, n_loc, n_t = ghi.shape
    if n_t < 1:
        raise WeatherFileError(f"{source}: no hourly values")
    if n_t > 1:
        step = np.diff(labels.asi8)
        if (step <= 0).any():
            k = int(np.argmax(step <= 0)) + 1
            raise WeatherFileError(f"{source}: times not increasing at {labels[k]:%Y-%m-%d %H:%M}Z")
        if (step != 3_600_000_000_000).any():
            k = int(np.argmax(step != 3_600_000_000_000)) + 1
            raise WeatherFileError(
                f"{source}: not hourly at {labels[k]:%Y-%m-%d %H:%M}Z (only hourly forecasts)"
            )
    if labels.minute.any() or labels.second.any():
        raise WeatherFileError(f"{source}: hours do not start on the hour")
    # Beyond a model's horizon the API sends null, and some models have no mean of the
    # "preceding hour" at their first step: drop the leading and trailing hours without GHI.
    known = ~np.isnan(ghi).any(axis=(0, 1))
    if not known.any():
        raise WeatherFileError(f"{source}: GHI is missing at every hour")
    first = int(np.flatnonzero(known)[0])
    last = int(np.flatnonzero(known)[-1]) + 1
    notes: list[str] = []
    if first > 0:
        notes.append(f"{first} leading hour(s) without GHI dropped (the model's first step)")
    if last < n_t:
        notes.append(f"{n_t - last} trailing hour(s) without GHI dropped (beyond the horizon)")
    labels = labels[first:last]
    data: dict[str, np.ndarray] = {}
    for c in COLUMNS:
        if c in columns:
            a = np.asarray(columns[c], float).copy()
            if a.shape != (n_m, n_loc, n_t):
                raise WeatherFileError(f"{source}: {c} does not have the shape of ghi")
            if instant and c in _INSTANT:  # averaged before trimming: a dropped stamp counts
                prev = a[:, :, :-1].copy()
                a[:, :, 1:] = np.where(np.isnan(prev), a[:, :, 1:], 0.5 * (a[:, :, 1:] + prev))
            data[c] = a[:, :, first:last]
    lat = np.full(n_loc, np.nan) if latitude_deg is None else np.asarray(latitude_deg, float)
    lon = np.full(n_loc, np.nan) if longitude_deg is None else np.asarray(longitude_deg, float)
    elev = np.full(n_loc, np.nan) if elevation_m is None else np.asarray(elevation_m, float)
    if "dhi" not in data:
        data["dhi"], data["dni"] = _erbs(data["ghi"], labels, lat, lon)
        notes.append("no diffuse irradiance: GHI split with Erbs (pvlib.irradiance.erbs)")
    elif "dni" not in data:
        data["dni"] = _closure_dni(data["ghi"], data["dhi"], labels, lat, lon)
        notes.append("no DNI: (GHI − DHI) / cos(zenith) at each hour's midpoint")
    for c, value in _DEFAULTS.items():
        if c not in data:
            data[c] = np.full((n_m, n_loc, last - first), value)
            unit = "°C" if c == "temp_air" else "m/s"
            notes.append(f"no {c}: {value:g} {unit} assumed (pvlib ModelChain's default)")
    for c in COLUMNS:
        bad = np.isnan(data[c])
        if bad.any():
            m, k, t = (int(x[0]) for x in np.nonzero(bad))
            where = f" (member {members[m]})" if members and n_m > 1 else ""
            raise WeatherFileError(
                f"{source}: {c} missing at {labels[t]:%Y-%m-%d %H:%M}Z, location {k + 1}{where}"
            )
    _check_limits(data, labels, source)
    return Forecast(
        labels=labels,
        latitude_deg=lat,
        longitude_deg=lon,
        elevation_m=elev,
        members=members or tuple(["control"] + [f"member{i:02d}" for i in range(1, n_m)]),
        data=data,
        source=source,
        notes=tuple(notes),
    )


#: Physical limits, to catch a wrong unit or a corrupt file (as :mod:`simulate.weather`).
_LIMITS = {
    "ghi": (0.0, 1600.0),
    "dni": (0.0, 1500.0),
    "dhi": (0.0, 1000.0),
    "temp_air": (-80.0, 65.0),
    "wind_speed": (0.0, 80.0),
}


def _check_limits(data: dict[str, np.ndarray], labels: pd.DatetimeIndex, source: str) -> None:
    for c, (lo, hi) in _LIMITS.items():
        a = data[c]
        # Forecast models can give -0.x W/m² at night: clip tiny negatives, refuse real ones.
        if c in ("ghi", "dni", "dhi"):
            np.clip(a, 0.0, None, out=a, where=a > -5.0)
        out = (a < lo) | (a > hi)
        if out.any():
            m, k, t = (int(x[0]) for x in np.nonzero(out))
            raise WeatherFileError(
                f"{source}: {c} = {a[m, k, t]:g} at {labels[t]:%Y-%m-%d %H:%M}Z, location "
                f"{k + 1}, outside [{lo:g}, {hi:g}] (a wrong unit?)"
            )


def _zenith(labels: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Apparent solar zenith at each hour's midpoint, (n_locations, n_hours) [degree]."""
    import pvlib

    mid = labels - pd.Timedelta(minutes=30)
    out = np.empty((len(lat), len(labels)))
    for k in range(len(lat)):
        if np.isnan(lat[k]) or np.isnan(lon[k]):
            raise WeatherFileError(
                "a forecast without DHI or DNI needs the location's latitude and longitude"
            )
        sp = pvlib.solarposition.get_solarposition(mid, lat[k], lon[k], method="nrel_numpy")
        out[k] = sp["apparent_zenith"].to_numpy(float)
    return out


def _erbs(
    ghi: np.ndarray, labels: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    import pvlib

    zen = _zenith(labels, lat, lon)
    doy = (labels - pd.Timedelta(minutes=30)).day_of_year.to_numpy()
    dhi = np.empty_like(ghi)
    dni = np.empty_like(ghi)
    for k in range(ghi.shape[1]):
        for m in range(ghi.shape[0]):
            out = pvlib.irradiance.erbs(ghi[m, k], zen[k], doy)
            dhi[m, k] = np.nan_to_num(np.asarray(out["dhi"], float))
            dni[m, k] = np.nan_to_num(np.asarray(out["dni"], float))
    return dhi, dni


def _closure_dni(
    ghi: np.ndarray, dhi: np.ndarray, labels: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray
) -> np.ndarray:
    import pvlib

    zen = _zenith(labels, lat, lon)
    dni = np.empty_like(ghi)
    for k in range(ghi.shape[1]):
        for m in range(ghi.shape[0]):
            dni[m, k] = np.nan_to_num(
                np.asarray(pvlib.irradiance.dni(ghi[m, k], dhi[m, k], zen[k]), float)
            )
    return dni


# --- Open-Meteo JSON -------------------------------------------------------------------------


def _variables(hourly: dict, units: dict, source: str) -> tuple[dict[str, dict[str, list]], dict]:
    """Hourly keys grouped by pvlib column and member: ``{col: {member: values}}``, and each
    column's unit."""
    by_col: dict[str, dict[str, list]] = {}
    col_unit: dict[str, str] = {}
    model_suffixed = []
    for key, values in hourly.items():
        if key == "time":
            continue
        m = _MEMBER.match(key)
        name, member = (m["name"], f"member{int(m['n']):02d}") if m else (key, "control")
        name = _OLD_NAMES.get(name, name)
        col = OPEN_METEO_HOURLY.get(name)
        if col is None:
            if any(key.startswith(v + "_") for v in OPEN_METEO_HOURLY):
                model_suffixed.append(key)
            continue
        by_col.setdefault(col, {})[member] = values
        unit = units.get(key) or units.get(name)
        if unit is not None:
            col_unit[col] = str(unit)
    if "ghi" not in by_col:
        if model_suffixed:
            raise WeatherFileError(
                f"{source}: several models in one response ({model_suffixed[0]}, …); ask for one "
                "model (the models= parameter) per file"
            )
        raise WeatherFileError(f"{source}: no hourly shortwave_radiation")
    return by_col, col_unit


def _convert(col: str, values: np.ndarray, unit: str | None, source: str) -> np.ndarray:
    if unit is None:
        return values
    known = _UNITS[col]
    if unit not in known:
        raise WeatherFileError(
            f"{source}: {col} in {unit!r}; expected one of {', '.join(sorted(known))}"
        )
    scale, offset = known[unit]
    return values * scale + offset


def _location_arrays(
    blocks: list[tuple[dict[str, dict[str, list]], dict[str, str]]], n_t: int, source: str
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """(n_members, n_locations, n_hours) arrays from per-location variable blocks."""
    members = sorted(
        {m for cols, _ in blocks for per in cols.values() for m in per},
        key=lambda m: (m != "control", m),
    )
    out: dict[str, np.ndarray] = {}
    cols_all = {c for cols, _ in blocks for c in cols}
    for col in cols_all:
        a = np.full((len(members), len(blocks), n_t), np.nan)
        for k, (cols, units) in enumerate(blocks):
            per = cols.get(col)
            if per is None:
                raise WeatherFileError(f"{source}: location {k + 1} has no {col}")
            for i, m in enumerate(members):
                values = per.get(m, per.get("control"))  # a variable without members
                if values is None:
                    raise WeatherFileError(f"{source}: location {k + 1} has no {col} for {m}")
                v = np.array([np.nan if x is None else x for x in values], dtype=float)
                if len(v) != n_t:
                    raise WeatherFileError(
                        f"{source}: {col} has {len(v)} values for {n_t} times (location {k + 1})"
                    )
                a[i, k] = _convert(col, v, units.get(col), source)
        out[col] = a
    return out, tuple(members)


def _times(raw: list, unit: str, offset_s: int, source: str) -> pd.DatetimeIndex:
    try:
        if unit == "unixtime" or (raw and isinstance(raw[0], int | float)):
            return pd.DatetimeIndex(pd.to_datetime(np.asarray(raw, dtype=np.int64), unit="s"))
        local = pd.DatetimeIndex(pd.to_datetime(raw, format="ISO8601"))
    except (ValueError, TypeError):
        raise WeatherFileError(f"{source}: hourly times are not ISO 8601 or unixtime") from None
    if local.tz is not None:
        return local.tz_convert("UTC").tz_localize(None)
    return local - pd.Timedelta(seconds=int(offset_s))


def forecast_from_open_meteo(doc: object, source: str = "Open-Meteo") -> Forecast:
    """A :class:`Forecast` from a parsed Open-Meteo JSON response (one object or a list).

    Raises
    ------
    WeatherFileError
        As :func:`read_forecast`.
    """
    return _from_open_meteo_json(doc, source)


def _from_open_meteo_json(doc: object, source: str) -> Forecast:
    raw = doc if isinstance(doc, list) else [doc]
    if not raw or not all(isinstance(o, dict) for o in raw):
        raise WeatherFileError(f"{source}: not an Open-Meteo response")
    objs: list[dict] = [o for o in raw if isinstance(o, dict)]
    first = objs[0]
    if first.get("error"):
        raise WeatherFileError(f"{source}: the API answered an error: {first.get('reason', '')}")
    labels = None
    blocks = []
    lat, lon, elev = [], [], []
    for k, o in enumerate(objs):
        hourly, units = o.get("hourly"), o.get("hourly_units") or {}
        if not isinstance(hourly, dict) or "time" not in hourly:
            raise WeatherFileError(f"{source}: location {k + 1} has no hourly section")
        t = _times(
            hourly["time"], str(units.get("time", "")), int(o.get("utc_offset_seconds", 0)), source
        )
        if labels is None:
            labels = t
        elif not t.equals(labels):
            raise WeatherFileError(f"{source}: locations do not share one time axis")
        blocks.append(_variables(hourly, units, source))
        lat.append(float(o.get("latitude", math.nan)))
        lon.append(float(o.get("longitude", math.nan)))
        elev.append(float(o.get("elevation", math.nan)))
    assert labels is not None
    arrays, members = _location_arrays(blocks, len(labels), source)
    kind = "ensemble" if len(members) > 1 else "forecast"
    return forecast_from_arrays(
        labels.tz_localize("UTC"),
        arrays,
        latitude_deg=np.array(lat),
        longitude_deg=np.array(lon),
        elevation_m=np.array(elev),
        members=members,
        instant=True,
        source=f"{source} (Open-Meteo {kind} JSON, {len(objs)} location(s))",
    )


# --- Open-Meteo CSV --------------------------------------------------------------------------

_UNIT_IN_HEADER = re.compile(r"^(?P<name>[^ ]+) \((?P<unit>.*)\)$")


def _from_open_meteo_csv(text: str, source: str) -> Forecast:
    sections = [s for s in re.split(r"\r?\n\s*\r?\n", text.strip()) if s.strip()]
    header = list(csv.reader(io.StringIO(sections[0])))
    names = header[0]
    rows = header[1:]
    multi = names[0] == "location_id"
    loc_ids, lat, lon, elev, offsets = [], [], [], [], []
    try:
        for r in rows:
            d = dict(zip(names, r, strict=False))
            loc_ids.append(int(d["location_id"]) if multi else 0)
            lat.append(float(d["latitude"]))
            lon.append(float(d["longitude"]))
            elev.append(float(d.get("elevation", "nan")))
            offsets.append(int(float(d.get("utc_offset_seconds", "0"))))
    except (KeyError, ValueError):
        raise WeatherFileError(f"{source}: unreadable Open-Meteo location header") from None
    hourly = None
    for s in sections[1:]:
        frame = pd.read_csv(io.StringIO(s), na_values=["NaN", "nan", ""])
        if "time" not in frame.columns or len(frame) < 2:
            continue
        first_loc = frame[frame["location_id"] == loc_ids[0]] if multi else frame
        step = _step_s(first_loc["time"])
        if step == 3600:
            hourly = frame
            break
    if hourly is None:
        raise WeatherFileError(f"{source}: no hourly section (a time column in 1-hour steps)")
    blocks = []
    labels = None
    for k, loc in enumerate(loc_ids):
        part = hourly[hourly["location_id"] == loc] if multi else hourly
        unit_time = "unixtime" if pd.api.types.is_numeric_dtype(part["time"]) else ""
        stamps = _times(part["time"].tolist(), unit_time, offsets[k], source)
        if labels is None:
            labels = stamps
        elif not stamps.equals(labels):
            raise WeatherFileError(f"{source}: locations do not share one time axis")
        values, units = {}, {}
        for column in part.columns:
            m = _UNIT_IN_HEADER.match(str(column))
            if m is None:
                continue
            values[m["name"]] = part[column].to_numpy(float).tolist()
            units[m["name"]] = m["unit"]
        blocks.append(_variables(values, units, source))
    assert labels is not None
    arrays, members = _location_arrays(blocks, len(labels), source)
    kind = "ensemble" if len(members) > 1 else "forecast"
    return forecast_from_arrays(
        labels.tz_localize("UTC"),
        arrays,
        latitude_deg=np.array(lat),
        longitude_deg=np.array(lon),
        elevation_m=np.array(elev),
        members=members,
        instant=True,
        source=f"{source} (Open-Meteo {kind} CSV, {len(loc_ids)} location(s))",
    )


def _step_s(times: pd.Series) -> int | None:
    if pd.api.types.is_numeric_dtype(times):
        v = times.to_numpy(np.int64)
        return int(v[1] - v[0]) if len(v) > 1 else None
    try:
        t = pd.to_datetime(times.iloc[:2], format="ISO8601")
    except (ValueError, TypeError):
        return None
    return int((t.iloc[1] - t.iloc[0]).total_seconds())


# --- plain CSV -------------------------------------------------------------------------------


def _from_plain_csv(text: str, source: str) -> Forecast:
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as exc:
        raise WeatherFileError(f"{source}: unreadable CSV ({str(exc).splitlines()[0]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if "time" not in frame.columns or "ghi" not in frame.columns:
        raise WeatherFileError(
            f"{source}: a forecast CSV needs columns time and ghi (and optionally latitude, "
            "longitude, member, dni, dhi, temp_air, wind_speed)"
        )
    try:
        times = pd.to_datetime(frame["time"], format="ISO8601")
    except (ValueError, TypeError):
        raise WeatherFileError(f"{source}: column time is not ISO 8601") from None
    if getattr(times.dt, "tz", None) is None:
        raise WeatherFileError(f"{source}: times need a UTC offset (e.g. 2026-07-01T10:00Z)")
    frame["time"] = times.dt.tz_convert("UTC")
    has_loc = "latitude" in frame.columns and "longitude" in frame.columns
    if not has_loc:
        frame["latitude"], frame["longitude"] = np.nan, np.nan
    if "member" not in frame.columns:
        frame["member"] = "control"
    frame["member"] = frame["member"].astype(str)
    locs = frame[["latitude", "longitude"]].drop_duplicates().reset_index(drop=True)
    members = tuple(
        sorted(frame["member"].unique(), key=lambda m: (m != "control", m))  # control first
    )
    labels = pd.DatetimeIndex(frame["time"].drop_duplicates().sort_values())
    n_m, n_loc, n_t = len(members), len(locs), len(labels)
    if frame.duplicated(["time", "latitude", "longitude", "member"]).any():
        raise WeatherFileError(f"{source}: a time repeats for one location and member")
    loc_index = pd.MultiIndex.from_frame(locs)
    key_loc = loc_index.get_indexer(pd.MultiIndex.from_frame(frame[["latitude", "longitude"]]))
    if has_loc and np.isnan(locs.to_numpy(float)).any():
        raise WeatherFileError(f"{source}: latitude/longitude missing on some rows")
    key_m = pd.Index(members).get_indexer(frame["member"])
    key_t = labels.get_indexer(pd.DatetimeIndex(frame["time"]))
    columns = {}
    for c in COLUMNS:
        if c in frame.columns:
            a = np.full((n_m, n_loc, n_t), np.nan)
            a[key_m, key_loc, key_t] = pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
            columns[c] = a
    return forecast_from_arrays(
        labels,
        columns,
        latitude_deg=locs["latitude"].to_numpy(float),
        longitude_deg=locs["longitude"].to_numpy(float),
        members=members,
        instant=False,
        source=f"{source} (forecast CSV, {n_loc} location(s), {n_m} member(s))",
    )
