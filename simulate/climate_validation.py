"""The climate default against its sources, capital by capital: the validation table.

For each of the 31 capitals: each source's annual GHI [kWh/m²/yr] and the specific yield
[kWh/kWp/yr] a 5 kWp plant tilted 30° facing south gets from it (the same generator and kernel,
only the monthly GHI differs), the default's, and how far the default is from the sources'
mean. ``roshanai simulate climate`` prints it; the README carries it (``--markdown``), and a
test checks that the README's copy is what the code computes today.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from simulate.climate_sources import (
    CASPIAN_LOWLAND,
    DAYS_IN_MONTH,
    MONTHS,
    capital_ghi_sources,
    previous_default,
    sources,
    station_normals,
)

__all__ = ["AGREEMENT_PCT", "PROGRAM_YIELD", "TOLERANCE_PCT", "markdown", "validation_table"]

#: Sources "agree" when their annual GHI are within this of each other (max/min − 1). [%]
AGREEMENT_PCT = 10.0
#: Where they agree, the default must be within this of their mean. [%]
TOLERANCE_PCT = 7.0
#: The program's stated specific yields (source ``program``), where they name a capital's
#: region. [kWh/kWp/yr]
PROGRAM_YIELD = {
    "Tehran": 1800.0,
    "Rasht": 1200.0,
    "Sari": 1200.0,
    "Gorgan": 1200.0,
    "Zahedan": 1950.0,
    "Kerman": 1950.0,
}


def _annual(ghi_kwh_m2_day: np.ndarray) -> float:
    return float(np.asarray(ghi_kwh_m2_day) @ DAYS_IN_MONTH)


def _specific_yield(row: pd.Series, ghi: np.ndarray) -> float:
    """kWh/kWp/yr of a 5 kWp, 30° south plant on a year generated from this monthly GHI."""
    from simulate.climatology import default_weather
    from simulate.fleet import run_fleet
    from simulate.weather import Weather
    from telemetry.registry import Fleet

    lat, lon = float(row["latitude"]), float(row["longitude"])
    climate = pd.DataFrame(
        {
            "ghi_kwh_m2_day": ghi,
            "temp_c": row[[f"temp_c_{m}" for m in MONTHS]].to_numpy(float),
            "wind_m_s": row[[f"wind_m_s_{m}" for m in MONTHS]].to_numpy(float),
            "temp_range_c": np.full(12, float(row["temp_range_c"])),
        },
        index=pd.RangeIndex(1, 13, name="month"),
    )
    w = default_weather(lat, lon, float(row["altitude_m"]), climate=climate)
    plant = {
        "plant_id": "validation",
        "latitude": lat,
        "longitude": lon,
        "altitude_m": float(row["altitude_m"]),
        "dc_kwp": 5.0,
        "ac_kw": 5.0,
        "tilt_deg": 30.0,
        "azimuth_deg": 180.0,
    }
    weather = Weather(data=w, source="validation", utc_offset_h=None, estimate=True)
    run = run_fleet(Fleet.from_records([plant]), weather)
    return float(run.summary["specific_yield_kwh_per_kwp"].iloc[0])


def _station_temperature_c(city: str) -> str:
    """Annual mean temperatures of the station normals found for a city, with their sources."""
    norms = station_normals()
    rows = norms[(norms["city"] == city) & norms["variable"].isin(["temp_mean_c"])]
    parts = []
    for _, r in rows.iterrows():
        months = r[[f"m{m}" for m in MONTHS]].to_numpy(float)
        value = (
            float(months @ DAYS_IN_MONTH / 365) if np.isfinite(months).all() else float(r["year"])
        )
        if np.isfinite(value):
            parts.append(f"{value:.1f} ({r['source_id']})")
    return "; ".join(parts)


def validation_table(progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """The default against its sources for every capital.

    Parameters
    ----------
    progress : callable, optional
        Called as ``progress(capitals_done, capitals_total)``.

    Returns
    -------
    pandas.DataFrame
        One row per capital: ``city``, ``province``; annual GHI [kWh/m²/yr]
        ``merra2_ghi_kwh_m2``, ``station_ghi_kwh_m2`` (Ångström–Prescott from sunshine normals,
        NaN where none were found), ``previous_ghi_kwh_m2``, ``default_ghi_kwh_m2``;
        ``sources_spread_pct`` (max/min − 1 of the independent sources, NaN with one source),
        ``default_vs_sources_pct`` (default ÷ the independent sources' mean − 1); specific yield
        of a 5 kWp 30° south plant [kWh/kWp/yr] ``merra2_yield``, ``station_yield``,
        ``default_yield``, ``program_yield`` (the program's figure where it names the region);
        ``default_temp_c`` and ``previous_temp_c`` (annual mean) [°C], ``station_temp_c``
        (the station normals' annual means, with their sources); ``ghi_source``,
        ``temp_source``; ``verdict``.
    """
    from simulate.climatology import load_climatology

    default = load_climatology().set_index("city", drop=False)
    prev = previous_default()
    out = []
    cities = list(default.index)
    for i, city in enumerate(cities):
        row = default.loc[city]
        src = capital_ghi_sources(str(city))
        station = [v for k, v in src.items() if k.startswith("ap:")]
        ghi_default = row[[f"ghi_kwh_m2_day_{m}" for m in MONTHS]].to_numpy(float)
        ghi_prev = prev.loc[city, [f"ghi_kwh_m2_day_{m}" for m in MONTHS]].to_numpy(float)
        independent = [_annual(src["merra2"])] + [_annual(s) for s in station]
        mean = float(np.mean(independent))
        spread = (max(independent) / min(independent) - 1) * 100 if len(independent) > 1 else np.nan
        d = _annual(ghi_default)
        vs = (d / mean - 1) * 100
        if city in CASPIAN_LOWLAND:
            verdict = "coast: previous kept (unverified)"
        elif len(independent) < 2:
            verdict = "one source"
        elif spread <= AGREEMENT_PCT:
            verdict = "agree" if abs(vs) <= TOLERANCE_PCT else "DEFAULT OUTSIDE TOLERANCE"
        else:
            verdict = f"sources differ {spread:.0f} %"
        temp = row[[f"temp_c_{m}" for m in MONTHS]].to_numpy(float)
        temp_prev = prev.loc[city, [f"temp_c_{m}" for m in MONTHS]].to_numpy(float)
        out.append(
            {
                "city": city,
                "province": row["province"],
                "merra2_ghi_kwh_m2": _annual(src["merra2"]),
                "station_ghi_kwh_m2": _annual(station[0]) if station else np.nan,
                "previous_ghi_kwh_m2": _annual(ghi_prev),
                "default_ghi_kwh_m2": d,
                "sources_spread_pct": spread,
                "default_vs_sources_pct": vs,
                "merra2_yield": _specific_yield(row, src["merra2"]),
                "station_yield": _specific_yield(row, station[0]) if station else np.nan,
                "default_yield": _specific_yield(row, ghi_default),
                "program_yield": PROGRAM_YIELD.get(str(city), np.nan),
                "default_temp_c": float(temp @ DAYS_IN_MONTH / 365),
                "previous_temp_c": float(temp_prev @ DAYS_IN_MONTH / 365),
                "station_temp_c": _station_temperature_c(str(city)),
                "ghi_source": row["ghi_source"],
                "temp_source": row["temp_source"],
                "verdict": verdict,
            }
        )
        if progress is not None:
            progress(i + 1, len(cities))
    return pd.DataFrame(out)


def _fmt(x: object, pct: bool = False) -> str:
    v = float(x)  # type: ignore[arg-type]
    if not np.isfinite(v):
        return "–"
    return f"{v:+.1f} %" if pct else f"{v:,.0f}"


def markdown(table: pd.DataFrame) -> str:
    """The table as the README carries it (GHI, yield, verdict; one line per capital)."""
    head = (
        "| capital | MERRA-2 GHI | station GHI (Å–P) | previous GHI | **default GHI** "
        "| default − sources | yield MERRA-2 | yield station | **yield default** "
        "| program yield | verdict |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n"
    )
    lines = [
        f"| {r.city} | {_fmt(r.merra2_ghi_kwh_m2)} | {_fmt(r.station_ghi_kwh_m2)} "
        f"| {_fmt(r.previous_ghi_kwh_m2)} | **{_fmt(r.default_ghi_kwh_m2)}** "
        f"| {_fmt(r.default_vs_sources_pct, pct=True)} | {_fmt(r.merra2_yield)} "
        f"| {_fmt(r.station_yield)} | **{_fmt(r.default_yield)}** | {_fmt(r.program_yield)} "
        f"| {r.verdict} |"
        for r in table.itertuples(index=False)
    ]
    return head + "\n".join(lines) + "\n"


def source_lines() -> list[str]:
    """One line per cited source: id, citation, period, date."""
    return [
        f"{s.source_id}: {s.citation}" + (f" ({s.period})" if s.period else "") + f"; {s.dated}"
        for s in sources().values()
    ]
