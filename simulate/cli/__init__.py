"""``roshanai simulate ...``: thin commands over :mod:`simulate` (yield of a fleet or a site,
coverage of power cuts, battery sizing). What they share is :mod:`simulate.cli.common`."""

from __future__ import annotations

import typer

from simulate.cli.battery import size_battery_cmd
from simulate.cli.climate import climate_cmd
from simulate.cli.fleet import fleet_cmd, site_cmd
from simulate.cli.forecast import forecast_cmd, forecast_skill_cmd
from simulate.cli.outage import outage_cmd
from telemetry.helptext import examples

__all__ = ["app"]

app = typer.Typer(
    help="Simulate yield [kWh] of plants with the numba fleet kernel (equal to pvlib ModelChain).",
    no_args_is_help=True,
)
app.command(
    "fleet",
    epilog=examples(
        "roshanai simulate fleet",
        "roshanai simulate fleet my_fleet.csv --weather tehran.epw --hourly h.parquet",
    ),
)(fleet_cmd)
app.command(
    "site",
    epilog=examples(
        "roshanai simulate site --lat 35.69 --lon 51.39",
        "roshanai simulate site --lat 29.5 --lon 60.9 --tilt 25 --weather zahedan.epw",
    ),
)(site_cmd)
app.command(
    "outage",
    epilog=examples(
        "roshanai simulate outage --scenario summer-2025",
        "roshanai simulate outage my_fleet.csv --schedule cuts.csv --battery-kwh 5",
    ),
)(outage_cmd)
app.command(
    "size-battery",
    epilog=examples(
        "roshanai simulate size-battery --lat 35.7 --lon 51.4 --scenario summer-2025",
        "roshanai simulate size-battery --lat 38.08 --lon 46.29 --schedule cuts.csv",
    ),
)(size_battery_cmd)
app.command(
    "forecast",
    epilog=examples(
        "roshanai simulate forecast my_fleet.csv --forecast open-meteo.json",
        "roshanai simulate forecast --forecast ensemble.csv --hourly h.parquet",
    ),
)(forecast_cmd)
app.command(
    "forecast-skill",
    epilog=examples(
        "roshanai simulate forecast-skill --since 2026-07-01 --until 2026-07-08",
    ),
)(forecast_skill_cmd)
app.command(
    "climate",
    epilog=examples(
        "roshanai simulate climate",
        "roshanai simulate climate --markdown",
        "roshanai simulate climate --sources",
    ),
)(climate_cmd)
