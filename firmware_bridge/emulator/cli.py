"""``roshanai emulate``: publish realistic telemetry from emulated gateways to a broker."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from firmware_bridge.emulator.fleet import synthetic_fleet, write_fleet
from firmware_bridge.emulator.gateways import OUTAGE_BLOCKS_PER_DAY, Emulator
from firmware_bridge.emulator.pacing import plan_start_ns
from firmware_bridge.emulator.payloads import (
    MAX_BATCH_READINGS,
    MAX_MESSAGE_BYTES,
    MIN_MESSAGE_BYTES,
)
from telemetry.errors import InputError
from telemetry.helptext import count

if TYPE_CHECKING:
    from simulate.outages import Schedule

__all__ = ["emulate_command"]


def _write_truth(
    faults: list,
    path: Path,
    run_end: Any,
    lost_kwh_per_day: Any = None,
) -> None:
    """The truth file: the fault file's columns, ``finding`` after them (what triage should
    call each fault by the run's end, :func:`~firmware_bridge.emulator.faults.truth_finding`,
    as the offline generator's truth says; None: a run without an end) and, when given,
    ``lost_kwh_per_day``. Written atomically."""
    from firmware_bridge.emulator.faults import faults_frame, truth_finding
    from telemetry.fileio import atomic_path

    frame = faults_frame(faults, lost_kwh_per_day)
    at = list(frame.columns).index("alarm_code") + 1
    frame.insert(at, "finding", [truth_finding(f, run_end) for f in faults])
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _parse_start(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise InputError(f"--start {value!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise InputError(f"--start {value!r} needs a UTC offset or Z")
    return int(dt.astimezone(UTC).timestamp() * 1000) * 1_000_000


def _fleet_of(path: str | None, plants: int | None, seed: int):
    """The fleet file's first ``plants`` plants, or a synthetic fleet (100 by default)."""
    from telemetry.registry import read_fleet

    if path:
        fl = read_fleet(path)
        if plants is not None:
            if plants > len(fl):
                raise InputError(
                    f"--plants {plants}: the fleet {fl.source} has only {len(fl)} plants"
                )
            fl = fl.subset(0, plants)
        return fl
    return synthetic_fleet(100 if plants is None else plants, seed)


def cuts_choice(text: str) -> bool | str | Schedule:
    """``--cuts``: ``real`` (True), ``none`` (False), ``generic``, a scenario's name, or a
    schedule CSV file (``start,end[,zone]`` on the fleet's ``outage_zone``).

    Raises
    ------
    telemetry.errors.InputError
        Anything else, or a bad schedule file (one line naming it).
    """
    from simulate.outages import SCENARIOS, read_schedule

    if text in ("real", "none"):
        return text == "real"
    if text == "generic" or text in SCENARIOS:
        return text
    if Path(text).suffix.lower() == ".csv" or Path(text).exists():
        return read_schedule(text, allow_empty=True)
    raise InputError(
        f"--cuts must be real, generic, none, a scenario ({', '.join(SCENARIOS)}) or a "
        f"schedule CSV file, not {text!r}"
    )


def _run_offline(
    fl: Any,
    out: Path,
    start_ns: int | None,
    *,
    days: float,
    step_s: float,
    seed: int,
    timezone: str,
    faults: list,
    draw: bool,
    rates: dict[str, float] | None,
    faults_out: Path | None,
    cuts: str,
) -> None:
    """``roshanai emulate --offline``: the readings, the cuts beside, the truth."""
    import time

    import pandas as pd

    from firmware_bridge.emulator.faults import random_faults
    from firmware_bridge.emulator.offline import emulated_readings
    from telemetry.fileio import atomic_path

    cut_arg = cuts_choice(cuts)
    if start_ns is None:  # the last whole days before today (UTC)
        today = pd.Timestamp.now(tz="UTC").normalize()
        start_ts = today - pd.Timedelta(days=days)
    else:
        start_ts = pd.Timestamp(start_ns, tz="UTC")
    end_ts = start_ts + pd.Timedelta(days=days)
    outside = [f for f in faults if f.start >= end_ts or (f.end is not None and f.end <= start_ts)]
    if outside:  # accepted (a file can cover several runs), but said: they inject nothing
        first = outside[0]
        print(
            f"note: {count(len(outside), 'fault')} of the file "
            f"{'lies' if len(outside) == 1 else 'lie'} outside the run "
            f"({start_ts:%Y-%m-%d %H:%M}–{end_ts:%Y-%m-%d %H:%M} UTC) and inject nothing, e.g. "
            f"{first.plant_id} {first.kind} from {first.start:%Y-%m-%d %H:%M}",
            file=sys.stderr,
        )
    if draw:
        faults = random_faults(fl, start_ts, end_ts, rates, seed, timezone)
    t0 = time.perf_counter()
    run = emulated_readings(
        fl,
        start_ts,
        end_ts,
        step_s=step_s,
        faults=faults,
        cuts=cut_arg,
        seed=seed,
        timezone=timezone,
        sample=seed,
    )
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".parquet":
            run.readings.to_parquet(tmp, index=False)
        else:
            run.readings.to_csv(tmp, index=False)
    cuts_path = out.with_name(out.stem + "_cuts.csv")
    run.schedule.write_csv(cuts_path, timezone)
    if faults_out is not None:
        _write_truth(list(run.faults), faults_out, end_ts, run.lost_kwh_per_day())
    print(
        f"wrote {len(run.readings):,} readings of {len(fl):,} plants "
        f"({start_ts:%Y-%m-%d %H:%M} to {end_ts:%Y-%m-%d %H:%M} UTC, every {step_s:g} s) to "
        f"{out}, {count(len(run.schedule), 'cut')} to {cuts_path}, "
        f"{count(len(run.faults), 'fault')}"
        + (f" to {faults_out}" if faults_out is not None else "")
        + f" in {time.perf_counter() - t0:.1f} s"
    )


def _default_client_id() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:40]
    return f"roshanai-emulate-{host or 'local'}-{os.getpid()}"


def emulate_command(
    ctx: typer.Context,
    mqtt_url: Annotated[
        str | None,
        typer.Option(
            "--mqtt-url",
            help="Broker, mqtt://host:1883 or mqtts://host:8883 (env ROSHANAI_MQTT_URL).",
            show_default=False,
        ),
    ] = None,
    plants: Annotated[
        int | None,
        typer.Option(
            "--plants",
            min=1,
            help="Emulate N synthetic plants (default 100), or the first N of --fleet.",
            show_default=False,
        ),
    ] = None,
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet", help="Emulate this fleet file (env ROSHANAI_FLEET).", show_default=False
        ),
    ] = None,
    backfill_hours: Annotated[
        float,
        typer.Option(
            "--backfill-hours",
            min=0,
            help="First upload this many hours "
            "of readings as batches, as gateways back from a long cut.",
        ),
    ] = 0.0,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            min=0,
            help="Run for S seconds (wall clock); default: until Ctrl-C.",
            show_default=False,
        ),
    ] = None,
    interval_s: Annotated[
        float | None,
        typer.Option(
            "--interval",
            min=0.001,
            help="Seconds between two readings of a gateway (default 60; --offline 300).",
            show_default=False,
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            "--speed",
            min=0.0001,
            help="Simulated seconds per second "
            "(3600: an hour a second). Above 1 the simulated clock starts in "
            "the past so that no reading is ever ahead of the wall clock: with "
            "--duration S it starts S × (speed − 1) seconds before now and "
            "reaches the clock at the end; without, it catches up after about "
            "10 minutes and goes on in real time.",
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same fleet and messages.")] = 0,
    bad_rate: Annotated[
        float,
        typer.Option(
            "--bad-rate",
            min=0.0,
            max=1.0,
            help="Fraction of readings "
            "replaced by bad payloads (malformed, NaN, out of range, ...).",
        ),
    ] = 0.0,
    fleet_out: Annotated[
        Path | None,
        typer.Option(
            "--fleet-out",
            help="Write the emulated fleet here (start the bridge with --fleet FILE).",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="MQTT client id of the emulator "
            "(default: the account's username, else "
            "`roshanai-emulate-<host>-<pid>`; never the bridge's).",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="Simulated start time, ISO 8601 with offset "
            "(default: now, or earlier at --speed above 1); refused if "
            "the simulated clock would pass the wall clock.",
            show_default=False,
        ),
    ] = None,
    max_message_kb: Annotated[
        float,
        typer.Option(
            "--max-message-kb",
            min=MIN_MESSAGE_BYTES / 1024,
            help="Largest message payload published [KiB]: longer uploads "
            "(backfill, buffers after a power cut) are split into several "
            f"batches, each at most {MAX_BATCH_READINGS} readings.",
        ),
    ] = MAX_MESSAGE_BYTES / 1024,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            help="credentials.csv of `roshanai deploy "
            "mosquitto`: each plant of --fleet connects with its own "
            "account (a production broker lets an account speak only for "
            "its plant).",
            show_default=False,
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="Zone of the gateways' local clock: cuts, faults and loads (env "
            "ROSHANAI_TIMEZONE; default Asia/Tehran).",
            show_default=False,
        ),
    ] = None,
    faults_file: Annotated[
        Path | None,
        typer.Option(
            "--faults",
            help="Inject the faults of this file (CSV plant_id,kind,start,end,severity"
            "[,hours][,alarm_code]; kinds offline, comms_loss, inverter_fault, string_fault, "
            "soiling, shading).",
            show_default=False,
        ),
    ] = None,
    faults_random: Annotated[
        bool,
        typer.Option(
            "--faults-random",
            help="Inject random faults at the default rates (the README's table).",
        ),
    ] = False,
    fault_rates: Annotated[
        str | None,
        typer.Option(
            "--fault-rates",
            help="Inject random faults at these rates, the share of plants given each kind "
            "over the run, e.g. offline=0.02,string_fault=0.03 (others none).",
            show_default=False,
        ),
    ] = None,
    faults_out: Annotated[
        Path | None,
        typer.Option(
            "--faults-out",
            help="Write the injected faults here (the truth file: also the finding triage "
            "should name by the run's end; with --offline their lost_kwh_per_day).",
            show_default=False,
        ),
    ] = None,
    offline: Annotated[
        Path | None,
        typer.Option(
            "--offline",
            help="No broker: write the readings as the bridge stores them to this file "
            "(.parquet, else CSV), and the cuts beside it (`<stem>_cuts.csv`).",
            show_default=False,
        ),
    ] = None,
    days: Annotated[
        float,
        typer.Option("--days", min=0.01, help="--offline: days emulated from --start."),
    ] = 14.0,
    cuts: Annotated[
        str | None,
        typer.Option(
            "--cuts",
            help="Power cuts. --offline: 'real' (default; summer-2025 and winter-2024 as "
            "they happened, by the dates), 'generic', 'none', one scenario's name, or a "
            "schedule CSV (start,end[,zone] on the fleet's outage_zone). Live: 'generic' "
            "(default; the template year's rotating blocks) or 'none'.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Publish realistic telemetry from emulated gateways, for demos and load tests.

    Power from the simulator, growing energy counters, power cuts with batch uploads, faults.
    No reading is ever published ahead of the wall clock, and no message is longer than
    --max-message-kb (64 KiB). With --offline, write a run's readings to a file instead
    (no broker; a sampled year of weather, for detection benchmarks).
    """
    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from firmware_bridge.emulator.faults import (
        parse_fault_rates,
        random_faults,
        read_faults,
    )
    from firmware_bridge.mqtt import MqttLink
    from firmware_bridge.plant_links import PlantLinks, read_plant_passwords
    from telemetry.settings import command_settings
    from telemetry.signals import sigterm_interrupts

    s = command_settings(
        ctx, mqtt_url=mqtt_url, fleet=None if fleet is None else str(fleet), timezone=timezone
    )
    start_ns = _parse_start(start)
    if faults_file is not None and (faults_random or fault_rates is not None):
        raise InputError("--faults FILE and --faults-random/--fault-rates exclude each other")
    rates = parse_fault_rates(fault_rates) if fault_rates is not None else None
    drawn = faults_random or rates is not None
    if faults_out is not None and faults_file is None and not drawn:
        raise InputError("--faults-out needs --faults, --faults-random or --fault-rates")
    injected = read_faults(faults_file) if faults_file is not None else []
    if offline is not None:
        if credentials is not None or backfill_hours > 0 or duration is not None:
            raise InputError(
                "--offline writes a file: no --credentials, --backfill-hours, --duration"
            )
        fl = _fleet_of(s.fleet, plants, seed)
        if fleet_out is not None:
            write_fleet(fl, fleet_out)
        _run_offline(
            fl,
            offline,
            start_ns,
            days=days,
            step_s=300.0 if interval_s is None else interval_s,
            seed=seed,
            timezone=s.timezone,
            faults=injected,
            draw=drawn,
            rates=rates,
            faults_out=faults_out,
            cuts="real" if cuts is None else cuts,
        )
        return
    if cuts not in (None, "generic", "none"):
        raise InputError(
            f"a live run takes --cuts generic (the default) or none, not {cuts!r}: real "
            "calendars, scenarios and schedule files need --offline"
        )
    interval_s = 60.0 if interval_s is None else interval_s
    # Checked now, before the fleet is simulated; run() picks a default start when it begins.
    plan_start_ns(start_ns, duration, speed, backfill_hours, what="--start")
    fl = _fleet_of(s.fleet, plants, seed)
    if fleet_out is not None:
        write_fleet(fl, fleet_out)
        print(f"wrote {count(len(fl), 'plant')} to {fleet_out} (start the bridge with --fleet)")
    if drawn:
        # The faults fall in the run: from the backfill's start to the run's end (a day
        # without --duration).
        if start_ns is None:
            start_ns = plan_start_ns(None, duration, speed, backfill_hours)
        span_s = 86_400.0 if duration is None else max(duration * speed, 1.0)
        injected = random_faults(
            fl,
            pd.Timestamp(start_ns - round(backfill_hours * 3600e9), tz="UTC"),
            pd.Timestamp(start_ns + round(span_s * 1e9), tz="UTC"),
            rates,
            seed,
            s.timezone,
        )
    if faults_out is not None:
        # Written now with the planned end (a run until Ctrl-C has none), again at the end.
        planned_end = None
        if duration is not None:
            first = plan_start_ns(start_ns, duration, speed, backfill_hours)
            planned_end = pd.Timestamp(first + round(duration * speed * 1e9), tz="UTC")
        _write_truth(injected, faults_out, planned_end)
    out = Console(highlight=False, soft_wrap=True)  # the summary stays one line
    err = Console(stderr=True, highlight=False)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        tasks: dict[str, Any] = {}

        def prepare(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                name = "weather cells" if stage == "weather" else "simulating plants"
                tasks[stage] = bar.add_task(name, total=total)
            bar.update(tasks[stage], completed=done)

        emu = Emulator(
            fl,
            seed=seed,
            interval_s=interval_s,
            bad_rate=bad_rate,
            timezone=s.timezone,
            start_ns=start_ns,
            max_message_bytes=int(max_message_kb * 1024),
            progress=prepare,
            faults=injected,
            outage_blocks_per_day=0.0 if cuts == "none" else OUTAGE_BLOCKS_PER_DAY,
        )
    link: MqttLink | PlantLinks
    if credentials is not None:
        if not s.fleet:
            raise InputError("--credentials needs --fleet: the plants the accounts were made for")
        link = PlantLinks(
            s.mqtt_url,
            read_plant_passwords(credentials, fl.plant_ids),
            ca_file=s.mqtt_ca_file,
            cert_file=s.mqtt_cert_file,
            key_file=s.mqtt_key_file,
        )
    else:
        # With an account, the client id is its username: a production broker binds the two.
        link = MqttLink(
            s.mqtt_url,
            client_id or s.mqtt_username or _default_client_id(),
            username=s.mqtt_username,
            password=s.mqtt_password,
            ca_file=s.mqtt_ca_file,
            cert_file=s.mqtt_cert_file,
            key_file=s.mqtt_key_file,
            clean_start=True,
            max_pending_publishes=20,
        )
    link.start()
    try:
        with Progress(
            TextColumn("[bold]publishing"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("publishing", total=duration, info="")

            def show(wall_s: float, c: dict[str, int]) -> None:
                bar.update(task, completed=wall_s, info=f"{c['messages']:,} messages")

            with sigterm_interrupts():  # a stop by SIGTERM ends as Ctrl-C: summary, truth
                counts = emu.run(
                    link,
                    duration,
                    speed=speed,
                    backfill_hours=backfill_hours,
                    progress=show,
                    notice=lambda line: err.print(line, soft_wrap=True),
                )
    finally:
        link.stop(timeout_s=30)
    if faults_out is not None:  # the run's real end: what it published (Ctrl-C included)
        _write_truth(injected, faults_out, pd.Timestamp(counts["sim_end_ns"], tz="UTC"))
    span = [
        datetime.fromtimestamp(counts[k] / 1e9, UTC).strftime("%Y-%m-%d %H:%M")
        for k in ("sim_start_ns", "sim_end_ns")
    ]
    # messages = live readings + batches + bad payloads; readings = live + in batches.
    out.print(
        f"published {counts['messages']:,} messages to {s.mqtt_url}: "
        f"{counts['readings']:,} readings ({counts['live_readings']:,} live, "
        f"{counts['batch_readings']:,} in {counts['batches']:,} batches), "
        f"{counts['bad']:,} bad payloads, largest {counts['max_message_bytes'] / 1024:.1f} KiB, "
        f"from {counts['plants']:,} plants ({fl.source}), simulated {span[0]} to {span[1]} UTC"
        + (" (interrupted)" if counts["interrupted"] else "")
    )
