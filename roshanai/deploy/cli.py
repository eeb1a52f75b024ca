"""``roshanai deploy ...``: files for a production installation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from telemetry.helptext import examples

__all__ = ["app"]

app = typer.Typer(
    help="Files for a production installation (broker accounts, TLS, ACL).", no_args_is_help=True
)
console = Console(highlight=False, soft_wrap=True)


_DEFAULTS: dict[str, Any] = {
    "tls_hostname": ["mosquitto"],
    "port": 8883,
    "bind": "",
    "plain_port": 0,
    "config_dir": None,
    "data_dir": "/var/lib/mosquitto",
    "bridges": 1,
    "report_interval_s": 60.0,
    "outage_hours": 1.0,
    "opendtu_prefix": "solar",
    "ahoy_prefix": "inverter",
    "key_type": "rsa",
    "broker_user": None,
    "dynsec_plugin": None,
}
"""Option values when neither this run nor the last one (deploy-options.json) gives them."""


@app.callback()
def _group() -> None:
    """Files for a production installation (broker accounts, TLS, ACL)."""


@app.command(
    "mosquitto",
    epilog=examples(
        "roshanai deploy mosquitto --fleet fleet.csv --out cfg --tls-hostname mqtt",
        "roshanai deploy mosquitto --out cfg --rotate THR-000001 --apply mqtts://mqtt",
    ),
)
def mosquitto_cmd(
    ctx: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for the broker's files (created "
            "0750). A re-run keeps its accounts, and every option below that is not "
            "given keeps the last run's value (deploy-options.json).",
            show_default=False,
        ),
    ],
    fleet: Annotated[
        str | None,
        typer.Option(
            "--fleet",
            help="Fleet registry CSV: one account per plant (env ROSHANAI_FLEET).",
            show_default=False,
        ),
    ] = None,
    tls_hostname: Annotated[
        list[str] | None,
        typer.Option(
            "--tls-hostname",
            help="DNS name or IP the gateways and bridges connect to; repeat for "
            "several (the certificate's SANs; localhost, 127.0.0.1 and ::1 are always added). "
            "Default: mosquitto (the compose service).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="TLS listener port (default 8883).", show_default=False),
    ] = None,
    bind: Annotated[
        str | None,
        typer.Option(
            "--bind",
            help="Listen on this address only (default: every interface).",
            show_default=False,
        ),
    ] = None,
    plain_port: Annotated[
        int | None,
        typer.Option(
            "--plain-port",
            help="Also listen on this "
            "port WITHOUT TLS (same address, accounts and rules), for gateways "
            "that cannot speak TLS (AhoyDTU). Passwords and readings then cross "
            "the network unencrypted: only on a network you trust (the "
            "household's VPN, a local relay). 0: none (the default).",
            show_default=False,
        ),
    ] = None,
    config_dir: Annotated[
        str | None,
        typer.Option(
            "--config-dir",
            help="Where the broker "
            "will find these files (default: --out, absolute). "
            "/mosquitto/config in the compose stack.",
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(
            "--data-dir",
            help="The broker's persistence folder (default /var/lib/mosquitto).",
            show_default=False,
        ),
    ] = None,
    bridges: Annotated[
        int | None,
        typer.Option(
            "--bridges",
            help="Bridge accounts (bridge, bridge-2, ...): one per bridge process (default 1).",
            show_default=False,
        ),
    ] = None,
    report_interval_s: Annotated[
        float | None,
        typer.Option(
            "--report-interval-s",
            help="Seconds between a gateway's readings, for queue sizing (default 60).",
            show_default=False,
        ),
    ] = None,
    outage_hours: Annotated[
        float | None,
        typer.Option(
            "--outage-hours",
            help="Bridge outage the broker's queues absorb at full fleet rate [h] (default 1).",
            show_default=False,
        ),
    ] = None,
    opendtu_prefix: Annotated[
        str | None,
        typer.Option(
            "--opendtu-prefix",
            help="OpenDTU base topic ('' for none; default solar).",
            show_default=False,
        ),
    ] = None,
    ahoy_prefix: Annotated[
        str | None,
        typer.Option(
            "--ahoy-prefix",
            help="AhoyDTU base topic ('' for none; default inverter).",
            show_default=False,
        ),
    ] = None,
    key_type: Annotated[
        str | None,
        typer.Option(
            "--key-type",
            help="rsa (2048, for the widest "
            "range of gateways; the default) or ec (P-256) for new keys.",
            show_default=False,
        ),
    ] = None,
    broker_user: Annotated[
        str | None,
        typer.Option(
            "--broker-user",
            help="Give the files "
            "the broker reads to this user[:group] or uid[:gid] (mosquitto on "
            "Debian, 1883 in the eclipse-mosquitto image); needs root.",
            show_default=False,
        ),
    ] = None,
    revoke: Annotated[
        list[str] | None,
        typer.Option(
            "--revoke",
            help="Remove this account "
            "(repeatable); it stays out until --reinstate. With --apply the broker "
            "drops it at once.",
            show_default=False,
        ),
    ] = None,
    rotate: Annotated[
        list[str] | None,
        typer.Option(
            "--rotate", help="New password for this account (repeatable).", show_default=False
        ),
    ] = None,
    reinstate: Annotated[
        list[str] | None,
        typer.Option("--reinstate", help="Undo a revocation (a new password).", show_default=False),
    ] = None,
    rehash: Annotated[
        bool, typer.Option("--rehash", help="Recompute every password hash.")
    ] = False,
    dynsec_plugin: Annotated[
        str | None,
        typer.Option(
            "--dynsec-plugin",
            help="Path of "
            "mosquitto_dynamic_security.so where the broker runs (default: "
            "the image's with --config-dir /mosquitto/..., else found on this "
            "machine).",
            show_default=False,
        ),
    ] = None,
    apply: Annotated[
        str | None,
        typer.Option(
            "--apply",
            help="Send the account changes of "
            "this run (and any left pending) to the running broker at this URL "
            "(mqtts://host:8883), as the roshanai-admin account: no restart or "
            "reload needed.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a production mosquitto configuration for a fleet: TLS listener (and, with
    --plain-port, a plain-text one for gateways without TLS), no anonymous access, one account
    per plant (credentials.csv, mode 0600) and the bridges', bound to client ids, rules that
    let each plant speak only for itself (enforced by mosquitto's dynamic-security plugin),
    persistence, queues sized for a bridge outage."""
    from roshanai.deploy.broker import BrokerOptions, format_bytes
    from roshanai.deploy.dynsec import find_plugin
    from roshanai.deploy.mosquitto import (
        deploy_mosquitto,
        parse_owner,
        read_options,
        write_options,
    )
    from telemetry.errors import InputError
    from telemetry.registry import read_fleet
    from telemetry.settings import command_settings

    s = command_settings(ctx, fleet=fleet)
    if not s.fleet:
        raise InputError("no fleet file: pass --fleet FLEET.csv (or set ROSHANAI_FLEET)")
    # A re-run (adding, revoking a plant) must not silently fall back to defaults for what the
    # first run was told: the certificate's names, the paths inside a container, the owner.
    given = {
        "tls_hostname": tls_hostname or None,
        "port": port,
        "bind": bind,
        "plain_port": plain_port,
        "config_dir": config_dir,
        "data_dir": data_dir,
        "bridges": bridges,
        "report_interval_s": report_interval_s,
        "outage_hours": outage_hours,
        "opendtu_prefix": opendtu_prefix,
        "ahoy_prefix": ahoy_prefix,
        "key_type": key_type,
        "broker_user": broker_user,
        "dynsec_plugin": dynsec_plugin,
    }
    saved = read_options(out)
    o: dict[str, Any] = {
        k: v if v is not None else saved.get(k, _DEFAULTS.get(k)) for k, v in given.items()
    }
    o["config_dir"] = o["config_dir"] or str(out.resolve())
    o["dynsec_plugin"] = o["dynsec_plugin"] or find_plugin(o["config_dir"])
    kept = sorted(
        k
        for k, v in given.items()
        if v is None
        and k in saved
        and saved[k] != _DEFAULTS.get(k)
        and saved[k] != str(out.resolve())
    )
    opts = BrokerOptions(
        port=o["port"],
        bind_address=o["bind"],
        plain_port=o["plain_port"],
        config_dir=o["config_dir"],
        data_dir=o["data_dir"],
        bridges=o["bridges"],
        report_interval_s=o["report_interval_s"],
        outage_hours=o["outage_hours"],
        opendtu_prefix=o["opendtu_prefix"].strip("/"),
        ahoy_prefix=o["ahoy_prefix"].strip("/"),
        plugin_path=o["dynsec_plugin"],
    )
    owner = parse_owner(o["broker_user"]) if o["broker_user"] else None
    registry = read_fleet(s.fleet)
    err = Console(stderr=True)
    with Progress(
        TextColumn("[bold]applying to the broker"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} commands"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not (apply and err.is_terminal),
    ) as bar:
        task = bar.add_task("apply", total=None, visible=False)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, visible=True)

        r = deploy_mosquitto(
            registry,
            out,
            opts,
            tls_hostnames=o["tls_hostname"],
            key_type=o["key_type"],
            revoke=revoke or [],
            rotate=rotate or [],
            reinstate=reinstate or [],
            rehash=rehash,
            owner=owner,
            apply_url=apply,
            progress=progress,
        )
    write_options(out, o)
    if kept:
        console.print(
            "as the last run: "
            + ", ".join(
                f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k in kept
                if (v := o[k]) not in ("", None)
            )
        )

    def some(names: list[str]) -> str:
        return ", ".join(names[:5]) + (f" and {len(names) - 5:,} more" if len(names) > 5 else "")

    console.print(
        f"[bold]{out}[/]: {r.plants:,} plant accounts and "
        f"{r.accounts - r.plants} bridge account(s); {len(r.added):,} added, "
        f"{r.hashed:,} passwords hashed"
    )
    for label, names in (
        ("revoked", r.revoked),
        ("new password", r.rotated),
        ("reinstated", r.reinstated),
    ):
        if names:
            console.print(f"{label}: {some(names)}")
    if r.not_in_fleet:
        console.print(
            f"[yellow]{len(r.not_in_fleet):,} account(s) of plants no longer in "
            f"{registry.source}[/] ({some(r.not_in_fleet)}); --revoke them if they "
            "are gone"
        )
    if r.rehashed_all:
        console.print("[yellow]credentials.csv and passwd disagreed: every password rehashed[/]")
    if r.ca_created:
        console.print(
            "new CA: give ca.crt to every gateway and bridge; keep ca.key off the "
            "broker and backed up"
        )
    if r.server_cert:
        console.print(
            f"server certificate issued ({r.server_cert}) for "
            f"{', '.join(r.hostnames)}; restart the broker to load it"
        )
    if r.sizing is not None:
        z = r.sizing
        console.print(
            f"queues: {z.messages_per_hour:,} messages/h at full fleet rate; "
            f"max_queued_messages {z.max_queued_messages:,} "
            f"(about {format_bytes(z.memory_gib)} of broker memory for a "
            f"{z.outage_hours:g} h bridge outage), max_queued_bytes "
            f"{z.max_queued_bytes:,} (a full queue: at most "
            f"{format_bytes(z.limit_memory_gib)})"
        )
    if opts.plain_port:
        host = opts.bind_address or "every interface"
        console.print(
            f"[yellow]plain-text listener on port {opts.plain_port}[/] ({host}; TLS on "
            f"{opts.port}): gateways without TLS (AhoyDTU) connect there, and their "
            "passwords and readings cross the network unencrypted; only on a network "
            "you trust (the household's VPN, a local relay). --plain-port 0 removes it"
        )
    if not r.ca_created and any(
        saved.get(k, _DEFAULTS[k]) != o[k] for k in ("port", "bind", "plain_port")
    ):
        console.print(
            "[yellow]the listeners changed: restart the broker[/] (mosquitto opens "
            "listeners only at start; a reload keeps the old ones)"
        )
    console.print("files: " + ", ".join(r.files))
    if r.applied is not None:
        a = r.applied
        console.print(
            f"applied to {apply}: {a.commands:,} plugin commands in {a.messages:,} "
            f"message(s), {a.seconds:.1f} s; changed accounts were disconnected and "
            "reconnect with their new rights"
        )
        for error in a.errors[:10]:
            console.print(f"[red]refused[/] {error}")
    elif apply and not r.pending:
        console.print(f"--apply {apply}: no account changes to send")
    if r.ca_created:
        console.print(
            "start the broker with mosquitto.conf (systemctl enable --now "
            "roshanai-mosquitto, or docker compose up -d)"
        )
    elif r.dynsec_created:  # a folder from a version before the plugin
        console.print(
            "[yellow]new dynamic-security.json and mosquitto.conf: restart the broker[/] "
            "so that it enforces them (bound client ids, checked subscriptions)"
        )
    elif r.pending:
        console.print(
            f"[yellow]{len(r.pending):,} account change(s) not on the running broker "
            f"yet[/] ({some(r.pending)}): re-run with --apply mqtts://HOST:{o['port']}, "
            "or restart the broker (it reads dynamic-security.json at start)"
        )
