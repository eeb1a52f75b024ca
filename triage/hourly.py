"""Readings binned into plant × hour matrices, the shape the rest of triage works on.

Input: a DataFrame shaped like the InfluxDB ``inverter`` measurement (one row per reading):
``time`` (UTC, tz-aware), ``plant_id``, ``ac_power_w``, ``energy_total_wh``, optional
``dc1_power_w``, ``dc2_power_w``, …, ``alarm_code`` (0 = none), optional ``inverter`` (the
gateway inverter of a plant with several: their powers add up) and optional ``stored_at`` (UTC,
when the reading reached the database). Bins are whole UTC hours ``[t, t + 1 h)`` labelled at
their **end**, like the simulator's hourly output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from telemetry.errors import InputError

__all__ = ["HOUR_NS", "HourlyReadings", "bin_hourly", "hour_labels"]

HOUR_NS = 3_600_000_000_000
_DC_RE = re.compile(r"^dc(\d+)_power_w$")


@dataclass(frozen=True)
class HourlyReadings:
    """Readings of a fleet on an hourly grid.

    Attributes
    ----------
    plant_ids : tuple of str
        Row order of every matrix (the fleet's order).
    labels : pandas.DatetimeIndex
        UTC end-of-hour labels, regular, increasing (n_hours).
    ac_power_w : numpy.ndarray
        (n_plants, n_hours) mean AC power of the hour's readings; NaN where none came. [W]
    readings : numpy.ndarray
        (n_plants, n_hours) int: number of readings in the hour.
    energy_first_wh, energy_last_wh : numpy.ndarray
        (n_plants, n_hours) the lifetime counter at the hour's first and last reading; NaN
        where none (or no counter). [Wh]
    alarm_code : numpy.ndarray
        (n_plants, n_hours) int: the largest alarm code of the hour (0 none).
    dc_power_w : numpy.ndarray or None
        (n_plants, n_inputs, n_hours) mean power of each DC input; NaN where not reported. [W]
    late_s : numpy.ndarray or None
        (n_plants, n_hours) how long after the hour's end its last reading reached the
        database (from ``stored_at``); NaN where unknown. [s]
    """

    plant_ids: tuple[str, ...]
    labels: pd.DatetimeIndex
    ac_power_w: np.ndarray
    readings: np.ndarray
    energy_first_wh: np.ndarray
    energy_last_wh: np.ndarray
    alarm_code: np.ndarray
    dc_power_w: np.ndarray | None = None
    late_s: np.ndarray | None = None

    @property
    def reported(self) -> np.ndarray:
        """(n_plants, n_hours) bool: any reading in the hour."""
        return self.readings > 0

    def rows(self, index: np.ndarray | slice) -> HourlyReadings:
        """The same hours for a subset of plants (row positions)."""
        ids = np.asarray(self.plant_ids, dtype=object)[index]
        return HourlyReadings(
            tuple(ids.tolist()),
            self.labels,
            self.ac_power_w[index],
            self.readings[index],
            self.energy_first_wh[index],
            self.energy_last_wh[index],
            self.alarm_code[index],
            None if self.dc_power_w is None else self.dc_power_w[index],
            None if self.late_s is None else self.late_s[index],
        )


def hour_labels(since: pd.Timestamp, until: pd.Timestamp) -> pd.DatetimeIndex:
    """End-of-hour UTC labels of the whole hours overlapping ``[since, until)``."""
    start = pd.Timestamp(since).tz_convert("UTC").floor("h")
    end = pd.Timestamp(until).tz_convert("UTC").ceil("h")
    if end <= start:
        raise InputError("the period has no whole hour (since must be before until)")
    return pd.date_range(start + pd.Timedelta(hours=1), end, freq="h")


def _ns(values: pd.Series, name: str) -> np.ndarray:
    t = pd.to_datetime(values, utc=True, errors="coerce")
    if t.isna().any():
        raise InputError(f"readings: column {name!r} has values that are not times")
    return t.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)


def _reduce(
    key: np.ndarray, values: np.ndarray, size: int, how: str, order: np.ndarray | None = None
) -> np.ndarray:
    """Reduce ``values`` by integer ``key`` into ``size`` cells (NaN where none)."""
    out = np.full(size, np.nan)
    ok = np.isfinite(values)
    k, v = key[ok], values[ok]
    if how == "mean":
        s = np.bincount(k, weights=v, minlength=size)
        n = np.bincount(k, minlength=size)
        np.divide(s, n, out=out, where=n > 0)
    elif how in ("first", "last"):
        o = np.argsort(order[ok] if order is not None else np.arange(len(k)), kind="stable")
        k, v = k[o], v[o]
        if how == "first":
            k, v = k[::-1], v[::-1]
        out[k] = v  # the last write wins
    elif how == "max":
        tmp = np.full(size, -np.inf)
        np.maximum.at(tmp, k, v)
        out = np.where(np.isfinite(tmp), tmp, np.nan)
    else:  # pragma: no cover - internal
        raise ValueError(how)
    return out


def bin_hourly(
    readings: pd.DataFrame, plant_ids: Sequence[str], labels: pd.DatetimeIndex
) -> HourlyReadings:
    """Bin readings into hours (pure; see the module docstring for the columns).

    Parameters
    ----------
    readings : pandas.DataFrame
        One row per reading. Readings of plants not in ``plant_ids`` or outside the hours are
        left out.
    plant_ids : sequence of str
        Row order of the result (the fleet's).
    labels : pandas.DatetimeIndex
        End-of-hour UTC labels (:func:`hour_labels`).

    Returns
    -------
    HourlyReadings

    Raises
    ------
    InputError
        A required column is missing or a time does not parse.
    """
    missing = [c for c in ("time", "plant_id", "ac_power_w") if c not in readings.columns]
    if missing:
        raise InputError(f"readings lack column(s) {', '.join(missing)}")
    n_p, n_h = len(plant_ids), len(labels)
    size = n_p * n_h
    row_of = pd.Index(list(plant_ids))
    ends = labels.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    first_begin = int(ends[0]) - HOUR_NS if n_h else 0
    if len(readings):
        t_ns = _ns(readings["time"], "time")
        row = row_of.get_indexer(pd.Index(readings["plant_id"].astype(str)))
        col = (t_ns - first_begin) // HOUR_NS
        keep = (row >= 0) & (col >= 0) & (col < n_h)
    else:
        t_ns = np.zeros(0, np.int64)
        row = col = np.zeros(0, np.int64)
        keep = np.zeros(0, bool)
    df = readings.loc[keep]
    t_ns, row, col = t_ns[keep], row[keep], col[keep]
    key = row * n_h + col

    def num(name: str) -> np.ndarray:
        if name not in df.columns:
            return np.full(len(df), np.nan)
        return pd.to_numeric(df[name], errors="coerce").to_numpy(float)

    dc_cols = sorted(
        (int(m.group(1)), c) for c in df.columns if (m := _DC_RE.match(str(c))) is not None
    )
    inverter = df["inverter"].fillna("").astype(str) if "inverter" in df.columns else None
    if inverter is not None and inverter.nunique() > 1:
        # Several gateway inverters: each inverter's hourly mean, then their sum.
        inv_codes, _ = pd.factorize(inverter)
        n_inv = int(inv_codes.max()) + 1
        sub = key * n_inv + inv_codes
        means = _reduce(sub, num("ac_power_w"), size * n_inv, "mean").reshape(size, n_inv)
        some = np.isfinite(means).any(axis=1)
        power = np.where(some, np.nansum(means, axis=1), np.nan)
        e_first = _reduce(sub, num("energy_total_wh"), size * n_inv, "first", t_ns)
        e_last = _reduce(sub, num("energy_total_wh"), size * n_inv, "last", t_ns)
        e_first = np.nansum(e_first.reshape(size, n_inv), axis=1)
        e_last_m = e_last.reshape(size, n_inv)
        e_last = np.where(np.isfinite(e_last_m).any(axis=1), np.nansum(e_last_m, axis=1), np.nan)
        e_first = np.where(np.isfinite(e_last), e_first, np.nan)
    else:
        power = _reduce(key, num("ac_power_w"), size, "mean")
        e_first = _reduce(key, num("energy_total_wh"), size, "first", t_ns)
        e_last = _reduce(key, num("energy_total_wh"), size, "last", t_ns)
    count = np.bincount(key, minlength=size)
    alarm = np.nan_to_num(_reduce(key, num("alarm_code"), size, "max"), nan=0.0)
    dc = None
    if dc_cols:
        dc = np.stack(
            [_reduce(key, num(c), size, "mean").reshape(n_p, n_h) for _, c in dc_cols], axis=1
        )
    late = None
    if "stored_at" in df.columns:
        stored = pd.to_datetime(df["stored_at"], utc=True, errors="coerce")
        stored_ns = (
            stored.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        ).astype(np.int64)
        ok = stored.notna().to_numpy()
        late_ns = np.where(ok, stored_ns - ends[col] if len(col) else 0, np.nan).astype(float)
        late = (_reduce(key, late_ns, size, "max") / 1e9).reshape(n_p, n_h)
    return HourlyReadings(
        tuple(str(p) for p in plant_ids),
        labels,
        power.reshape(n_p, n_h),
        count.reshape(n_p, n_h),
        e_first.reshape(n_p, n_h),
        e_last.reshape(n_p, n_h),
        alarm.reshape(n_p, n_h).astype(np.int64),
        dc,
        late,
    )
