"""The report's charts (matplotlib, PNG), drawn from the same rows as its tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboards.labels import Labels, labels_for

if TYPE_CHECKING:
    from dashboards.report import ReportData

__all__ = ["draw_charts"]

_COLOUR = "#e0a100"  # sun
_COLOUR_2 = "#2f6f9f"


def _figure(height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.0, height), dpi=110, layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    return fig, ax


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _bars(
    path: Path,
    names: list[str],
    values: list[float | None],
    ylabel: str,
    L: Labels,
    *,
    horizontal: bool = False,
    colour: str = _COLOUR,
) -> Path:
    fig, ax = _figure(max(3.0, 0.28 * len(names) + 1.0) if horizontal else 3.4)
    vals = [v if v is not None else 0.0 for v in values]
    if horizontal:
        ax.barh(range(len(names)), vals, color=colour)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
        if L.rtl:
            ax.yaxis.tick_right()
            ax.invert_xaxis()
    else:
        ax.bar(range(len(names)), vals, color=colour)
        ax.set_xticks(
            range(len(names)),
            names,
            rotation=45 if len(names) > 6 else 0,
            ha="right" if len(names) > 6 else "center",
        )
        ax.set_ylabel(ylabel)
    ax.xaxis.set_major_formatter(_formatter(L)) if horizontal else ax.yaxis.set_major_formatter(
        _formatter(L)
    )
    return _save(fig, path)


def _formatter(L: Labels) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: L.tick(v))


def draw_charts(
    data: ReportData, folder: Path, *, lang: str, persian_digits: bool = True
) -> dict[str, Path]:
    """Draw every chart the data allows; ``{name: path}``."""
    L = labels_for(lang, persian_digits=persian_digits, for_charts=True)
    out: dict[str, Path] = {}

    def add(name: str, fn: Callable[[Path], Path]) -> None:
        out[name] = fn(folder / f"{name}.{lang}.png")

    daily = data.table("daily")
    if daily:

        def daily_chart(path: Path) -> Path:
            fig, ax = _figure()
            days = [datetime.fromtimestamp(r["time"] / 1000, UTC).date() for r in daily]
            ax.bar(range(len(days)), [r.get("energy_mwh") or 0.0 for r in daily], color=_COLOUR)
            step = max(1, len(days) // 12)
            ticks = list(range(0, len(days), step))
            ax.set_xticks(ticks, [L.day(days[i]) for i in ticks], rotation=45, ha="right")
            ax.set_ylabel(L.t("mwh"))
            ax.yaxis.set_major_formatter(_formatter(L))
            return _save(fig, path)

        add("daily_energy", daily_chart)
    provinces = sorted(data.table("provinces"), key=lambda r: -(r.get("energy_mwh") or 0.0))
    if provinces:
        names = [L.province(r.get("province")) for r in provinces]
        add(
            "province_energy",
            partial(
                _bars,
                names=names,
                values=[r.get("energy_mwh") for r in provinces],
                ylabel=L.t("mwh"),
                L=L,
                horizontal=True,
            ),
        )
        add(
            "province_availability",
            partial(
                _bars,
                names=names,
                values=[r.get("availability_pct") for r in provinces],
                ylabel=L.t("availability_pct"),
                L=L,
                horizontal=True,
                colour=_COLOUR_2,
            ),
        )
    for key, label in (("hijri_months", L.hijri_month), ("gregorian_months", L.month)):
        tag = _month_tag(key)
        months = sorted(data.table(key), key=partial(_text_of, tag))
        if months:
            add(
                f"{key}_energy",
                partial(
                    _bars,
                    names=[label(r.get(tag)) for r in months],
                    values=[r.get("energy_mwh") for r in months],
                    ylabel=L.t("mwh"),
                    L=L,
                ),
            )
    regions = [r for r in data.table("outage_regions") if r.get("region") != "(fleet)"]
    if regions:
        regions.sort(key=lambda r: -(r.get("coverage_pct") or 0.0))
        add(
            "outage_coverage",
            partial(
                _bars,
                names=[L.province(r.get("region")) for r in regions],
                values=[r.get("coverage_pct") for r in regions],
                ylabel=L.t("coverage_pct"),
                L=L,
                horizontal=True,
                colour=_COLOUR_2,
            ),
        )
    return out


def _text_of(column: str, row: dict[str, Any]) -> str:
    return str(row.get(column))


def _month_tag(key: str) -> str:
    return "hijri_month" if key.startswith("hijri") else "month"
