"""``roshanai deploy ...``: files for a production installation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["app"]

app = typer.Typer(help="Files for a production installation (broker accounts, TLS, ACL).",
                  no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


@app.callback()
def _group() -> None:
    """Files for a production installation (broker accounts, TLS, ACL)."""


@app.command("mosquitto")
def mosquitto_cmd(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the broker's files (created "
                   "0750; re-running keeps its accounts).", show_default=False)],
    fleet: Annotated[str | None, typer.Option("--fleet", help="Fleet registry CSV: one "
                     "account per plant (env ROSHANAI_FLEET).", show_default=False)] = None,
    tls_hostname: Annotated[list[str] | None, typer.Option(
        "--tls-hostname", help="DNS name or IP the gateways and bridges connect to; repeat for "
        "several (the certificate's SANs; localhost, 127.0.0.1 and ::1 are always added). "
        "Default: mosquitto (the compose service).", show_default=False)] = None,
    port: Annotated[int, typer.Option("--port", help="TLS listener port.")] = 8883,
    bind: Annotated[str, typer.Option("--bind", help="Listen on this address only (default: "
                    "every interface).", show_default=False)] = "",
    config_dir: Annotated[str | None, typer.Option("--config-dir", help="Where the broker "
                          "will find these files (default: --out, absolute). "
                          "/mosquitto/config in the compose stack.", show_default=False)] = None,
    data_dir: Annotated[str, typer.Option("--data-dir", help="The broker's persistence "
                        "folder.")] = "/var/lib/mosquitto",
    bridges: Annotated[int, typer.Option("--bridges", help="Bridge accounts (bridge, bridge-2, "
                       "...): one per bridge process.")] = 1,
    report_interval_s: Annotated[float, typer.Option("--report-interval-s", help="Seconds "
                                 "between a gateway's readings (queue sizing).")] = 60.0,
    outage_hours: Annotated[float, typer.Option("--outage-hours", help="Bridge outage the "
                            "broker's queues absorb at full fleet rate [h].")] = 1.0,
    opendtu_prefix: Annotated[str, typer.Option("--opendtu-prefix", help="OpenDTU base topic "
                              "('' for none).")] = "solar",
    ahoy_prefix: Annotated[str, typer.Option("--ahoy-prefix", help="AhoyDTU base topic ('' "
                           "for none).")] = "inverter",
    key_type: Annotated[str, typer.Option("--key-type", help="rsa (2048, for the widest "
                        "range of gateways) or ec (P-256) for new keys.")] = "rsa",
    broker_user: Annotated[str | None, typer.Option("--broker-user", help="Give the files "
                           "the broker reads to this user[:group] or uid[:gid] (mosquitto on "
                           "Debian, 1883 in the eclipse-mosquitto image); needs root.",
                           show_default=False)] = None,
    revoke: Annotated[list[str] | None, typer.Option("--revoke", help="Remove this account "
                      "(repeatable); it stays out until --reinstate. Reload the broker after.",
                      show_default=False)] = None,
    rotate: Annotated[list[str] | None, typer.Option("--rotate", help="New password for this "
                      "account (repeatable).", show_default=False)] = None,
    reinstate: Annotated[list[str] | None, typer.Option("--reinstate", help="Undo a "
                         "revocation (a new password).", show_default=False)] = None,
    rehash: Annotated[bool, typer.Option("--rehash", help="Recompute every password hash.")]
    = False,
) -> None:
    """Write a production mosquitto configuration for a fleet: TLS listener, no anonymous
    access, one account per plant (credentials.csv, mode 0600) and the bridges', an ACL that
    lets each plant speak only for itself, persistence, queues sized for a bridge outage."""
    from roshanai.config import load_settings
    from roshanai.deploy.broker import BrokerOptions, format_bytes
    from roshanai.deploy.mosquitto import deploy_mosquitto, parse_owner
    from telemetry.errors import InputError
    from telemetry.registry import read_fleet

    root = ctx.find_root().obj or {}
    s = load_settings(flags={"fleet": fleet}, config_file=root.get("config_file"))[0]
    if not s.fleet:
        raise InputError("no fleet file: pass --fleet FLEET.csv (or set ROSHANAI_FLEET)")
    opts = BrokerOptions(port=port, bind_address=bind,
                         config_dir=config_dir or str(out.resolve()), data_dir=data_dir,
                         bridges=bridges, report_interval_s=report_interval_s,
                         outage_hours=outage_hours, opendtu_prefix=opendtu_prefix.strip("/"),
                         ahoy_prefix=ahoy_prefix.strip("/"))
    owner = parse_owner(broker_user) if broker_user else None
    registry = read_fleet(s.fleet)
    r = deploy_mosquitto(registry, out, opts, tls_hostnames=tls_hostname or ["mosquitto"],
                         key_type=key_type, revoke=revoke or [], rotate=rotate or [],
                         reinstate=reinstate or [], rehash=rehash, owner=owner)

    def some(names: list[str]) -> str:
        return ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5
                                       else "")

    console.print(f"[bold]{out}[/]: {r.plants:,} plant accounts and "
                  f"{r.accounts - r.plants} bridge account(s); {len(r.added):,} added, "
                  f"{r.hashed:,} passwords hashed")
    for label, names in (("revoked", r.revoked), ("new password", r.rotated),
                         ("reinstated", r.reinstated)):
        if names:
            console.print(f"{label}: {some(names)}")
    if r.not_in_fleet:
        console.print(f"[yellow]{len(r.not_in_fleet):,} account(s) of plants no longer in "
                      f"{registry.source}[/] ({some(r.not_in_fleet)}); --revoke them if they "
                      "are gone")
    if r.rehashed_all:
        console.print("[yellow]credentials.csv and passwd disagreed: every password rehashed[/]")
    if r.ca_created:
        console.print("new CA: give ca.crt to every gateway and bridge; keep ca.key off the "
                      "broker and backed up")
    if r.server_cert:
        console.print(f"server certificate issued ({r.server_cert}) for "
                      f"{', '.join(r.hostnames)}; restart the broker to load it")
    if r.sizing is not None:
        z = r.sizing
        console.print(f"queues: {z.messages_per_hour:,} messages/h at full fleet rate; "
                      f"max_queued_messages {z.max_queued_messages:,} "
                      f"(about {format_bytes(z.memory_gib)} of broker memory for a "
                      f"{z.outage_hours:g} h bridge outage)")
    console.print("files: " + ", ".join(r.files))
    if r.ca_created:
        console.print("start the broker with mosquitto.conf (systemctl enable --now "
                      "roshanai-mosquitto, or docker compose up -d)")
    elif r.revoked or r.rotated or r.reinstated or r.added:
        console.print("reload the broker (SIGHUP) so that it reads passwd and acl again: "
                      "systemctl reload roshanai-mosquitto, or docker compose kill -s HUP "
                      "mosquitto")
