"""Charts of outage coverage (PNG): the fleet's heat map and a site's battery-sizing curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from telemetry.fileio import atomic_path

__all__ = ["plot_battery_sizing", "plot_coverage"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(heatmap: pd.DataFrame, calendar: str) -> tuple[np.ndarray, np.ndarray]:
    cov = np.full((12, 24), np.nan)
    hours = np.zeros((12, 24))
    part = heatmap[heatmap["calendar"] == calendar]
    m = part["month"].to_numpy(int) - 1
    h = part["start_hour"].to_numpy(int)
    cov[m, h] = part["coverage_pct"].to_numpy(float)
    hours[m, h] = part["outage_hours"].to_numpy(float)
    return cov, hours


def plot_coverage(run, path: Path) -> Path:
    """Coverage heat maps (Solar Hijri and Gregorian month × hour of the cut's start) and the
    coverage of each province.

    Parameters
    ----------
    run : simulate.coverage.OutageRun
    path : pathlib.Path
        PNG file to write (atomically).
    """
    from simulate.fleet import GREGORIAN_MONTHS, HIJRI_MONTHS
    from simulate.grid import FLEET_REGION

    plt = _pyplot()
    fig, axes = plt.subplots(
        1,
        3,
        figsize=(18, 5.2),
        constrained_layout=True,
        gridspec_kw={"width_ratios": [1.15, 1.15, 0.8]},
    )
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("#eeeeee")
    image = None
    for ax, calendar, names in (
        (axes[0], "solar_hijri", HIJRI_MONTHS),
        (axes[1], "gregorian", GREGORIAN_MONTHS),
    ):
        cov, hours = _grid(run.heatmap, calendar)
        image = ax.imshow(np.ma.masked_invalid(cov), cmap=cmap, vmin=0, vmax=100, aspect="auto")
        for m, h in zip(*np.nonzero(hours > 0), strict=True):
            ax.text(h, m, f"{cov[m, h]:.0f}", ha="center", va="center", fontsize=6)
        ax.set_yticks(range(12), [n.capitalize() for n in names])
        ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        ax.set_xlabel("local hour the cut started")
        ax.set_title(f"Cut hours fully served [%] — {calendar.replace('_', ' ')} months")
    assert image is not None
    fig.colorbar(image, ax=axes[:2], shrink=0.8, label="coverage %")
    year = run.regions[
        (run.regions["calendar"] == "year") & (run.regions["region"] != FLEET_REGION)
    ]
    year = year.sort_values("region", ascending=False)
    axes[2].barh(year["region"], year["coverage_pct"].fillna(0), color="#2a9d8f")
    axes[2].set_xlim(0, 100)
    axes[2].set_xlabel("coverage % of the year's cut hours")
    axes[2].set_title("By province")
    axes[2].grid(axis="x", alpha=0.3)
    fleet = run.regions[
        (run.regions["region"] == FLEET_REGION) & (run.regions["calendar"] == "year")
    ].iloc[0]
    note = " (weather: estimate)" if run.yield_run.estimate else ""
    fig.suptitle(
        f"{int(fleet.plants)} plants, {fleet.outage_hours:,.0f} plant-hours of cuts, "
        f"{fleet.coverage_pct:.1f} % fully served — {run.schedule_source}{note}",
        fontsize=10,
    )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def plot_battery_sizing(
    curve: pd.DataFrame, target_pct: float, chosen_kwh: float | None, title: str, path: Path
) -> Path:
    """Coverage and cost against battery size, with the target and the chosen size.

    Parameters
    ----------
    curve : pandas.DataFrame
        ``battery_kwh``, ``coverage_pct``, ``cost_toman``.
    target_pct : float
    chosen_kwh : float or None
        The smallest size reaching the target (None: not reached).
    title : str
    path : pathlib.Path
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    ax.plot(
        curve["battery_kwh"], curve["coverage_pct"], "o-", color="#2a9d8f", ms=3, label="coverage"
    )
    ax.axhline(target_pct, color="#e76f51", ls="--", lw=1, label=f"target {target_pct:g} %")
    if chosen_kwh is not None:
        ax.axvline(chosen_kwh, color="#264653", ls=":", lw=1, label=f"smallest: {chosen_kwh:g} kWh")
    ax.set_xlabel("battery capacity [kWh]")
    ax.set_ylabel("cut hours fully served [%]")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    cost = ax.twinx()
    cost.plot(
        curve["battery_kwh"], curve["cost_toman"] / 1e6, color="#f2a900", lw=1, label="battery cost"
    )
    cost.set_ylabel("battery cost [million toman]")
    lines = ax.get_legend_handles_labels()
    more = cost.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right", fontsize=8)
    ax.set_title(title, fontsize=9)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
