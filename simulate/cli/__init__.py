"""``roshanai simulate ...``: thin commands over :mod:`simulate` (yield of a fleet or a site,
coverage of power cuts, battery sizing). What they share is :mod:`simulate.cli.common`."""

from __future__ import annotations

import typer

from simulate.cli.battery import size_battery_cmd
from simulate.cli.fleet import fleet_cmd, site_cmd
from simulate.cli.outage import outage_cmd

__all__ = ["app"]

app = typer.Typer(
    help="Simulate yield (kWh) of plants with the numba fleet kernel (equal to pvlib ModelChain).",
    no_args_is_help=True,
)
app.command("fleet")(fleet_cmd)
app.command("site")(site_cmd)
app.command("outage")(outage_cmd)
app.command("size-battery")(size_battery_cmd)
