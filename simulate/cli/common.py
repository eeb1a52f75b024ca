"""What the ``roshanai simulate`` commands share: options, settings, progress, weather, the
cut schedule and outage options from the command line, and writing tables atomically.

A public module so that each command module imports it, never another command's privates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulate.outages import SCENARIO_YEAR as _SCENARIO_YEAR
from telemetry.errors import InputError
from telemetry.fileio import atomic_path

__all__ = [
    "FAR_WEATHER_KM",
    "LOCAL_ZONE",
    "SCENARIO_YEAR",
    "FleetArg",
    "check_influx",
    "check_transposition",
    "console",
    "cut_schedule",
    "err",
    "fitted_table",
    "load_weather",
    "outage_options",
    "parse_hours",
    "parse_months",
    "parse_pct",
    "parse_peak",
    "parse_time",
    "progress",
    "warn_far_weather",
    "warn_shifted_weather",
    "warn_unknown_provinces",
    "write_summary",
]

console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # a warning is one line

#: The fleet file argument of the commands that default to the sample fleet.
FleetArg = Annotated[
    Path | None,
    typer.Argument(
        metavar="[FLEET.csv]",
        help="Fleet file (docs/contracts.md). Default: the sample fleet shipped with roshanai.",
        show_default=False,
    ),
]
WeatherOpt = Annotated[
    Path | None,
    typer.Option(
        "--weather",
        help="TMY3, TMY2, EPW, PVGIS TMY or CSV (time,ghi,dni,dhi,"
        "temp_air,wind_speed). Default: the climate default (an estimate; its sources: "
        "`roshanai simulate climate`).",
    ),
]
TranspositionOpt = Annotated[
    str, typer.Option("--transposition", help="Sky-diffuse model: haydavies or perez.")
]
InfluxUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--influx-url",
        help="Also write results to this InfluxDB (env ROSHANAI_INFLUX_URL).",
        show_default=False,
    ),
]
InfluxDbOpt = Annotated[
    str | None,
    typer.Option(
        "--influx-db",
        help="Database or bucket (env ROSHANAI_INFLUX_DB; default roshanai).",
        show_default=False,
    ),
]

ScheduleOpt = Annotated[
    Path | None,
    typer.Option(
        "--schedule", help="Cut schedule CSV: start,end (ISO 8601 with UTC offset)(,zone)."
    ),
]
ScenarioOpt = Annotated[
    str | None,
    typer.Option(
        "--scenario",
        help="Generate the cuts instead, as they happened: summer-2025 (10 May–5 Sep; "
        "a 2-hour block 09–17 h and, most days, an unannounced one 17–21 h) or "
        "winter-2024 (10 Nov–28 Feb; one 2-hour block 09–17 h); or the generic summer "
        "(Jun–Sep, 1–2 blocks 08–24 h) or winter (Dec–Feb, one block 09–17 h). "
        "Sources: simulate/outages.py and the README.",
        show_default=False,
    ),
]
ZonesOpt = Annotated[int, typer.Option("--zones", help="Scenario: number of rotating zone groups.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Scenario: random seed.")]
MonthsOpt = Annotated[
    str | None,
    typer.Option(
        "--months",
        "--cut-months",
        help="Scenario: Gregorian months with cuts, whole months, e.g. 6,7,8,9 "
        "(default: the scenario's days or months).",
        show_default=False,
    ),
]
YearOpt = Annotated[
    int | None,
    typer.Option(
        "--year",
        help="Calendar year of a typical-year weather (default: the schedule's; scenarios 2025).",
        show_default=False,
    ),
]
LoadFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--load",
        help="Per-plant load during cuts: CSV plant_id,hour,load_w(,month) (plant_id * "
        "for all others).",
        show_default=False,
    ),
]
LoadKindOpt = Annotated[
    str,
    typer.Option(
        "--load-profile",
        help="Load during cuts: essential (cooler, fridge, lights, modem; "
        "500 W summer afternoons) or full (the whole home).",
    ),
]
DodOpt = Annotated[float, typer.Option("--dod", help="Usable depth of discharge [%].")]
RoundTripOpt = Annotated[
    float, typer.Option("--round-trip", help="Battery round-trip efficiency [%].")
]
PowerOpt = Annotated[
    float | None,
    typer.Option(
        "--battery-power-kw",
        help="Charge/discharge limit [kW] (default: the inverter's AC rating).",
        show_default=False,
    ),
]
ReserveOpt = Annotated[
    float,
    typer.Option(
        "--reserve-pct",
        help="Share of the usable battery kept for cuts [%]; the rest is "
        "exported in the evening peak (100: backup only).",
    ),
]
TimezoneOpt = Annotated[
    str | None,
    typer.Option(
        "--timezone", help="Zone of the local clock (default Asia/Tehran).", show_default=False
    ),
]

SCENARIO_YEAR = _SCENARIO_YEAR
"""Year of generated scenarios on a typical-year weather (``simulate.outages.SCENARIO_YEAR``)."""


#: The fleet columns a single site's options fill, and the option of each.
SITE_OPTIONS = {
    "latitude": "--lat",
    "longitude": "--lon",
    "dc_kwp": "--kwp",
    "ac_kw": "--ac-kw",
    "tilt_deg": "--tilt",
    "azimuth_deg": "--azimuth",
    "altitude_m": "--altitude",
    "racking": "--racking",
    "losses_pct": "--losses-pct",
    "essential_load_w": "--load-w",
}


def site_fleet(row: dict[str, object]) -> Any:
    """A one-plant fleet from a command's options, its problems named by option.

    Raises
    ------
    telemetry.errors.InputError
        Every bad option in one line (``--lat 99.0 is outside [-90, 90] degrees; …``).
    """
    import re

    from telemetry.errors import FleetFileError
    from telemetry.registry import Fleet

    try:
        return Fleet.from_records([row], source="site options")
    except FleetFileError as exc:
        pattern = re.compile(r"^site options line \d+, column (\w+): (.*)$")
        said = []
        for problem in exc.problems or [str(exc)]:
            m = pattern.match(problem)
            if m and m.group(1) in SITE_OPTIONS:
                said.append(f"{SITE_OPTIONS[m.group(1)]} {m.group(2)}")
            else:
                said.append(problem)
        raise InputError("; ".join(said)) from None


def print_estimate_note(weather_source: str) -> None:
    """The note under results made on the climate default: an estimate, and where it is coarse."""
    console.print(
        "[yellow]note:[/] weather is an estimate generated from the climate default "
        "(`roshanai simulate climate` shows its sources); pass --weather FILE for measured "
        "or typical-year data."
    )
    if "coarse" in weather_source or "outside Iran" in weather_source:
        err.print(
            "[yellow]warning:[/] some plants are outside Iran: their weather is a coarse "
            "estimate (MERRA-2 3° monthly irradiation; air 20 °C and wind 0 m/s assumed)"
        )


def check_influx(s: Any) -> None:
    """With ``--influx-url``, make sure the server answers before any work (exit 3 if not)."""
    if not s.influx_url:
        return
    from telemetry.influx import InfluxStore

    with InfluxStore.from_settings(s) as store:
        store.ping()


def check_transposition(value: str) -> str:
    """``--transposition``: haydavies or perez."""
    if value not in ("haydavies", "perez"):
        raise InputError(f"--transposition must be haydavies or perez, not {value!r}")
    return value


def progress() -> Progress:
    """A progress bar on stderr, shown only on a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def load_weather(path: Path | None) -> Any:
    """``--weather FILE`` read (``simulate.weather.Weather``), or None for the default."""
    if path is None:
        return None
    from simulate.weather import read_weather

    return read_weather(path)


FAR_WEATHER_KM = 150.0
"""A weather file's station farther than this from a plant earns a warning. [km]"""


def warn_far_weather(fleet, wx) -> None:
    """Say so when the weather file's own location is far from the plants (a wrong file?).

    A file without a location (plain CSV) is placed by its day lengths
    (:func:`simulate.weather.daylight_latitude_deg`); its east-west place shows in the timing
    check (:func:`warn_shifted_weather`)."""
    if wx is None or getattr(wx, "estimate", False):
        return
    if wx.latitude_deg is None or wx.longitude_deg is None:
        _warn_far_by_daylight(fleet, wx)
        return
    lat = np.radians(fleet.plants["latitude"].to_numpy(float))
    lon = np.radians(fleet.plants["longitude"].to_numpy(float))
    lat0, lon0 = np.radians(float(wx.latitude_deg)), np.radians(float(wx.longitude_deg))
    cos_d = np.sin(lat) * np.sin(lat0) + np.cos(lat) * np.cos(lat0) * np.cos(lon - lon0)
    km = 6371.0 * np.arccos(np.clip(cos_d, -1.0, 1.0))
    far = km > FAR_WEATHER_KM
    if far.any():
        i = int(np.argmax(km))
        err.print(
            f"[yellow]warning:[/] the weather file's location ({wx.latitude_deg:.2f}, "
            f"{wx.longitude_deg:.2f}) is {km[i]:,.0f} km from plant "
            f"{fleet.plants['plant_id'].iloc[i]} ({int(far.sum())} plant(s) farther "
            f"than {FAR_WEATHER_KM:g} km); its weather is used for all of them."
        )


def _warn_far_by_daylight(fleet: Any, wx: Any) -> None:
    from simulate.weather import DAYLIGHT_LATITUDE_WARN_DEG, daylight_latitude_deg

    plant_lat = float(np.median(fleet.plants["latitude"].to_numpy(float)))
    plant_lon = float(np.median(fleet.plants["longitude"].to_numpy(float)))
    found = daylight_latitude_deg(wx, plant_lon)
    if found is None or abs(found - plant_lat) <= DAYLIGHT_LATITUDE_WARN_DEG:
        return
    err.print(
        f"[yellow]warning:[/] {wx.source}: its day lengths are those of latitude "
        f"{found:.1f}°, the plants lie at {plant_lat:.1f}° (about "
        f"{abs(found - plant_lat) * 111.2:,.0f} km apart); is it weather from another place? "
        "It is used for all of them."
    )


def fitted_table(
    title: str, headers: list[str], rows: list[list[str]], totals: list[list[str]] | None = None
) -> Table:
    """A table that fits the terminal (80 columns and up): no side borders, one space between
    columns, numbers (every column but the first) never cut; the first column (names) folds
    onto more lines when the rest leaves it too little room. Headers may hold a line break
    (the unit on its second line); ``totals`` rows come after a rule."""
    totals = totals or []
    every = [*rows, *totals]
    widths = [
        max(max(map(len, h.split("\n"))), *(len(r[i]) for r in every))
        for i, h in enumerate(headers)
    ]
    room = max(9, min(console.width, 200) - sum(widths[1:]) - (len(widths) - 1))
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=0)
    table.add_column(headers[0], overflow="fold", width=min(widths[0], room))
    for header, width in zip(headers[1:], widths[1:], strict=True):
        table.add_column(header, justify="right", no_wrap=True, width=width)
    for r in rows:
        table.add_row(*r)
    if totals:
        table.add_section()
        for r in totals:
            table.add_row(*r)
    return table


def warn_shifted_weather(fleet: Any, wx: Any) -> None:
    """Say so when a weather file's sunlight is shifted against the sun at its place (the
    station's, else the plants' median): local times labelled ``+00:00``, or start-of-hour
    labels taken for ends, cut or shift a year without any other sign."""
    if wx is None:
        return
    from simulate.weather import SHIFT_WARN_H, timing_offset_h

    lat = (
        wx.latitude_deg
        if wx.latitude_deg is not None
        else float(np.median(fleet.plants["latitude"].to_numpy(float)))
    )
    lon = (
        wx.longitude_deg
        if wx.longitude_deg is not None
        else float(np.median(fleet.plants["longitude"].to_numpy(float)))
    )
    offset = timing_offset_h(wx, float(lat), float(lon))
    if offset is not None and abs(offset) >= SHIFT_WARN_H:
        err.print(
            f"[yellow]warning:[/] {wx.source}: its sunlight peaks {abs(offset):.1f} h "
            f"{'after' if offset > 0 else 'before'} solar noon at {lat:.2f}, {lon:.2f}; are "
            f"its times labelled with the right UTC offset, at the end of each interval, and "
            f"is it weather from this place?"
        )


def warn_unknown_provinces(fleet: Any) -> None:
    """Say once which provinces of the fleet file are none of the 31 (a typo would be a
    province of its own in every table)."""
    from telemetry.provinces import unknown_provinces

    unknown = unknown_provinces(fleet.plants["province"].tolist())
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        err.print(
            f"[yellow]warning:[/] {fleet.source}: province {shown} is none of Iran's 31 "
            f"(telemetry/provinces.py lists them and their usual spellings); it is kept "
            f"as written and gets rows of its own"
        )


def write_summary(df: pd.DataFrame, path: Path) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")
    return path


def parse_pct(name: str, value: float, low: float = 0.0) -> float:
    if not low <= value <= 100.0:
        raise InputError(f"{name} must lie in [{low:g}, 100], not {value:g}")
    return value / 100.0


def parse_months(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        months = tuple(int(m) for m in text.split(",") if m.strip())
    except ValueError:
        raise InputError(f"--months must be month numbers like 6,7,8,9, not {text!r}") from None
    if not months or any(not 1 <= m <= 12 for m in months):
        raise InputError(f"--months must be month numbers 1–12, not {text!r}")
    return months


def parse_peak(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        a, b = (int(x) for x in text.split("-"))
    except ValueError:
        raise InputError(f"--peak must look like 19-23, not {text!r}") from None
    if not (0 <= a <= 23 and 1 <= b <= 24 and a != b):
        raise InputError(f"--peak hours must lie in 0–24, not {text!r}")
    return a, b


def parse_hours(option: str, text: str | None) -> tuple[int, int] | None:
    """``9-17`` → ``(9, 17)``: a window of local hours, start inclusive, end exclusive."""
    if text is None:
        return None
    try:
        a, b = (int(x) for x in text.split("-"))
    except ValueError:
        raise InputError(f"{option} must be local hours like 9-17, not {text!r}") from None
    if not 0 <= a < b <= 24:
        raise InputError(f"{option} hours must lie in 0–24 with the start first, not {text!r}")
    return a, b


def cut_schedule(
    schedule: Path | None,
    scenario: str | None,
    zones: int,
    seed: int,
    months: str | None,
    year: int | None,
    weather,
    timezone: str,
    *,
    blocks_per_day: int | None = None,
    cut_hours: str | None = None,
    evening_block: bool | None = None,
    evening_hours: str | None = None,
):
    """The cut schedule, and its year when generated.

    ``blocks_per_day``, ``cut_hours`` (``9-17``), ``evening_block`` and ``evening_hours``
    change a scenario's generator parameters (:func:`simulate.outages.scenario_parameters`).
    """
    from simulate.outages import SCENARIOS, read_schedule, scenario_schedule

    if (schedule is None) == (scenario is None):
        raise InputError(f"give either --schedule FILE or --scenario {'|'.join(SCENARIOS)}")
    generator = (blocks_per_day, cut_hours, evening_block, evening_hours)
    if schedule is not None and any(x is not None for x in generator):
        raise InputError(
            "--blocks-per-day, --cut-hours and --evening-block/--evening-hours shape a "
            "--scenario, not a --schedule file"
        )
    if schedule is not None:
        return read_schedule(schedule), year
    if year is None:
        year = SCENARIO_YEAR
        if weather is not None and not weather.estimate:
            from simulate.coverage import simulation_labels

            year = simulation_labels(weather, None)[1]
            year = SCENARIO_YEAR if year == 1990 else year
    assert scenario is not None
    if scenario not in SCENARIOS:
        raise InputError(f"--scenario must be one of {', '.join(SCENARIOS)}, not {scenario!r}")
    day, evening = (
        parse_hours("--cut-hours", cut_hours),
        parse_hours("--evening-hours", evening_hours),
    )
    try:
        sched = scenario_schedule(
            scenario,
            year=year,
            zones=zones,
            seed=seed,
            months=parse_months(months),
            timezone=timezone,
            blocks_per_day=blocks_per_day,
            day_hours=day,
            evening_block=evening_block,
            evening_hours=evening,
        )
    except InputError as exc:
        raise InputError(f"--scenario {scenario}: {exc}") from None
    return sched, year


def outage_options(
    load_kind,
    dod,
    round_trip,
    battery_power_kw,
    reserve_pct,
    battery_kwh=None,
    self_consumption=False,
    peak=None,
    tariff=None,
):
    from simulate.coverage import OutageOptions
    from simulate.grid import GridFactors
    from simulate.load import LOAD_KINDS

    if load_kind not in LOAD_KINDS:
        raise InputError(f"--load-profile must be essential or full, not {load_kind!r}")
    if battery_power_kw is not None and battery_power_kw < 0:
        raise InputError("--battery-power-kw must not be negative")
    if battery_kwh is not None and battery_kwh < 0:
        raise InputError("--battery-kwh must not be negative")
    factors = GridFactors() if tariff is None else GridFactors(tariff_toman_per_kwh=tariff)
    if tariff is not None and tariff < 0:
        raise InputError("--tariff must not be negative")
    return OutageOptions(
        load_kind=load_kind,
        usable_dod=parse_pct("--dod", dod),
        round_trip_eff=parse_pct("--round-trip", round_trip, 1.0),
        battery_power_kw=battery_power_kw,
        reserve_frac=parse_pct("--reserve-pct", reserve_pct),
        battery_kwh=battery_kwh,
        self_consumption=self_consumption,
        peak_window=parse_peak(peak),
        factors=factors,
    )


#: Naive times on the command line are read in this zone (the program's clock).
LOCAL_ZONE = "Asia/Tehran"


def parse_time(value: str, option: str) -> pd.Timestamp:
    """``--since``/``--until``: ISO 8601 date or time; without an offset, Iran's local time.

    Raises
    ------
    InputError
        Not a date or time.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(
            f"{option}: {value!r} is not an ISO 8601 date or time (e.g. 2026-07-01 or "
            "2026-07-01T06:00+03:30)"
        ) from None
    if ts is pd.NaT or pd.isna(ts):
        raise InputError(f"{option}: {value!r} is not a date or time")
    if ts.tzinfo is None:
        ts = ts.tz_localize(LOCAL_ZONE)
    return ts.tz_convert("UTC")
