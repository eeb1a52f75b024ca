"""Where the climate default's numbers come from, and the rule that picks them.

The default table ``data/iran_climatology.csv`` is **built** from the sources below by
:func:`build_default` (``python -m simulate.climate_sources --write``), and a test checks that
the shipped file equals a fresh build, so every value can be traced to its sources and its rule:

Sources (``data/climate_sources.csv`` lists each with its citation, period and date):

- ``merra2``: NASA MERRA-2 reanalysis 2011–2015, 3° cells (:mod:`simulate.merra2`), bilinear
  between the cell centres around the capital. For every capital.
- ``ap:<normals>``: GHI estimated from a station's **sunshine-duration normals**
  (``data/station_normals.csv``) with the Ångström–Prescott relation ``Rs = (a + b·n/N)·Ra``
  and FAO-56's coefficients a = 0.25, b = 0.50 (Allen et al. 1998, eq. 35; Ra and N from
  eqs. 21–34). Independent of MERRA-2: a ground measurement of sunshine through a generic
  empirical law. Where sunshine normals were found.
- ``previous``: the table this project shipped from 2026-11-22 to 2026-12-01, hand-transcribed
  and never checked value by value (``data/climatology_2026-11-22.csv``). Not an independent
  source; shown for the change it makes, and used only where nothing better exists.
- station temperature normals (``data/station_normals.csv``), where found.

The rule (:func:`build_default`):

- **GHI**: MERRA-2, except on the Caspian lowland (:data:`CASPIAN_LOWLAND`: Rasht, Sari,
  Gorgan), where a 3° cell averages the cloudy coastal plain with the sunny plateau behind the
  Alborz (MERRA-2 gives Rasht 1,950 kWh/m²/yr, about 1,730 kWh/kWp for a 30° plant, against the
  program's "about 1,200 kWh/kWp on the Caspian coast"); there the previous values stay,
  flagged as unverified.
- **Temperature**: a station's monthly mean normals where found (the mean of its monthly mean
  maximum and minimum where only those are given); the previous values elsewhere.
  **Diurnal range**: the station's mean max − min where given; else the previous value.
- **Wind**: the previous values (no source found here).

Each row of the built table names its sources in ``ghi_source``, ``temp_source`` and
``wind_source``.
"""

from __future__ import annotations

import argparse
import functools
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from simulate import merra2

__all__ = [
    "CASPIAN_LOWLAND",
    "FAO56_A",
    "FAO56_B",
    "Source",
    "angstrom_prescott_ghi",
    "build_default",
    "capital_ghi_sources",
    "previous_default",
    "sources",
    "station_normals",
]

MONTHS = tuple(f"{m:02d}" for m in range(1, 13))
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
#: Ångström–Prescott coefficients recommended where none are calibrated (Allen et al. 1998,
#: FAO Irrigation and Drainage Paper 56, eq. 35). [-]
FAO56_A = 0.25
FAO56_B = 0.50
#: Capitals on the Caspian coastal plain, where MERRA-2's 3° cells are not representative.
CASPIAN_LOWLAND = ("Rasht", "Sari", "Gorgan")
_SOLAR_CONSTANT_MJ_M2_MIN = 0.0820  # FAO-56 eq. 21
_DEFAULT_HEADER = """\
# The climate default of Roshanai for Iran's 31 province capitals. BUILT, do not edit by hand:
#   python -m simulate.climate_sources --write
# from the sources in climate_sources.csv by the rule in simulate/climate_sources.py; each row
# names the sources of its values (ghi_source, temp_source, wind_source). An ESTIMATE for
# planning: see README.md beside this file and the validation table in the project README.
# ghi_kwh_m2_day_MM: mean daily global horizontal irradiation [kWh/m2/day];
# temp_c_MM: mean air temperature [degC]; temp_range_c: annual mean daily max-min [degC];
# wind_m_s_MM: mean wind speed at 10 m [m/s].
"""


def _data_text(name: str) -> str:
    return (resources.files("simulate") / "data" / name).read_text("utf-8")


@dataclass(frozen=True)
class Source:
    """One cited source of the climate default.

    Attributes
    ----------
    source_id : str
    kind : str
        ``reanalysis``, ``station``, ``station-derived``, ``previous`` or ``program``.
    citation : str
        Authors or publisher, title.
    url : str
    period : str
        Years the figures describe.
    dated : str
        When the source was published or the copy read (ISO date or year).
    note : str
    """

    source_id: str
    kind: str
    citation: str
    url: str
    period: str
    dated: str
    note: str


@functools.cache
def sources() -> dict[str, Source]:
    """Every source the default and its validation cite, by id (``data/climate_sources.csv``)."""
    df = pd.read_csv(io.StringIO(_data_text("climate_sources.csv")), comment="#", dtype=str)
    df = df.fillna("")
    fields = ["source_id", "kind", "citation", "url", "period", "dated", "note"]
    return {str(rec[0]): Source(*map(str, rec)) for rec in df[fields].to_numpy().tolist()}


@functools.cache
def station_normals() -> pd.DataFrame:
    """Station normals copied from their sources (``data/station_normals.csv``).

    Returns
    -------
    pandas.DataFrame
        Columns ``city``, ``source_id``, ``period``, ``variable`` (``sunshine_hours_month``,
        ``temp_mean_c``, ``temp_high_c``, ``temp_low_c``), ``unit``, ``m01``…``m12``, ``year``.
    """
    df = pd.read_csv(io.StringIO(_data_text("station_normals.csv")), comment="#")
    unknown = set(df["source_id"]) - set(sources())
    if unknown:
        raise RuntimeError(f"station_normals.csv cites unknown sources: {sorted(unknown)}")
    return df


@functools.cache
def previous_default() -> pd.DataFrame:
    """The hand-transcribed table shipped until 2026-12-01, indexed by city."""
    df = pd.read_csv(io.StringIO(_data_text("climatology_2026-11-22.csv")), comment="#")
    return df.set_index("city", drop=False)


def _monthly(row: pd.Series) -> np.ndarray:
    return row[[f"m{m}" for m in MONTHS]].to_numpy(float)


def _ra_and_daylength(latitude_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Monthly means of daily extraterrestrial irradiation [kWh/m²/day] and day length [h]."""
    doy = np.arange(1, 366)
    dr = 1 + 0.033 * np.cos(2 * np.pi * doy / 365)  # FAO-56 eq. 23
    decl = 0.409 * np.sin(2 * np.pi * doy / 365 - 1.39)  # eq. 24
    phi = np.radians(latitude_deg)
    ws = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))  # eq. 25
    ra_mj = (
        24
        * 60
        / np.pi
        * _SOLAR_CONSTANT_MJ_M2_MIN
        * dr
        * (ws * np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.sin(ws))
    )  # eq. 21
    n_max = 24 / np.pi * ws  # eq. 34
    month = np.repeat(np.arange(12), DAYS_IN_MONTH)
    ra = np.bincount(month, weights=ra_mj) / DAYS_IN_MONTH / 3.6
    return ra, np.bincount(month, weights=n_max) / DAYS_IN_MONTH


def angstrom_prescott_ghi(
    latitude_deg: float,
    sunshine_hours_month: np.ndarray,
    a: float = FAO56_A,
    b: float = FAO56_B,
) -> np.ndarray:
    """Monthly mean daily GHI from sunshine duration (Ångström–Prescott, FAO-56 eq. 35).

    Parameters
    ----------
    latitude_deg : float
        Station latitude. [degree]
    sunshine_hours_month : numpy.ndarray
        12 monthly totals of bright sunshine. [h]
    a, b : float
        Ångström–Prescott coefficients. [-]

    Returns
    -------
    numpy.ndarray
        12 values. [kWh/m²/day]
    """
    ra, n_max = _ra_and_daylength(latitude_deg)
    n = np.asarray(sunshine_hours_month, float) / DAYS_IN_MONTH
    return np.asarray((a + b * np.clip(n / n_max, 0.0, 1.0)) * ra)


def capital_ghi_sources(city: str) -> dict[str, np.ndarray]:
    """Each independent source's monthly mean daily GHI at a capital [kWh/m²/day].

    Parameters
    ----------
    city : str
        A capital as spelled in the table (``Tehran``, ``Shahr-e Kord``…).

    Returns
    -------
    dict
        ``merra2`` always; ``ap:<source_id>`` per station with monthly sunshine normals.
    """
    prev = previous_default()
    if city not in prev.index:
        raise KeyError(city)
    lat = float(prev["latitude"].to_numpy(float)[prev.index.get_loc(city)])
    lon = float(prev["longitude"].to_numpy(float)[prev.index.get_loc(city)])
    out = {"merra2": merra2.monthly_ghi(lat, lon)}
    norms = station_normals()
    sun = norms[(norms["city"] == city) & (norms["variable"] == "sunshine_hours_month")]
    for _, row in sun.iterrows():
        months = _monthly(row)
        if np.isfinite(months).all():
            out[f"ap:{row['source_id']}"] = angstrom_prescott_ghi(lat, months)
    return out


def _station_temperature(city: str) -> tuple[np.ndarray, float | None, str] | None:
    """A station's monthly mean temperature, its diurnal range, and the source id, if any."""
    norms = station_normals()
    rows = norms[norms["city"] == city]
    for sid in dict.fromkeys(rows["source_id"]):
        mine = rows[rows["source_id"] == sid].set_index("variable")
        have = {v: _monthly(mine.loc[v]) for v in mine.index}
        have = {v: x for v, x in have.items() if np.isfinite(x).all()}
        rng = None
        if "temp_high_c" in have and "temp_low_c" in have:
            rng = float(np.mean(have["temp_high_c"] - have["temp_low_c"]))
        if "temp_mean_c" in have:
            return have["temp_mean_c"], rng, str(sid)
        if "temp_high_c" in have and "temp_low_c" in have:
            return (have["temp_high_c"] + have["temp_low_c"]) / 2.0, rng, f"{sid} (max+min)/2"
    return None


def build_default() -> pd.DataFrame:
    """The climate default, built from the sources by the module's rule.

    Returns
    -------
    pandas.DataFrame
        One row per capital, the columns of :func:`simulate.climatology.load_climatology` plus
        ``ghi_source``, ``temp_source`` and ``wind_source``.
    """
    prev = previous_default()
    rows = []
    for city, p in prev.iterrows():
        row = {
            k: p[k]
            for k in ("province", "city", "latitude", "longitude", "altitude_m", "temp_range_c")
        }
        if city in CASPIAN_LOWLAND:
            ghi = p[[f"ghi_kwh_m2_day_{m}" for m in MONTHS]].to_numpy(float)
            row["ghi_source"] = "previous (unverified; MERRA-2's 3° cell is the plateau's)"
        else:
            ghi = capital_ghi_sources(str(city))["merra2"]
            row["ghi_source"] = "merra2"
        temp = p[[f"temp_c_{m}" for m in MONTHS]].to_numpy(float)
        row["temp_source"] = "previous (unverified)"
        station = _station_temperature(str(city))
        if station is not None:
            temp, rng, sid = station
            row["temp_source"] = sid
            if rng is not None:
                row["temp_range_c"] = round(rng, 1)
        for m, g, t in zip(MONTHS, ghi, temp, strict=True):
            row[f"ghi_kwh_m2_day_{m}"] = round(float(g), 3)
            row[f"temp_c_{m}"] = round(float(t), 1)
        for m in MONTHS:
            row[f"wind_m_s_{m}"] = p[f"wind_m_s_{m}"]
        row["wind_source"] = "previous (unverified)"
        rows.append(row)
    cols = ["province", "city", "latitude", "longitude", "altitude_m", "temp_range_c"]
    cols += [f"{v}{m}" for v in ("ghi_kwh_m2_day_", "temp_c_", "wind_m_s_") for m in MONTHS]
    cols += ["ghi_source", "temp_source", "wind_source"]
    return pd.DataFrame(rows)[cols]


def default_csv_text() -> str:
    """The text of ``data/iran_climatology.csv`` as :func:`build_default` makes it."""
    buf = io.StringIO()
    buf.write(_DEFAULT_HEADER)
    build_default().to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    """``python -m simulate.climate_sources [--write]``: rebuild the default table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write data/iran_climatology.csv")
    args = ap.parse_args(argv)
    text = default_csv_text()
    if args.write:
        path = Path(__file__).parent / "data" / "iran_climatology.csv"
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
