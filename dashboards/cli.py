"""``roshanai dashboards ...`` (provisioning, rollups, points); ``roshanai report``."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from telemetry.errors import InputError
from telemetry.helptext import examples
from telemetry.settings import command_settings

__all__ = ["app", "report_command"]

app = typer.Typer(
    help="Grafana provisioning for the dashboards, and the rollups and points they read.",
    no_args_is_help=True,
)
console = Console(highlight=False, soft_wrap=True)

InfluxUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--influx-url", help="InfluxDB URL (env ROSHANAI_INFLUX_URL).", show_default=False
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


def _store(ctx: typer.Context, influx_url: str | None, influx_db: str | None, **flags):
    from telemetry.influx import InfluxStore

    s = command_settings(ctx, influx_url=influx_url, influx_db=influx_db, **flags)
    return s, InfluxStore.from_settings(s, timeout_s=60)


@app.command(
    "export",
    epilog=examples(
        "roshanai dashboards export --out grafana-provisioning",
        "roshanai dashboards export --out /etc/grafana/provisioning --template",
    ),
)
def export_cmd(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder to write (use it as Grafana's provisioning folder)."),
    ],
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
    grafana_dir: Annotated[
        str,
        typer.Option(
            "--grafana-dir",
            help="Where Grafana will find the folder (the dashboards provider "
            "reads `<grafana-dir>/dashboards/json`).",
        ),
    ] = "/etc/grafana/provisioning",
    template: Annotated[
        bool,
        typer.Option(
            "--template",
            help="Leave the datasource's URL, database and credentials to Grafana's "
            "environment (ROSHANAI_INFLUX_*) instead of filling them in.",
        ),
    ] = False,
) -> None:
    """Write Grafana's provisioning: datasource, dashboards, alert rules.

    The datasource gets the InfluxDB URL, database and credentials of the settings (the file is
    mode 0600 when it holds a password or token).
    """
    from dashboards.check import check_provisioning
    from dashboards.provision import build_files, private_files, write_files

    settings = (
        None if template else command_settings(ctx, influx_url=influx_url, influx_db=influx_db)
    )
    if settings is not None and not settings.influx_url:
        raise InputError(
            "no InfluxDB URL: pass --influx-url, set ROSHANAI_INFLUX_URL, or use --template"
        )
    files = build_files(settings, grafana_dir)
    written = write_files(out, files, private_files(settings))
    try:  # a self-check where PyYAML is at hand (the tests check the same files anyway)
        import yaml  # noqa: F401

        problems = check_provisioning(out)
    except ImportError:  # pragma: no cover
        problems = []
    if problems:  # pragma: no cover - the generated files are checked by the tests
        raise InputError("the written provisioning has problems: " + "; ".join(problems[:5]))
    for path in written:
        console.print(f"wrote {path}")
    where = "Grafana's environment"
    if settings is not None:  # the URL without any credentials in it
        parts = urlsplit(settings.influx_url or "")
        where = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    console.print(
        f"datasource uid roshanai-influxql → {where}; copy {out} to {grafana_dir} "
        "(or mount it there) and restart Grafana"
    )


@app.command(
    "check",
    epilog=examples(
        "roshanai dashboards check",
        "roshanai dashboards check grafana-provisioning",
    ),
)
def check_cmd(
    folder: Annotated[
        Path | None,
        typer.Argument(
            help="Provisioning folder (default: the one in the package).", show_default=False
        ),
    ] = None,
) -> None:
    """Check a provisioning folder's structure (uids, datasource references, panel ids, alert
    rules) as Grafana will need it."""
    from dashboards.check import check_provisioning
    from dashboards.provision import REPO_PROVISIONING

    root = folder or REPO_PROVISIONING
    problems = check_provisioning(root)
    for p in problems:
        console.print(f"[red]problem:[/] {p}")
    if problems:
        raise typer.Exit(2)
    console.print(f"{root}: provisioning OK")


def _parse_when(text: str, tz: str, *, end: bool = False) -> int:
    """``2026-07-01`` (local midnight; the day after for an end), ``1405-04-10`` (Solar
    Hijri), or an ISO time with offset → ms since the epoch."""
    import jdatetime

    text = text.strip()
    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            y, m, d = (int(x) for x in text.split("-"))
            day = jdatetime.date(y, m, d).togregorian() if y < 1700 else date(y, m, d)
            if end:
                day += timedelta(days=1)
            local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
            return int(local.timestamp() * 1000)
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise InputError(
            f"{text!r} is not a date (2026-07-01, Solar Hijri 1405-04-10) or an "
            "ISO time with offset"
        ) from None
    if when.tzinfo is None:
        raise InputError(f"{text!r} needs a UTC offset (or give a date)")
    return int(when.astimezone(UTC).timestamp() * 1000)


def _resolve_provinces(store: Any, asked: list[str]) -> list[str]:
    """``--province`` values → the province tag values in the data: the same name in any
    case, in Persian or another usual spelling (``tehran``, ``تهران``); a province the data
    does not have is a one-line error, not an empty report."""
    from dashboards.queries import DAY
    from telemetry.provinces import canonical_province

    series = store.query(f'SHOW TAG VALUES FROM {DAY} WITH KEY = "province"')
    known = sorted({str(v[1]) for s in series for v in s.get("values", [])})
    out: set[str] = set()
    for name in asked:
        want = canonical_province(name)
        match = [
            k
            for k in known
            if k.casefold() == name.strip().casefold()
            or (want is not None and canonical_province(k) == want)
        ]
        if not match:
            listed = ", ".join(known[:10]) + (", …" if len(known) > 10 else "")
            there = (
                f"provinces there: {listed}"
                if known
                else "there are none: run roshanai dashboards rollups"
            )
            raise InputError(
                f"--province {name!r}: no such province in the daily rollups ({there})"
            )
        out.update(match)
    return sorted(out)


def _month_range(text: str, tz: str) -> tuple[int, int]:
    """``1405-04`` (Solar Hijri) or ``2026-07`` (Gregorian) → the month's [start, end)."""
    from telemetry.calendar import month_bounds

    try:
        y, m = (int(x) for x in text.strip().split("-"))
        first, nxt = month_bounds(y, m)
    except ValueError:
        raise InputError(
            f"--month {text!r} must be YYYY-MM (1405-04 Solar Hijri or 2026-07 Gregorian)"
        ) from None
    zone = ZoneInfo(tz)
    return tuple(
        int(datetime(d.year, d.month, d.day, tzinfo=zone).timestamp() * 1000) for d in (first, nxt)
    )  # type: ignore[return-value]


def _window(from_: str | None, to: str | None, since: str, tz: str) -> tuple[int, int]:
    from dashboards.macros import parse_duration_ms

    end = _parse_when(to, tz, end=True) if to else int(time.time() * 1000)
    try:
        start = _parse_when(from_, tz) if from_ else end - parse_duration_ms(since)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if start >= end:
        raise InputError("the period ends before it starts")
    return start, end


@app.command(
    "rollups",
    epilog=examples(
        "roshanai dashboards rollups --since 90d",
        "roshanai dashboards rollups --mode writer --every 300",
    ),
)
def rollups_cmd(
    ctx: typer.Context,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="cq (InfluxDB 1.x: retention policies "
            "and continuous queries), writer (computed here, any "
            "server), auto.",
        ),
    ] = "auto",
    since: Annotated[
        str, typer.Option("--since", help="Recompute this far back (e.g. 2d, 90d).")
    ] = "2d",
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Recompute from this date or time instead.", show_default=False
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="... up to this date (inclusive) or time.", show_default=False),
    ] = None,
    rollup_days: Annotated[
        int, typer.Option("--rollup-days", help="Life of the hourly and daily rollups (1.x).")
    ] = 7665,
    raw_days: Annotated[
        int | None,
        typer.Option(
            "--raw-days",
            help="Shorten the raw (default) retention policy to this many days "
            "(1.x). Typical-year simulation points (1990) are then refused: keep those in "
            "another database.",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        float | None,
        typer.Option(
            "--every",
            help="Keep running: recompute the last --since every S seconds.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Set up and compute the rollups that keep 20 years queryable (see dashboards.rollups)."""
    from dashboards.rollups import apply

    s, store = _store(ctx, influx_url, influx_db)
    with store:
        setup = True
        while True:
            start, end = _window(from_, to, since, s.timezone)
            report = apply(
                store,
                start_ns=start * 1_000_000,
                end_ns=end * 1_000_000,
                mode=mode,
                rollup_days=rollup_days,
                raw_days=raw_days,
                setup=setup,
            )
            for stmt in report.statements:
                console.print(f"applied: {stmt}")
            console.print(
                f"rollups ({report.mode}) {_iso(start)} – {_iso(end)}: "
                f"{report.points_written:,} points, {report.province_days:,} "
                f"province-days"
            )
            if every is None:
                return
            setup = False
            time.sleep(every)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


@app.command(
    "publish-registry",
    epilog=examples("roshanai dashboards publish-registry --fleet fleet.csv"),
)
def publish_registry_cmd(
    ctx: typer.Context,
    fleet: Annotated[
        str | None,
        typer.Option("--fleet", help="Fleet file (env ROSHANAI_FLEET).", show_default=False),
    ] = None,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
) -> None:
    """Write the fleet file to InfluxDB (plant_registry): the map's coordinates and the plant
    counts of availability. Rerun when the fleet changes."""
    from dashboards.publish import registry_lines
    from telemetry.registry import read_fleet

    s, store = _store(ctx, influx_url, influx_db, fleet=fleet)
    if not s.fleet:
        raise InputError("no fleet file: pass --fleet or set ROSHANAI_FLEET")
    registry = read_fleet(s.fleet)
    with store:
        n = store.write_batches(registry_lines(registry))
    console.print(
        f"wrote {n:,} plants of {registry.source} to {store.url} database "
        f"{store.database} (plant_registry)"
    )


@app.command(
    "publish-quarantine",
    epilog=examples(
        "roshanai dashboards publish-quarantine --state-dir /var/lib/roshanai",
        "roshanai dashboards publish-quarantine --every 60",
    ),
)
def publish_quarantine_cmd(
    ctx: typer.Context,
    state_dir: Annotated[
        str | None,
        typer.Option(
            "--state-dir",
            help="The bridge's state folder (env ROSHANAI_STATE_DIR; default roshanai-state).",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="The bridge's client id, the instance tag (env ROSHANAI_CLIENT_ID; default: as "
            "bridge run).",
            show_default=False,
        ),
    ] = None,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
    every: Annotated[
        float | None,
        typer.Option("--every", help="Keep publishing every S seconds.", show_default=False),
    ] = None,
) -> None:
    """Publish the bridge's quarantined messages by reason (bridge_quarantine)."""
    from dashboards.publish import quarantine_counts, quarantine_lines

    s, store = _store(ctx, influx_url, influx_db, state_dir=state_dir, client_id=client_id)
    with store:
        while True:
            counts = quarantine_counts(s.state_dir)
            store.write_lines(quarantine_lines(counts, s.client_id))
            console.print(
                f"{sum(counts.values()):,} quarantined in {len(counts)} reasons ({s.client_id})"
            )
            if every is None:
                return
            time.sleep(every)


def _daily_rollup_span(store: Any) -> tuple[datetime, datetime] | None:
    """First and last day of the daily rollups the database holds (UTC), or None.

    ``first()`` and ``last()`` are asked apart: together, InfluxDB 1.x stamps their row with
    the range's start."""
    from dashboards.rollups import INVERTER_1D, RP_DAILY

    bounds = []
    for fn in ("first", "last"):
        rows = store.query(
            f'SELECT {fn}("energy_wh") FROM "{RP_DAILY}"."{INVERTER_1D}"', epoch="ns"
        )
        if not rows or not rows[0].get("values"):
            return None
        bounds.append(datetime.fromtimestamp(int(rows[0]["values"][0][0]) / 1e9, UTC))
    return bounds[0], bounds[1]


def report_command(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Report folder (default: `<out-dir>/report`).", show_default=False
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="en, fa or both.")] = "both",
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="First day (2026-07-01, or Solar Hijri 1405-04-10) or an ISO time; "
            "default 30 days before --to.",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Last day, included (or an ISO time); default now.", show_default=False
        ),
    ] = None,
    month: Annotated[
        str | None,
        typer.Option(
            "--month",
            help="A whole month instead: 1405-04 (Solar Hijri) or 2026-07.",
            show_default=False,
        ),
    ] = None,
    province: Annotated[
        list[str] | None,
        typer.Option(
            "--province", help="Only this province (repeat for several).", show_default=False
        ),
    ] = None,
    tariff: Annotated[
        float | None,
        typer.Option(
            "--tariff",
            help="Purchase tariff [toman/kWh] (default 2500, ordinary households).",
            show_default=False,
        ),
    ] = None,
    co2: Annotated[
        float | None,
        typer.Option(
            "--co2",
            help="CO2 avoided [kg/kWh] (default 0.524, gas margin; grid average 0.655).",
            show_default=False,
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Simulation run (default: the newest).", show_default=False),
    ] = None,
    outage_run_id: Annotated[
        str | None,
        typer.Option(
            "--outage-run-id",
            help="Outage simulation run (default: the newest).",
            show_default=False,
        ),
    ] = None,
    persian_digits: Annotated[
        bool, typer.Option("--persian-digits/--latin-digits", help="Digits of the Persian report.")
    ] = True,
    influx_url: InfluxUrlOpt = None,
    influx_db: InfluxDbOpt = None,
) -> None:
    """Write the program report (HTML with PNG charts, English and Persian) from the program
    dashboard's queries: for program managers without Grafana."""
    from dashboards.macros import TimeRange
    from dashboards.program import CO2_KG_PER_KWH, TARIFF_TOMAN_PER_KWH
    from dashboards.report import collect, write_report

    if lang not in ("en", "fa", "both"):
        raise InputError(f"--lang must be en, fa or both, not {lang!r}")
    s, store = _store(ctx, influx_url, influx_db)
    if month and (from_ or to):
        raise InputError("give --month or --from/--to, not both")
    start, end = _month_range(month, s.timezone) if month else _window(from_, to, "30d", s.timezone)
    folder = out or Path(s.out_dir) / "report"
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder} is a file; the report is a folder of HTML and charts")
    with store:
        provinces = _resolve_provinces(store, province) if province else []
        held = _daily_rollup_span(store)
        data = collect(
            store,
            TimeRange(start, end),
            provinces=provinces,
            tariff_toman_per_kwh=TARIFF_TOMAN_PER_KWH if tariff is None else tariff,
            co2_kg_per_kwh=CO2_KG_PER_KWH if co2 is None else co2,
            run_id=run_id,
            outage_run_id=outage_run_id,
        )
    languages = ("en", "fa") if lang == "both" else (lang,)
    written = write_report(data, folder, languages=languages, persian_digits=persian_digits)
    if not data.table("provinces"):
        if held is None:
            console.print(
                "[yellow]note:[/] the database has no daily rollups yet: run `roshanai "
                "dashboards rollups` (they are what the report reads)"
            )
        else:
            console.print(
                f"[yellow]note:[/] no daily rollups in this period; the database holds "
                f"them from {held[0]:%Y-%m-%d} to {held[1]:%Y-%m-%d} UTC (choose "
                "--month or --from/--to there)"
            )
    for path in written:
        if path.suffix != ".png":
            console.print(f"wrote {path}")
    console.print(f"{sum(p.suffix == '.png' for p in written)} charts in {folder / 'charts'}")
