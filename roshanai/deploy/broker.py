"""The text of the production mosquitto configuration and ACL (pure functions, no I/O).

Security model (mosquitto 2.0):

- one TLS listener, no anonymous access;
- accounts and rules enforced by the dynamic-security plugin (:mod:`roshanai.deploy.dynsec`):
  every account is bound to the client id equal to its username (= its plant id), so no
  client takes over another plant's session and an id with ``+``, ``#`` or ``/`` is refused
  at CONNECT; SUBSCRIBE is checked, so a plant asking for ``#`` or another plant's topics gets
  SUBACK "not authorized";
- plant ``X`` may publish ``roshanai/v1/X/telemetry`` and ``roshanai/v1/X/availability`` (its
  last will), and under ``<dtu prefix>/<serial>/`` for its inverter serials, and read
  ``roshanai/v1/X/command``; nothing else;
- bridge accounts read the canonical tree and the DTU trees and write the retained status
  topics.

The same accounts and rules are also written in mosquitto's classic formats (``passwd``,
:func:`acl_text`): a broker without the plugin can use them through ``password_file`` and
``acl_file``, with two weaker points: subscriptions are then checked on delivery only, and
``use_username_as_clientid true`` must replace client ids instead of refusing them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from roshanai.deploy.dynsec import DYNSEC_FILE
from telemetry.errors import ConfigError

__all__ = [
    "BRIDGE_ACCOUNT",
    "BYTES_PER_QUEUED_MESSAGE",
    "QUEUE_MARGIN",
    "BrokerOptions",
    "QueueSizing",
    "acl_text",
    "bridge_accounts",
    "format_bytes",
    "is_reserved",
    "mosquitto_conf",
    "queue_sizing",
]

BRIDGE_ACCOUNT = "bridge"
"""The first bridge's account (DESIGN.md: ``plant_id`` = ``bridge`` in credentials.csv)."""
_RESERVED_RE = re.compile(r"^bridge(-[0-9]+)?$")
_SERIAL_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")

QUEUE_MARGIN = 1.5
"""Headroom over the steady message rate: last-will/online messages, batches uploaded after
power cuts that end during the outage, reconnect bursts."""
BYTES_PER_QUEUED_MESSAGE = 660
"""Broker memory per queued message, measured with mosquitto 2.0.11 and a 310-byte canonical
reading (RSS grew 656 bytes per message over 100,000 queued for an offline bridge)."""
MIN_QUEUED_MESSAGES = 10_000


@dataclass(frozen=True)
class BrokerOptions:
    """Choices that shape the generated configuration.

    Attributes
    ----------
    port : int
        TLS listener port.
    bind_address : str
        Address to listen on; empty for every interface.
    config_dir : str
        Where the broker finds passwd, acl and the certificates at run time (absolute).
    data_dir : str
        ``persistence_location`` (writable by the broker).
    bridges : int
        Bridge accounts: ``bridge``, ``bridge-2``, … (each bridge process needs its own: client
        ids are the usernames).
    report_interval_s : float
        How often a gateway publishes a reading. [s]
    outage_hours : float
        Bridge outage the queues must absorb at full fleet rate. [h]
    opendtu_prefix, ahoy_prefix : str
        DTU base topics the bridge decodes; empty turns one off.
    plugin_path : str
        The dynamic-security plugin on the broker's machine (or in its image).
    """

    port: int = 8883
    bind_address: str = ""
    config_dir: str = "/etc/mosquitto/roshanai"
    data_dir: str = "/var/lib/mosquitto"
    bridges: int = 1
    report_interval_s: float = 60.0
    outage_hours: float = 1.0
    opendtu_prefix: str = "solar"
    ahoy_prefix: str = "inverter"
    plugin_path: str = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"--port {self.port} is not a TCP port")
        if not 1 <= self.bridges <= 64:
            raise ConfigError(f"--bridges {self.bridges} must be between 1 and 64")
        if not self.report_interval_s > 0:
            raise ConfigError("--report-interval-s must be positive")
        if not self.outage_hours > 0:
            raise ConfigError("--outage-hours must be positive")
        for name in ("config_dir", "data_dir", "plugin_path"):
            value = getattr(self, name)
            if not value.startswith("/") or any(c.isspace() for c in value):
                raise ConfigError(f"{name.replace('_', '-')} {value!r} must be an absolute path "
                                  "without spaces")
        for name in ("opendtu_prefix", "ahoy_prefix"):
            value = getattr(self, name)
            if value and (not _PREFIX_RE.fullmatch(value) or value.split("/")[0] == "roshanai"):
                raise ConfigError(f"--{name.replace('_', '-')} {value!r} must be a plain topic "
                                  "prefix outside roshanai/")


@dataclass(frozen=True)
class QueueSizing:
    """Per-client queue limit for a bridge outage at full fleet rate."""

    plants: int
    messages_per_hour: int
    outage_hours: float
    max_queued_messages: int
    memory_gib: float


def queue_sizing(plants: int, opts: BrokerOptions) -> QueueSizing:
    """``max_queued_messages`` so that ``opts.outage_hours`` of the whole fleet fit one queue.

    The limit is per client. With several bridges on a shared subscription each gets a share,
    but while only one is subscribed (or the others are down) one queue holds everything, so
    each bridge's queue is sized for the whole fleet.
    """
    per_hour = math.ceil(plants * 3600.0 / opts.report_interval_s)
    limit = max(MIN_QUEUED_MESSAGES, math.ceil(per_hour * opts.outage_hours * QUEUE_MARGIN))
    memory = per_hour * opts.outage_hours * BYTES_PER_QUEUED_MESSAGE / 2**30
    return QueueSizing(plants, per_hour, opts.outage_hours, limit, memory)


def format_bytes(gib: float) -> str:
    """``0.37 GiB`` or ``12 MiB``."""
    return f"{gib:.2f} GiB" if gib >= 1 else f"{gib * 1024:.0f} MiB"


def bridge_accounts(n: int) -> list[str]:
    """``bridge``, ``bridge-2``, …, ``bridge-n``."""
    return [BRIDGE_ACCOUNT] + [f"{BRIDGE_ACCOUNT}-{i}" for i in range(2, n + 1)]


def is_reserved(plant_id: str) -> bool:
    """Plant ids a fleet may not use: the bridges' account names."""
    return bool(_RESERVED_RE.fullmatch(plant_id))


def mosquitto_conf(opts: BrokerOptions, sizing: QueueSizing, *, generated: str,
                   fleet_source: str) -> str:
    """The broker configuration file."""
    cfg = opts.config_dir.rstrip("/")
    data = opts.data_dir.rstrip("/")
    listener = f"listener {opts.port}" + (f" {opts.bind_address}" if opts.bind_address else "")
    q = sizing
    return f"""\
# mosquitto 2.0 configuration generated by `roshanai deploy mosquitto` at {generated}
# from {fleet_source}: {q.plants:,} plants and {opts.bridges} bridge account(s).
# Do not edit: re-run the command (it keeps existing credentials); --apply sends account
# changes to the running broker, other changes need a restart.

per_listener_settings false
allow_anonymous false
# Accounts, client-id binding and topic rules: the dynamic-security plugin, which also checks
# SUBSCRIBE (mosquitto's acl_file does not). It reads {DYNSEC_FILE} only at start; changes
# reach a running broker through `roshanai deploy mosquitto --apply mqtts://host:{opts.port}`.
# passwd and acl beside it hold the same accounts and rules in mosquitto's classic formats.
plugin {opts.plugin_path}
plugin_opt_config_file {cfg}/{DYNSEC_FILE}

# The only listener: TLS. There is no plain-text listener, not even on loopback; a health check
# that sends CONNECT without credentials and gets "not authorised" back proves the broker is up
# (deploy/compose.yaml does that).
{listener}
protocol mqtt
certfile {cfg}/server.crt
keyfile {cfg}/server.key
tls_version tlsv1.2
# Client ids: each account is bound to the id equal to its username (the plugin refuses any
# other id, so none takes over another plant's session or carries '+', '#' or '/').

persistence true
persistence_location {data}/
# Saving writes the whole in-memory store; every 5 minutes bounds what a crash of the broker
# itself can lose while keeping saves rare when an outage has filled the queues.
autosave_interval 300

# Queues. Full fleet rate: {q.plants:,} plants x 3600 s / {opts.report_interval_s:g} s = \
{q.messages_per_hour:,} messages per hour.
# A bridge outage of {q.outage_hours:g} h queues {q.messages_per_hour * q.outage_hours:,.0f} \
messages for the bridge's persistent session;
# the limit below is that times {QUEUE_MARGIN} (last wills, batches after power cuts, reconnect
# bursts), at least {MIN_QUEUED_MESSAGES:,}. mosquitto keeps queued messages in memory: about \
{BYTES_PER_QUEUED_MESSAGE} bytes per
# canonical reading (measured), so about {format_bytes(q.memory_gib)} for the outage. No byte \
limit: the count binds.
max_queued_messages {q.max_queued_messages}
max_queued_bytes 0
max_inflight_messages 1000
# Sessions of clients silent this long are dropped (e.g. revoked or replaced gateways); the
# bridges' own MQTT 5 sessions expire after 7 days offline.
persistent_client_expiration 30d
# Bigger packets disconnect the sender: a batch far beyond the bridge's 64 KiB payload limit is
# not a gateway's.
max_packet_size 1048576

log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp true
log_timestamp_format %Y-%m-%dT%H:%M:%S
"""


def acl_text(bridges: Sequence[str], serials: Mapping[str, Sequence[str]],
             opts: BrokerOptions, *, generated: str) -> str:
    """The ACL file: patterns for every plant, a block per bridge and per DTU plant.

    Parameters
    ----------
    bridges : sequence of str
        Bridge account names.
    serials : mapping
        plant_id → its inverter serials (DTU gateways), for plants that have some.

    Raises
    ------
    ConfigError
        A serial that cannot be a single topic level.
    """
    prefixes = [p for p in (opts.opendtu_prefix, opts.ahoy_prefix) if p]
    lines = [
        f"# ACL generated by `roshanai deploy mosquitto` at {generated}; do not edit.",
        "# Every plant (username = plant id = client id): its own telemetry and availability,",
        "# and its own command topic to read. Nothing else.",
        "pattern write roshanai/v1/%u/telemetry",
        "pattern write roshanai/v1/%u/availability",
        "pattern read roshanai/v1/%u/command",
        "",
    ]
    for name in bridges:
        lines += [
            f"user {name}",
            # The patterns above apply to bridges too; no plant is called like a bridge.
            f"topic deny roshanai/v1/{name}/#",
            "topic read roshanai/v1/#",
            *(f"topic read {p}/#" for p in prefixes),
            "topic write roshanai/v1/+/status",
            "",
        ]
    if prefixes:
        for plant_id, plant_serials in serials.items():
            block = [f"user {plant_id}"]
            for serial in plant_serials:
                if not _SERIAL_RE.fullmatch(serial):
                    raise ConfigError(f"inverter_serial {serial!r} of plant {plant_id} must be "
                                      "letters, digits, '.', '-', '_' (at most 64)")
                block += [f"topic write {p}/{serial}/#" for p in prefixes]
            lines += [*block, ""]
    return "\n".join(lines)
