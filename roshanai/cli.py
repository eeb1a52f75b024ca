"""``roshanai``: the one command line. Each package contributes its own sub-commands.

Errors a user can cause end as one line on stderr and a non-zero exit code (2 bad input,
3 unreachable service, 1 other); never a traceback unless ``ROSHANAI_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import click
import typer
import typer.exceptions
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dashboards.cli import app as dashboards_app
from dashboards.cli import report_command
from firmware_bridge.cli import app as bridge_app
from firmware_bridge.emulator import emulate_command
from roshanai.config import load_settings, mask
from roshanai.deploy.cli import app as deploy_app
from simulate.cli import app as simulate_app
from telemetry.errors import RoshanaiError
from telemetry.helptext import examples
from triage.cli import triage_command

__all__ = ["app", "main"]

try:  # typer ≥ 0.20 vendors click as typer._click
    from typer._click import exceptions as _tclick

    _CLICK_ERRORS: tuple[type[Exception], ...] = (
        click.exceptions.ClickException,
        _tclick.ClickException,
    )
    _NO_ARGS_HELP: tuple[type[Exception], ...] = (_tclick.NoArgsIsHelpError,)
except ImportError:  # pragma: no cover - older typer uses click itself
    _CLICK_ERRORS = (click.exceptions.ClickException,)
    _NO_ARGS_HELP = ()
_ABORT = (click.exceptions.Abort, typer.exceptions.Abort)
_EXIT = (click.exceptions.Exit, typer.exceptions.Exit)

err_console = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="roshanai",
    help=(
        "Monitor and simulate the rooftop solar micro-plants of Iran's Jihad of Illumination "
        "program.\n\n"
        "Planners and managers: **roshanai simulate fleet** (yield of a fleet, sample "
        "fleet by default), **roshanai simulate site** (one new household). "
        "Technicians and operators: **roshanai bridge run** (MQTT → InfluxDB), "
        "**roshanai emulate** (a fleet of emulated gateways), **roshanai triage** (which "
        "plants need a visit, and why). "
        "Settings come from flags, ROSHANAI_* variables, then roshanai.toml: "
        "**roshanai config show**."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(simulate_app, name="simulate")
app.add_typer(bridge_app, name="bridge")
app.command(
    "emulate",
    epilog=examples(
        "roshanai emulate --fleet my_fleet.csv --backfill-hours 6 --speed 60",
        "roshanai emulate --plants 200 --mqtt-url mqtt://127.0.0.1:1883",
    ),
)(emulate_command)
app.add_typer(dashboards_app, name="dashboards")
app.command(
    "report",
    epilog=examples(
        "roshanai report --month 1405-04",
        "roshanai report --province Tehran --from 1405-04-01 --lang fa",
    ),
)(report_command)
app.command(
    "triage",
    epilog=examples(
        "roshanai triage --fleet fleet.csv --since 2026-07-01 --until 2026-07-03",
        "roshanai triage --every 1h --window 3d --schedule cuts.csv",
        "roshanai triage --every 1d --window 3d --until 2026-07-01 --runs 14",
    ),
)(triage_command)
app.add_typer(deploy_app, name="deploy")

config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("roshanai")
        except PackageNotFoundError:  # a checkout that was never installed
            text = "unknown (not installed)"
        print(f"roshanai {text}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            help="TOML settings file (default: ./roshanai.toml).",
            envvar="ROSHANAI_CONFIG",
            show_envvar=True,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the installed version and exit.",
            callback=_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    ctx.obj = {"config_file": config}


@config_app.command(
    "show",
    epilog=examples(
        "roshanai config show",
        "roshanai --config /etc/roshanai/roshanai.toml config show",
    ),
)
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings (secrets masked) and where each comes from."""
    settings, origin = load_settings(config_file=(ctx.obj or {}).get("config_file"))
    table = Table(title="roshanai settings", show_lines=False)
    table.add_column("setting")
    table.add_column("value")
    table.add_column("from")
    table.add_column("environment variable", style="dim")
    for key, value in settings.as_dict().items():
        table.add_row(
            key, str(mask(key, value)), origin.get(key, "default"), "ROSHANAI_" + key.upper()
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``roshanai`` script; returns the process exit code."""
    debug = os.environ.get("ROSHANAI_DEBUG") == "1"
    try:
        rv = app(args=argv, prog_name="roshanai", standalone_mode=False)
    except _ABORT:
        err_console.print("aborted")
        return 130
    except _NO_ARGS_HELP as exc:
        print(exc.format_message())  # type: ignore[attr-defined]
        return 0
    except _CLICK_ERRORS as exc:
        where = ""
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            where = f" (see: {ctx.command_path} --help)"
        message = exc.format_message()  # type: ignore[attr-defined]
        err_console.print(f"[bold red]error:[/] {escape(message + where)}")
        return int(getattr(exc, "exit_code", 2))
    except _EXIT as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except RoshanaiError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", markup=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except OSError as exc:  # e.g. a folder that cannot be written
        if debug:
            raise
        what = exc.strerror or str(exc)
        err_console.print(
            f"[bold red]error:[/] {what}" + (f": {exc.filename}" if exc.filename else "")
        )
        return 1
    except MemoryError:
        err_console.print("[bold red]error:[/] out of memory; try fewer plants per run")
        return 1
    except Exception as exc:  # the last guard: a bug, said in one line
        if debug:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {first} "
            "(rerun with ROSHANAI_DEBUG=1 for the traceback, and please report it)"
        )
        return 70
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
