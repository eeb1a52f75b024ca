"""Weather input: typical-year and measured files, checked before any simulation.

Every reader returns the same shape (:class:`Weather`): a DataFrame indexed by tz-aware UTC
timestamps **labelled at the end of each interval**, with pvlib's column names ``ghi``, ``dni``,
``dhi`` [W/m²], ``temp_air`` [°C] and ``wind_speed`` [m/s]. The simulator evaluates the sun at
each interval's midpoint (label − step/2) and keeps the file's labels in its outputs.

Formats, recognised from the content (not the extension alone):

- TMY3 (NSRDB CSV with a one-line station header), through :func:`pvlib.iotools.read_tmy3`;
- TMY2 (``.tm2``), through :func:`pvlib.iotools.read_tmy2`;
- EPW (EnergyPlus), through :func:`pvlib.iotools.read_epw`;
- PVGIS TMY (CSV or JSON), through :func:`pvlib.iotools.read_pvgis_tmy`;
- plain CSV: a ``time`` column (ISO 8601 with a UTC offset, end of the interval) and the five
  columns above.

Typical-year files are coerced to the year 1990 (docs/contracts.md).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from telemetry.errors import WeatherFileError

__all__ = ["COLUMNS", "TYPICAL_YEAR", "Weather", "check_weather", "read_weather"]

COLUMNS = ("ghi", "dni", "dhi", "temp_air", "wind_speed")
TYPICAL_YEAR = 1990
_LINE = "__line__"  # private column: a plain CSV row's physical line number, for messages

#: Physical limits [unit], used to catch corrupt files (not to judge the climate).
_LIMITS = {
    "ghi": (0.0, 1600.0),
    "dni": (0.0, 1500.0),
    "dhi": (0.0, 1000.0),
    "temp_air": (-80.0, 65.0),
    "wind_speed": (0.0, 80.0),
}


@dataclass(frozen=True)
class Weather:
    """Checked weather: ``data`` indexed by UTC end-of-interval labels.

    Attributes
    ----------
    data : pandas.DataFrame
        Columns :data:`COLUMNS`; index tz-aware UTC, regular, strictly increasing.
    source : str
        A short description (file name and format, or "generated estimate ...").
    step_hours : float
        Interval length [h].
    utc_offset_h : float or None
        The file's own fixed UTC offset [h] (TMY3/EPW/CSV), used to bin days and months in
        local time; None if unknown.
    latitude_deg, longitude_deg : float or None
        Station location from the file's metadata, if any.
    estimate : bool
        True for weather generated from the embedded climatology rather than read from data.
    """

    data: pd.DataFrame
    source: str
    step_hours: float = 1.0
    utc_offset_h: float | None = None
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    meta: dict = field(default_factory=dict)
    estimate: bool = False

    def __len__(self) -> int:
        return len(self.data)


def read_weather(path: str | Path) -> Weather:
    """Read and check a weather file (format detected from its content).

    Parameters
    ----------
    path : str or pathlib.Path
        TMY3, TMY2, EPW, PVGIS TMY (CSV/JSON) or plain CSV file.

    Returns
    -------
    Weather

    Raises
    ------
    WeatherFileError
        Missing or unreadable file, unknown format, gaps, duplicates, NaNs, values outside
        physical limits; the message names the timestamp.
    """
    p = Path(path)
    if not p.exists():
        raise WeatherFileError(f"weather file not found: {p}")
    if p.is_dir():
        raise WeatherFileError(f"weather file is a directory: {p}")
    try:
        with p.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError as exc:
        raise WeatherFileError(f"cannot read weather file {p}: {exc.strerror}") from None
    if not head.strip():
        raise WeatherFileError(f"{p.name}: the weather file is empty")
    kind = _detect(p, head)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw, offset_h, lat, lon, meta = _READERS[kind](p)
    except WeatherFileError as exc:
        if p.name in str(exc):
            raise
        raise WeatherFileError(f"{p.name}: {exc}") from None
    except Exception as exc:  # pvlib/pandas parse errors: one line, not a traceback
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeatherFileError(f"{p.name}: cannot read as {kind} weather: {msg}") from None
    line_numbers = raw.pop(_LINE).to_numpy() if _LINE in raw.columns else None
    data = check_weather(raw, p.name, typical_year=kind != "csv", line_numbers=line_numbers)
    return Weather(
        data=data,
        source=f"{p.name} ({kind})",
        step_hours=_step_hours(cast(pd.DatetimeIndex, data.index)),
        utc_offset_h=offset_h,
        latitude_deg=lat,
        longitude_deg=lon,
        meta=meta,
    )


def _detect(p: Path, head: str) -> str:
    lines = head.splitlines()
    first = lines[0] if lines else ""
    if p.suffix.lower() == ".epw" or first.startswith("LOCATION,"):
        return "epw"
    if p.suffix.lower() == ".tm2":
        return "tmy2"
    # PVGIS TMY CSV opens with "Latitude (decimal degrees): ..." (its "PVGIS" credit is in the
    # footer, beyond the head); the JSON with {"inputs": ..., "outputs": ...}.
    if first.startswith("Latitude (decimal degrees)") or (
        head.lstrip().startswith("{") and "outputs" in head
    ):
        return "pvgis"
    if len(lines) > 1 and "Date (MM/DD/YYYY)" in lines[1]:
        return "tmy3"
    # A plain CSV may open with comment lines (read_csv skips them with comment="#"), which
    # may well mention PVGIS: its header decides before that word does.
    header = next((s for s in lines if s.strip() and not s.lstrip().startswith("#")), "")
    if "time" in [c.strip().lower() for c in header.split(",")]:
        return "csv"
    if "PVGIS" in head:
        return "pvgis"
    raise WeatherFileError(
        f"{p.name}: unknown weather format (expected TMY3, TMY2, EPW, PVGIS TMY, or a CSV with "
        f"columns time, {', '.join(COLUMNS)})"
    )


def _offset_hours(index: pd.DatetimeIndex) -> float | None:
    off = index[0].utcoffset() if len(index) else None
    return None if off is None else off.total_seconds() / 3600


def _read_tmy3(p: Path):
    import pvlib

    # Coerced here, not with pvlib's coerce_year: that moves the LAST row to the next year
    # whatever its date, so a truncated file would read as a one-year gap, not a short year.
    df, meta = pvlib.iotools.read_tmy3(p, map_variables=True)
    df = _coerce_year(df)
    return df, float(meta["TZ"]), meta["latitude"], meta["longitude"], dict(meta)


def _read_tmy2(p: Path):
    import pvlib

    df, meta = pvlib.iotools.read_tmy2(p)
    # pvlib labels TMY2 rows by the start of the hour (hour − 1): move to end labels.
    df.index = df.index + pd.Timedelta(hours=1)
    df = _coerce_year(
        df.rename(
            columns={
                "GHI": "ghi",
                "DNI": "dni",
                "DHI": "dhi",
                "DryBulb": "temp_air",
                "Wspd": "wind_speed",
            }
        )
    )
    # TMY2 stores temperature in tenths of a degree and wind in tenths of m/s.
    df["temp_air"] = df["temp_air"] / 10.0
    df["wind_speed"] = df["wind_speed"] / 10.0
    return df, float(meta["TZ"]), meta["latitude"], meta["longitude"], dict(meta)


def _read_epw(p: Path):
    import pvlib

    df, meta = pvlib.iotools.read_epw(p, coerce_year=TYPICAL_YEAR)
    # EPW hour h covers (h-1, h]; pvlib labels the row h-1 (the interval's start), so the
    # year ends on 12-31 23:00. Move to end labels: hour 1 -> 01:00, hour 24 of Dec 31 -> the
    # next year's 01-01 00:00, as for TMY3.
    df.index = df.index + pd.Timedelta(hours=1)
    return df, float(meta["TZ"]), meta["latitude"], meta["longitude"], dict(meta)


def _read_pvgis(p: Path):
    import pvlib

    fmt = "json" if p.read_bytes()[:64].lstrip().startswith(b"{") else "csv"
    out = pvlib.iotools.read_pvgis_tmy(p, pvgis_format=fmt, map_variables=True)
    df, meta = out[0], out[-1]
    # PVGIS labels each hour by its start (HH:00 UTC; satellite samples sit a few minutes
    # later, its "irradiance time offset"): shift to end-of-interval labels like the others.
    df = _coerce_year(df)
    df.index = df.index + pd.Timedelta(hours=1)
    inputs = meta.get("inputs", {}) if isinstance(meta, dict) else {}
    # JSON: inputs.location.latitude; CSV (pvlib's parser): inputs.latitude.
    loc = inputs.get("location", inputs) if isinstance(inputs, dict) else {}
    return df, 0.0, loc.get("latitude"), loc.get("longitude"), {"pvgis": json.dumps(meta)[:200]}


def _read_csv(p: Path):
    try:
        df = pd.read_csv(p, comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise WeatherFileError(f"{p.name}: not a valid CSV: {str(exc).splitlines()[0]}") from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("time", *COLUMNS) if c not in df.columns]
    if missing:
        raise WeatherFileError(f"{p.name}: missing column(s) {', '.join(missing)}")
    line_no = _data_line_numbers(p, len(df))
    times = df["time"].astype(str).str.strip()
    parsed = pd.to_datetime(times, errors="coerce", utc=True, format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise WeatherFileError(
            f"{p.name} line {line_no[i]}: time {times.iloc[i]!r} is not ISO 8601 with a UTC offset"
        )
    naive = ~times.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    if naive.any():
        i = int(np.flatnonzero(naive.to_numpy())[0])
        raise WeatherFileError(
            f"{p.name} line {line_no[i]}: time {times.iloc[i]!r} has no UTC offset (write e.g. "
            f"2026-07-01T10:00:00+03:30)"
        )
    offset = pd.Timestamp(times.iloc[0]).utcoffset()
    df.index = pd.DatetimeIndex(parsed)
    df[_LINE] = line_no
    offset_h = None if offset is None else offset.total_seconds() / 3600
    return df, offset_h, None, None, {}


def _data_line_numbers(p: Path, n_rows: int) -> np.ndarray:
    """Physical line number of each data row (blank and ``#`` comment lines are skipped, as
    :func:`pandas.read_csv` does); a plain count if quoted line breaks make them disagree."""
    text = p.read_text(encoding="utf-8", errors="replace").splitlines()
    lines = [i + 1 for i, s in enumerate(text) if s.strip() and not s.lstrip().startswith("#")]
    if len(lines) == n_rows + 1:
        return np.asarray(lines[1:], dtype=np.int64)
    return np.arange(2, n_rows + 2, dtype=np.int64)


_READERS = {
    "tmy3": _read_tmy3,
    "tmy2": _read_tmy2,
    "epw": _read_epw,
    "pvgis": _read_pvgis,
    "csv": _read_csv,
}


def _coerce_year(df: pd.DataFrame) -> pd.DataFrame:
    """Set every timestamp to :data:`TYPICAL_YEAR` (a final Jan 1 00:00 label to the next)."""
    idx = df.index
    years = np.full(len(idx), TYPICAL_YEAR)
    last = idx[-1]
    if len(idx) > 1 and (last.month, last.day, last.hour) == (1, 1, 0):
        years[-1] += 1
    try:
        new = [t.replace(year=int(y)) for t, y in zip(idx, years, strict=True)]
    except ValueError:
        raise WeatherFileError("a typical-year file with February 29 cannot be coerced") from None
    out = df.copy()
    out.index = pd.DatetimeIndex(new)
    return out


def _step_hours(index: pd.DatetimeIndex) -> float:
    if len(index) < 2:
        return 1.0
    return float((index[1] - index[0]) / pd.Timedelta(hours=1))


def check_weather(
    raw: pd.DataFrame,
    name: str,
    *,
    typical_year: bool = False,
    line_numbers: np.ndarray | None = None,
) -> pd.DataFrame:
    """Check and normalise a weather frame (index tz-aware, end-of-interval labels).

    Parameters
    ----------
    raw : pandas.DataFrame
        Must hold :data:`COLUMNS`; index tz-aware.
    name : str
        File name for messages.
    typical_year : bool
        If True, a full hourly year (8760 or 8784 rows) is required.
    line_numbers : numpy.ndarray, optional
        The file line of each row (plain CSV), named in messages beside the timestamp.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` as float64, index UTC (nanosecond resolution).

    Raises
    ------
    WeatherFileError
        With the first offending timestamp (and line, given ``line_numbers``).
    """

    def at(i: int) -> str:  # "name" or "name line N": where row i of ``raw`` is
        if line_numbers is None or not 0 <= i < len(line_numbers):
            return name
        return f"{name} line {int(line_numbers[i])}"

    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise WeatherFileError(f"{name}: missing column(s) {', '.join(missing)}")
    if not isinstance(raw.index, pd.DatetimeIndex) or raw.index.tz is None:
        raise WeatherFileError(f"{name}: timestamps must carry a UTC offset")
    df = raw.loc[:, list(COLUMNS)].copy()
    for c in COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    df.index = cast(pd.DatetimeIndex, df.index).tz_convert("UTC").as_unit("ns")
    if len(df) < 24:
        raise WeatherFileError(f"{name}: {len(df)} rows; at least 24 hourly rows are needed")
    idx = cast(pd.DatetimeIndex, df.index)
    diffs = np.diff(idx.asi8)
    dup = np.flatnonzero(diffs == 0)
    if len(dup):
        raise WeatherFileError(f"{at(dup[0] + 1)}: duplicate timestamp {_fmt(idx[dup[0] + 1])}")
    back = np.flatnonzero(diffs < 0)
    if len(back):
        raise WeatherFileError(
            f"{at(back[0] + 1)}: timestamps go backwards at {_fmt(idx[back[0] + 1])}"
        )
    step = diffs[0]
    if step not in (3_600_000_000_000, 1_800_000_000_000, 900_000_000_000):
        raise WeatherFileError(
            f"{name}: the interval is {step / 6e10:g} min; hourly (or 30/15 min) data is needed"
        )
    gaps = np.flatnonzero(diffs != step)
    if len(gaps):
        i = gaps[0]
        raise WeatherFileError(
            f"{at(i + 1)}: gap of {diffs[i] / 3.6e12:g} h after {_fmt(idx[i])} (expected a regular "
            f"{step / 6e10:g}-min series)"
        )
    if typical_year and step == 3_600_000_000_000 and len(df) not in (8760, 8784):
        raise WeatherFileError(f"{name}: {len(df)} hourly rows; a typical year has 8760")
    values = df.to_numpy()
    nan_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if len(nan_rows):
        i = nan_rows[0]
        cols = [c for c, ok in zip(COLUMNS, np.isfinite(values[i]), strict=True) if not ok]
        raise WeatherFileError(
            f"{at(i)}: missing or non-numeric {', '.join(cols)} at {_fmt(idx[i])} "
            f"({len(nan_rows)} row(s) affected)"
        )
    for c, (lo, hi) in _LIMITS.items():
        col = df[c].to_numpy()
        out = np.flatnonzero((col < lo) | (col > hi))
        if c in ("ghi", "dni", "dhi"):
            # Small negative night values are common instrument offsets: clip them to zero.
            tiny = (col < 0) & (col >= -10)
            df.loc[tiny, c] = 0.0
            out = np.flatnonzero((col < -10) | (col > hi))
        if len(out):
            i = out[0]
            raise WeatherFileError(
                f"{at(i)}: {c} = {col[i]:g} at {_fmt(idx[i])} is outside [{lo:g}, {hi:g}]"
            )
    return df


def _fmt(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%MZ")


SHIFT_WARN_H = 0.75
"""A weather file whose sunlight peaks this far from the sun's noon at the plants is suspect
(local times labelled as UTC, start-of-hour labels read as ends): at 0.75 h a whole-hour shift
is caught while real asymmetry (morning haze, afternoon clouds) stays below it. [h]"""


def timing_offset_h(weather: Weather, latitude_deg: float, longitude_deg: float) -> float | None:
    """How far the weather's sunlight is shifted in time against the sun at a place: the mean
    over sunny days of (GHI-weighted centre of the day, at interval midpoints) − (solar noon
    from the equation of time) [h]; positive when the data's sun comes late. None when the
    data holds too few sunny days to tell.

    A clear morning and a clear afternoon are symmetric about solar noon (the same zenith
    angles), so for weather labelled as its format says the offset is a few minutes; a file
    of local times labelled ``+00:00`` in Iran shows about −3.5 h.
    """
    data = weather.data
    if len(data) < 48:
        return None
    step_ns = int(weather.step_hours * 3600e9)
    mid = _ns(data.index) - step_ns // 2
    ghi = data["ghi"].to_numpy(float)
    from_noon, day, _ = _hours_from_noon(mid, longitude_deg)
    frame = pd.DataFrame({"day": day, "w": np.clip(ghi, 0, None), "t": from_noon})
    frame["wt"] = frame["w"] * frame["t"]
    per_day = frame.groupby("day")[["w", "wt"]].sum()
    sunny = per_day[per_day["w"] > per_day["w"].quantile(0.5)]
    sunny = sunny[sunny["w"] > 0]
    if len(sunny) < 5:
        return None
    return float((sunny["wt"] / sunny["w"]).median())


DAYLIGHT_LATITUDE_WARN_DEG = 8.0
"""A weather file whose days put it this far north or south of the plants (about 900 km)
earns a warning. [degree]"""


def _hours_from_noon(
    mid_ns: np.ndarray, longitude_deg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hours from the local solar noon at interval midpoints (folded into (-12, 12]), the
    solar day of each at ``longitude_deg``, and the (UTC) day of the year, 1-based; the
    equation of time is pvlib's ``equation_of_time_spencer71``."""
    from pvlib.solarposition import equation_of_time_spencer71

    doy = pd.to_datetime(mid_ns, utc=True).day_of_year.to_numpy()
    eot_min = equation_of_time_spencer71(doy.astype(float))
    hours_utc = (mid_ns % 86_400_000_000_000) / 3.6e12
    from_noon = hours_utc + longitude_deg / 15 + eot_min / 60 - 12
    from_noon = (from_noon + 12) % 24 - 12
    day = (mid_ns + int((longitude_deg / 15) * 3.6e12)) // 86_400_000_000_000
    return from_noon, day, doy


def daylight_latitude_deg(weather: Weather, longitude_deg: float) -> float | None:
    """The latitude the weather's day lengths belong to [degree, north positive], or None.

    Sunlight (GHI above zero) is counted per solar day, in the data's own intervals, and
    compared with the intervals a sky at each candidate latitude would light: those during
    which the sun's centre is above the horizon (zenith 90.83°, with refraction) for some of
    the time. The hours of daylight a latitude gives change by about 0.16 h per degree at
    35°, and counting the data's intervals the same way removes the bias of the hourly steps;
    clouds do not zero GHI by day. The latitude (every 0.25°) of least squared difference
    over whole days is returned; None for less than 30 days, or when no latitude fits within
    an hour a day (the data is not a sun-lit series).

    Parameters
    ----------
    weather : Weather
    longitude_deg : float
        Where the solar days and noons are [degree, east positive] (the plants' longitude).
    """
    from pvlib.solarposition import declination_spencer71

    data = weather.data
    step_h = float(weather.step_hours)
    mid = _ns(data.index) - int(step_h * 1800e9)
    from_noon, day, doy = _hours_from_noon(mid, longitude_deg)
    codes, day_idx = np.unique(day, return_inverse=True)
    whole = np.bincount(day_idx, minlength=len(codes)) * step_h >= 23.5
    if whole.sum() < 30:
        return None
    lit = (data["ghi"].to_numpy(float) > 0).astype(float)
    data_h = np.bincount(day_idx, lit, len(codes))[whole] * step_h
    decl = declination_spencer71(doy.astype(float))  # [radian]
    start_h, end_h = from_noon - step_h / 2, from_noon + step_h / 2
    cos_horizon = np.cos(np.radians(90.83))
    best, best_cost = None, np.inf
    for lat in np.arange(-66.0, 66.01, 0.25):
        phi = np.radians(lat)
        cos_w0 = (cos_horizon - np.sin(phi) * np.sin(decl)) / (np.cos(phi) * np.cos(decl))
        half_day_h = np.degrees(np.arccos(np.clip(cos_w0, -1.0, 1.0))) / 15
        up = (end_h > -half_day_h) & (start_h < half_day_h) & (half_day_h > 0)
        model_h = np.bincount(day_idx, up.astype(float), len(codes))[whole] * step_h
        cost = float(np.mean((data_h - model_h) ** 2))
        if cost < best_cost:
            best, best_cost = float(lat), cost
    return best if best_cost <= 1.0 else None


def _ns(index: pd.Index) -> np.ndarray:
    """Epoch nanoseconds of a tz-aware index of any resolution (``s``, ``us``, ``ns``)."""
    return cast(pd.DatetimeIndex, index).as_unit("ns").asi8
