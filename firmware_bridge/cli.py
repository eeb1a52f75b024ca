"""``roshanai bridge ...``: run the MQTT → InfluxDB bridge, inspect its quarantine."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from telemetry.helptext import examples
from telemetry.settings import command_settings

if TYPE_CHECKING:
    from telemetry.influx import InfluxStore

__all__ = ["app"]

app = typer.Typer(help="The MQTT → InfluxDB bridge that loses nothing.", no_args_is_help=True)
console = Console(highlight=False)


@app.command(
    "run",
    epilog=examples(
        "roshanai bridge run --fleet telemetry/data/sample_fleet.csv",
        "roshanai bridge run --mqtt-url mqtts://broker.lan:8883 --fleet fleet.csv",
    ),
)
def run_cmd(
    ctx: typer.Context,
    mqtt_url: Annotated[
        str | None,
        typer.Option(
            "--mqtt-url",
            help="mqtt://host:1883 or mqtts://host:8883 (env ROSHANAI_MQTT_URL; default "
            "mqtt://127.0.0.1:1883).",
            show_default=False,
        ),
    ] = None,
    influx_url: Annotated[
        str | None,
        typer.Option(
            "--influx-url", help="InfluxDB URL (env ROSHANAI_INFLUX_URL).", show_default=False
        ),
    ] = None,
    influx_db: Annotated[
        str | None,
        typer.Option(
            "--influx-db",
            help="Database or bucket (env ROSHANAI_INFLUX_DB; default roshanai).",
            show_default=False,
        ),
    ] = None,
    state_dir: Annotated[
        str | None,
        typer.Option(
            "--state-dir",
            help="Spool and quarantine folder (env ROSHANAI_STATE_DIR; default roshanai-state).",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(
            "--client-id",
            help="Fixed MQTT client id, the persistent session (env ROSHANAI_CLIENT_ID; default: "
            "the MQTT username, else roshanai-bridge-HOSTNAME).",
            show_default=False,
        ),
    ] = None,
    fleet: Annotated[
        str | None,
        typer.Option(
            "--fleet",
            help="Fleet registry CSV: unknown plants are quarantined (env ROSHANAI_FLEET).",
            show_default=False,
        ),
    ] = None,
    share_group: Annotated[
        str,
        typer.Option(
            "--share-group",
            help="Join this shared-"
            "subscription group ($share/GROUP/...) so several bridges split the "
            "load. Off by default: mosquitto 2.0 forgets an offline member's "
            "shared subscription when the broker restarts.",
        ),
    ] = "",
    metrics_interval: Annotated[
        float, typer.Option("--metrics-interval", help="Seconds between self-metrics points.")
    ] = 5.0,
    max_spool_mb: Annotated[
        float, typer.Option("--max-spool-mb", help="Disk bound of the spool [MB].")
    ] = 4096.0,
    max_payload_kb: Annotated[
        int | None,
        typer.Option(
            "--max-payload-kb",
            min=1,
            max=262_143,
            help="Largest payload read [KiB]; larger ones "
            "are quarantined as oversized. Default 1024 (a 12-hour backfill of one-minute readings "
            "is about 200 KiB); keep it at or below the broker's max_packet_size (env "
            "ROSHANAI_MAX_PAYLOAD_KB).",
            show_default=False,
        ),
    ] = None,
    opendtu_prefix: Annotated[
        str | None,
        typer.Option(
            "--opendtu-prefix",
            help="OpenDTU's base topic, as set in its MQTT settings ('' for "
            "none; default solar) (env ROSHANAI_OPENDTU_PREFIX).",
            show_default=False,
        ),
    ] = None,
    ahoy_prefix: Annotated[
        str | None,
        typer.Option(
            "--ahoy-prefix",
            help="AhoyDTU's base topic ('' for none; default inverter) (env ROSHANAI_AHOY_PREFIX).",
            show_default=False,
        ),
    ] = None,
    expected: Annotated[
        bool,
        typer.Option(
            help="Expected power from the peers (clear sky x the neighbours' sky index) for "
            "the performance index and underperformance (needs --fleet)."
        ),
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    """Run the bridge until SIGTERM/SIGINT: MQTT (QoS 1, persistent session) → durable spool →
    InfluxDB, with plant status and self-metrics."""
    from firmware_bridge.bridge import Bridge, summary
    from firmware_bridge.mqtt import MqttLink
    from firmware_bridge.peers import PeerExpectation
    from firmware_bridge.status import StatusTracker
    from telemetry.influx import InfluxStore
    from telemetry.registry import read_fleet

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    s = command_settings(
        ctx,
        mqtt_url=mqtt_url,
        influx_url=influx_url,
        influx_db=influx_db,
        state_dir=state_dir,
        client_id=client_id,
        fleet=fleet,
        max_payload_kb=max_payload_kb,
        opendtu_prefix=opendtu_prefix,
        ahoy_prefix=ahoy_prefix,
    )
    log = logging.getLogger("roshanai.bridge")
    registry = read_fleet(s.fleet) if s.fleet else None
    if registry is None:
        log.warning("no --fleet: every syntactically valid plant id is accepted")
    else:
        from telemetry.provinces import unknown_provinces

        unknown = unknown_provinces(registry.plants["province"].tolist())
        if unknown:
            log.warning(
                "fleet %s: province(s) %s are none of Iran's 31; kept as written",
                registry.source,
                ", ".join(map(repr, unknown[:5])),
            )
        gateways = registry.gateway_inverters()
        log.info(
            "fleet %s: %d plants, %d with OpenDTU/AhoyDTU inverters (%d serials, %d names)",
            registry.source,
            len(registry),
            len(gateways),
            sum(len(g[0]) for g in gateways.values()),
            sum(len(g[1]) for g in gateways.values()),
        )
    store = InfluxStore.from_settings(s)
    if not _prepare_influx(store, s.influx_db):
        # The bridge runs while InfluxDB is away (the spool holds it all), but a 1.x database
        # that does not exist yet must still be created once the server answers: every write
        # would otherwise fail with "database not found" until the bridge is restarted.
        threading.Thread(
            target=_prepare_influx_when_up,
            args=(InfluxStore.from_settings(s), s.influx_db),
            name="influx-prepare",
            daemon=True,
        ).start()

    links: list[MqttLink] = []

    def publish(topic: str, payload: bytes, retain: bool) -> None:
        # Never blocks: the link's loop sends it, the newest per topic, once connected (a
        # status that changed while the broker was away goes out when it is back).
        if links:
            links[0].publish(topic, payload, qos=1, retain=retain, timeout_s=5)

    exp = PeerExpectation(registry).start() if registry is not None and expected else None
    status = StatusTracker(registry, publish=publish, expected=exp)

    def link_factory(on_message, topics):
        link = MqttLink(
            s.mqtt_url,
            s.client_id,
            username=s.mqtt_username,
            password=s.mqtt_password,
            ca_file=s.mqtt_ca_file,
            cert_file=s.mqtt_cert_file,
            key_file=s.mqtt_key_file,
            clean_start=False,
            manual_ack=True,
            on_message=on_message,
            subscriptions=topics,
            retained_once=True,
            max_pending_publishes=1000,
            threaded=False,
        )
        links.append(link)
        return link

    bridge = Bridge(
        link_factory,
        store,
        Path(s.state_dir),
        fleet=registry,
        instance=s.client_id,
        share_group=share_group or None,
        metrics_interval_s=metrics_interval,
        max_spool_bytes=int(max_spool_mb * 1024 * 1024),
        status=status,
        max_payload_bytes=s.max_payload_bytes,
        dtu_prefixes=(s.opendtu_prefix, s.ahoy_prefix),
    )
    bridge.run_forever()
    console.print(summary(s.client_id, bridge.metrics()), soft_wrap=True)  # one line


def _prepare_influx(store: InfluxStore, database: str, *, quiet: bool = False) -> bool:
    """Ping InfluxDB and create the database on the 1.x API; False if the server is away."""
    log = logging.getLogger("roshanai.bridge")
    try:
        version = store.ping()
        if store.api == "v1":
            store.create_database(database)
    except Exception as exc:
        if not quiet:
            log.warning("InfluxDB not reachable yet: %s", exc)
        return False
    log.info("InfluxDB %s at %s (%s write API)", version, store.url, store.api)
    return True


def _prepare_influx_when_up(store: InfluxStore, database: str, max_wait_s: float = 30.0) -> None:
    """Retry :func:`_prepare_influx` until it succeeds (a daemon thread), waiting as the
    writer's policy does (:data:`telemetry.retry.SPOOLED`, capped at ``max_wait_s`` [s])."""
    import dataclasses

    from telemetry.retry import SPOOLED, Backoff

    backoff = Backoff(dataclasses.replace(SPOOLED, first_wait_s=1.0, max_wait_s=max_wait_s))
    with store:
        while not _prepare_influx(store, database, quiet=True):
            time.sleep(backoff.failed())


@app.command(
    "quarantine",
    epilog=examples(
        "roshanai bridge quarantine",
        "roshanai bridge quarantine --state-dir /var/lib/roshanai --limit 50",
    ),
)
def quarantine_cmd(
    ctx: typer.Context,
    state_dir: Annotated[
        str | None,
        typer.Option(
            "--state-dir",
            help="The bridge's state folder (env ROSHANAI_STATE_DIR; default roshanai-state).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Newest entries to list.")] = 20,
) -> None:
    """Count quarantined messages by reason and list the newest."""
    from firmware_bridge.spool import Spool
    from telemetry.errors import InputError

    s = command_settings(ctx, state_dir=state_dir)
    path = Path(s.state_dir) / "spool.sqlite3"
    if not path.exists():
        raise InputError(f"no bridge spool in {s.state_dir} (pass --state-dir)")
    spool = Spool(path)
    counts = spool.quarantine_counts()
    console.print(
        f"{sum(counts.values()):,} quarantined; {spool.depth:,} lines waiting for InfluxDB"
    )
    t = Table("reason", "count")
    for reason, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        t.add_row(reason, f"{n:,}")
    console.print(t)
    t = Table("received (UTC)", "reason", "topic", "detail")
    for q in spool.quarantined(limit):
        t.add_row(
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(q.received_ns / 1e9)),
            q.reason,
            q.topic,
            q.detail,
        )
    console.print(t)
