"""Charts of simulation results (PNG), for people who would rather look than read a table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from telemetry.fileio import atomic_path

__all__ = ["plot_fleet_monthly"]


def plot_fleet_monthly(run, path: Path) -> Path:
    """Fleet energy by Gregorian and Solar Hijri month, and the spread of specific yields.

    Parameters
    ----------
    run : simulate.fleet.FleetRun
    path : pathlib.Path
        PNG file to write (atomically).

    Returns
    -------
    pathlib.Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulate.fleet import GREGORIAN_MONTHS, HIJRI_MONTHS

    s = run.summary
    greg = np.array([s[f"ac_energy_kwh_{m}"].sum() for m in GREGORIAN_MONTHS]) / 1000
    hij = np.array([s[f"ac_energy_kwh_{m}"].sum() for m in HIJRI_MONTHS]) / 1000
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    axes[0].bar([m.capitalize() for m in GREGORIAN_MONTHS], greg, color="#f2a900")
    axes[0].set_title("Fleet AC energy by Gregorian month")
    axes[0].set_ylabel("MWh")
    axes[1].bar([m.capitalize() for m in HIJRI_MONTHS], hij, color="#2a9d8f")
    axes[1].set_title("Fleet AC energy by Solar Hijri month")
    axes[1].set_ylabel("MWh")
    for ax in axes[:2]:
        ax.tick_params(axis="x", rotation=50)
        ax.grid(axis="y", alpha=0.3)
    axes[2].hist(
        s["specific_yield_kwh_per_kwp"], bins=min(30, max(5, len(s) // 3)), color="#264653"
    )
    axes[2].set_title("Specific yield of the plants")
    axes[2].set_xlabel("kWh/kWp per year")
    axes[2].set_ylabel("plants")
    note = "" if not run.estimate or "estimate" in run.weather_source else " (estimate)"
    fig.suptitle(
        f"{len(s)} plants, {s.ac_energy_kwh.sum() / 1000:,.1f} MWh — weather: "
        f"{run.weather_source}{note}",
        fontsize=10,
    )
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
