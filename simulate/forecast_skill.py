"""Forecast skill: what ``sim_forecast`` said against what the plants then produced.

For the plant-hours of ``[since, until)``:

- **measured**: each plant's hourly mean AC power from ``inverter`` (``GROUP BY time(1h)``,
  the gateway inverters of one plant added up); plant-hours with no reading are left out
  (a silent plant, a cut without the gateway's batch yet) rather than counted as zero;
- **forecast**: every ``sim_forecast`` run's plant points (``kind=plant``), time = the start of
  the hour, the same label as the measured mean;
- **nMAE** = Σ|forecast − measured| / Σ measured over a run's plant-hours (the definition of
  :func:`triage.expected.nmae`), for the fleet and each province;
- **skill** against a baseline = 1 − MAE(run) / MAE(baseline) over the plant-hours both
  cover, the baseline's value of a plant-hour being the one of its latest-issued run
  (``method`` ``climate`` or ``persistence``, :mod:`simulate.forecast_baseline`). Above 0 the
  forecast beats the baseline, 1 is perfect.

- **error ratios**: the 10th, 50th and 90th percentiles of the region's hourly measured /
  forecast (daylight hours, :data:`RATIO_FLOOR`): what a deterministic forecast's spread was,
  from which :func:`error_ratios` gives later deterministic forecasts their P90/P50/P10.

The figures go to ``sim_forecast_skill`` (:mod:`telemetry.schema`), one point per run and
region at the end of the scored period.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from telemetry.lineprotocol import format_point
from telemetry.schema import (
    MEASUREMENT_INVERTER,
    MEASUREMENT_SIM_FORECAST,
    MEASUREMENT_SIM_FORECAST_SKILL,
)

__all__ = [
    "BASELINE_METHODS",
    "RATIO_FLOOR",
    "error_ratios",
    "read_forecasts",
    "read_measured",
    "skill_lines",
    "skill_table",
]

BASELINE_METHODS = ("climate", "persistence")
#: Plants per measured-power query.
_CHUNK = 200


def _iso(t: pd.Timestamp) -> str:
    return pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _frames(series_list: list[dict]) -> pd.DataFrame:
    frames = []
    for series in series_list:
        frame = pd.DataFrame(series.get("values", []), columns=series["columns"])
        for tag, value in (series.get("tags") or {}).items():
            frame[tag] = value
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def read_forecasts(store: object, since: pd.Timestamp, until: pd.Timestamp) -> pd.DataFrame:
    """Plant points of every ``sim_forecast`` run whose hours start in ``[since, until)``.

    Returns
    -------
    pandas.DataFrame
        ``time`` (UTC, start of the hour), ``run_id``, ``method``, ``plant_id``, ``province``,
        ``issued``, ``forecast_w``.
    """
    q = (
        f'SELECT "ac_power_w", "issued" FROM "{MEASUREMENT_SIM_FORECAST}" WHERE "kind" = '
        f"'plant' AND time >= '{_iso(since)}' AND time < '{_iso(until)}' "
        'GROUP BY "run_id", "method", "plant_id", "province"'
    )
    frame = _frames(store.query(q, epoch="ns"))  # type: ignore[attr-defined]
    cols = ["time", "run_id", "method", "plant_id", "province", "issued", "forecast_w"]
    if frame.empty:
        return pd.DataFrame({c: [] for c in cols})
    frame = frame.rename(columns={"ac_power_w": "forecast_w"})
    for c in ("method", "province"):
        if c not in frame:
            frame[c] = ""
    frame["method"] = frame["method"].replace("", "nwp")
    frame["time"] = pd.to_datetime(frame["time"].astype("int64"), unit="ns", utc=True)
    return frame[cols]


def read_measured(
    store: object, plant_ids: Sequence[str], since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """Hourly mean measured AC power of some plants (their inverters added up).

    Returns
    -------
    pandas.DataFrame
        ``time`` (UTC, start of the hour), ``plant_id``, ``measured_w``.
    """
    parts = []
    ids = list(plant_ids)
    for a in range(0, len(ids), _CHUNK):
        where = " OR ".join(
            '"plant_id" = \'' + p.replace("'", "\\'") + "'" for p in ids[a : a + _CHUNK]
        )
        q = (
            f'SELECT mean("ac_power_w") AS "w" FROM "{MEASUREMENT_INVERTER}" WHERE ({where}) '
            f"AND time >= '{_iso(since)}' AND time < '{_iso(until)}' "
            'GROUP BY time(1h), "plant_id", "inverter" fill(none)'
        )
        frame = _frames(store.query(q, epoch="ns"))  # type: ignore[attr-defined]
        if not frame.empty:
            parts.append(frame)
    if not parts:
        return pd.DataFrame({"time": [], "plant_id": [], "measured_w": []})
    frame = pd.concat(parts, ignore_index=True)
    frame["time"] = pd.to_datetime(frame["time"].astype("int64"), unit="ns", utc=True)
    out = frame.groupby(["time", "plant_id"])["w"].sum().rename("measured_w").reset_index()
    return pd.DataFrame(out)


def skill_table(
    forecasts: pd.DataFrame, measured: pd.DataFrame, *, plants: bool = True
) -> pd.DataFrame:
    """nMAE and skill of every run, for the fleet (``(fleet)``) and each province.

    Parameters
    ----------
    forecasts : pandas.DataFrame
        As :func:`read_forecasts`.
    measured : pandas.DataFrame
        As :func:`read_measured`.
    plants : bool
        Also one row per plant and run (``plant_id`` set, ``region`` its province).

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``method``, ``issued``, ``region``, ``plant_id`` ("" on region rows),
        ``plant_hours``, ``mae_w``,
        ``nmae_pct``, ``skill_vs_climate``, ``skill_vs_persistence`` (NaN where the baseline
        covers none of the run's plant-hours).
    """
    cols = [
        "run_id",
        "method",
        "issued",
        "region",
        "plant_id",
        "plant_hours",
        "mae_w",
        "nmae_pct",
        "skill_vs_climate",
        "skill_vs_persistence",
        "error_ratio_q10",
        "error_ratio_q50",
        "error_ratio_q90",
    ]
    both = forecasts.merge(measured, on=["time", "plant_id"], how="inner")
    if both.empty:
        return pd.DataFrame({c: [] for c in cols})
    both["abs_err_w"] = (both["forecast_w"] - both["measured_w"]).abs()
    base = {}
    for m in BASELINE_METHODS:
        b = both[both["method"] == m].sort_values("issued")
        b = b.drop_duplicates(["time", "plant_id"], keep="last")
        base[m] = b.set_index(["time", "plant_id"])["abs_err_w"]
    rows = []
    for (run_id, method, issued), run in both.groupby(["run_id", "method", "issued"]):
        run = run.copy()
        key = pd.MultiIndex.from_frame(run[["time", "plant_id"]])
        for m in BASELINE_METHODS:
            run[f"base_{m}"] = base[m].reindex(key).to_numpy() if len(base[m]) else np.nan
        groups = [("(fleet)", run)] + [
            (str(p), g) for p, g in run.groupby("province") if str(p) not in ("", "nan")
        ]
        for region, g in groups:
            total = float(g["measured_w"].sum())
            row = {
                "run_id": run_id,
                "method": method,
                "issued": issued,
                "region": region,
                "plant_hours": len(g),
                "mae_w": float(g["abs_err_w"].mean()),
                "nmae_pct": 100.0 * float(g["abs_err_w"].sum()) / total if total > 0 else np.nan,
            }
            row.update(_error_ratios(g))
            for m in BASELINE_METHODS:
                ok = g[f"base_{m}"].notna()
                denom = float(g.loc[ok, f"base_{m}"].sum())
                row[f"skill_vs_{m}"] = (
                    1.0 - float(g.loc[ok, "abs_err_w"].sum()) / denom
                    if ok.any() and denom > 0 and m != method
                    else np.nan
                )
            rows.append(row)
        if plants:
            rows += _plant_rows(run, str(run_id), str(method), str(issued))
    out = pd.DataFrame(rows, columns=cols)
    out["plant_id"] = out["plant_id"].fillna("")
    return out


def _plant_rows(run: pd.DataFrame, run_id: str, method: str, issued: str) -> list[dict]:
    """One row per plant of a run (vectorised over plants; no error ratios)."""
    g = run.assign(
        **{
            f"err_{m}": run["abs_err_w"].where(run[f"base_{m}"].notna(), 0.0)
            for m in BASELINE_METHODS
        }
    ).groupby("plant_id")
    agg = g.agg(
        plant_hours=("abs_err_w", "size"),
        err=("abs_err_w", "sum"),
        measured=("measured_w", "sum"),
        province=("province", "first"),
        **{f"err_{m}": (f"err_{m}", "sum") for m in BASELINE_METHODS},
        **{f"base_{m}": (f"base_{m}", "sum") for m in BASELINE_METHODS},
    )
    out = []
    for pid, r in agg.iterrows():
        row = {
            "run_id": run_id,
            "method": method,
            "issued": issued,
            "region": str(r["province"] or ""),
            "plant_id": str(pid),
            "plant_hours": int(r["plant_hours"]),
            "mae_w": float(r["err"]) / max(int(r["plant_hours"]), 1),
            "nmae_pct": 100.0 * float(r["err"]) / r["measured"] if r["measured"] > 0 else np.nan,
        }
        for m in BASELINE_METHODS:
            denom = float(r[f"base_{m}"])
            row[f"skill_vs_{m}"] = (
                1.0 - float(r[f"err_{m}"]) / denom if denom > 0 and m != method else np.nan
            )
        out.append(row)
    return out


#: Hours whose summed forecast is below this share of the run's highest are left out of the
#: error ratios (dawn and dusk: a ratio of small numbers).
RATIO_FLOOR = 0.1


def _error_ratios(g: pd.DataFrame) -> dict[str, float]:
    """Percentiles of the region's hourly measured / forecast (sums over its plants)."""
    hourly = g.groupby("time")[["measured_w", "forecast_w"]].sum()
    day = hourly["forecast_w"] >= RATIO_FLOOR * float(hourly["forecast_w"].max() or 0.0)
    day &= hourly["forecast_w"] > 0
    ratio = (hourly.loc[day, "measured_w"] / hourly.loc[day, "forecast_w"]).to_numpy()
    if len(ratio) < 3:
        return {f"error_ratio_q{q}": np.nan for q in (10, 50, 90)}
    return {f"error_ratio_q{q}": float(np.percentile(ratio, q)) for q in (10, 50, 90)}


def error_ratios(
    store: object, *, method: str = "nwp", runs: int = 30
) -> tuple[dict[str, tuple[float, float, float]], int]:
    """The mean error-ratio percentiles of the last ``runs`` scored runs of ``method``, per
    region (``sim_forecast_skill``), and how many runs they come from.

    Returns
    -------
    (dict, int)
        region → (10th, 50th, 90th percentile of measured / forecast); runs behind the fleet's.
    """
    q = (
        'SELECT "error_ratio_q10", "error_ratio_q50", "error_ratio_q90" FROM '
        f'"{MEASUREMENT_SIM_FORECAST_SKILL}" WHERE "method" = \'{method}\' AND "region" != \'\' '
        'GROUP BY "region" '
        f"ORDER BY time DESC LIMIT {int(runs)}"
    )
    out: dict[str, tuple[float, float, float]] = {}
    n_fleet = 0
    for series in store.query(q):  # type: ignore[attr-defined]
        frame = pd.DataFrame(series.get("values") or [], columns=series["columns"]).dropna()
        if frame.empty:
            continue
        region = str((series.get("tags") or {}).get("region", ""))
        out[region] = tuple(  # type: ignore[assignment]
            float(frame[f"error_ratio_q{p}"].mean()) for p in (10, 50, 90)
        )
        if region == "(fleet)":
            n_fleet = len(frame)
    return out, n_fleet


def skill_lines(table: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp) -> list[str]:
    """``sim_forecast_skill`` points: one per run and region, time = the end of the scored
    period (when the outcome was known; scoring the same period again overwrites)."""
    lines = []
    for row in table.to_dict("records"):
        fields: dict[str, float | int | bool | str] = {
            "plant_hours": int(row["plant_hours"]),
            "mae_w": float(row["mae_w"]),
            "scored_since": _iso(since),
            "scored_until": _iso(until),
            "issued": str(row["issued"]),
        }
        for name in (
            "nmae_pct",
            "skill_vs_climate",
            "skill_vs_persistence",
            "error_ratio_q10",
            "error_ratio_q50",
            "error_ratio_q90",
        ):
            if np.isfinite(row[name]):
                fields[name] = float(row[name])
        tags = {"run_id": str(row["run_id"]), "method": str(row["method"])}
        if row.get("plant_id"):
            tags.update(kind="plant", plant_id=str(row["plant_id"]))
            if row["region"]:
                tags["province"] = str(row["region"])
        else:
            tags.update(kind="region", region=str(row["region"]))
        time_ns = int(pd.Timestamp(until).value)
        lines.append(format_point(MEASUREMENT_SIM_FORECAST_SKILL, tags, fields, time_ns))
    return lines
