"""The text of the production mosquitto configuration and ACL (pure functions, no I/O).

Security model (mosquitto 2.0):

- one TLS listener, no anonymous access; with ``plain_port`` also a plain-text listener for
  gateways whose MQTT client has no TLS (AhoyDTU), under the same accounts and rules
  (``per_listener_settings false``: the plugin checks every listener);
- accounts and rules enforced by the dynamic-security plugin (:mod:`roshanai.deploy.dynsec`):
  every account is bound to the client id equal to its username (= its plant id), so no
  client takes over another plant's session and an id with ``+``, ``#`` or ``/`` is refused
  at CONNECT; SUBSCRIBE is checked, so a plant asking for ``#`` or another plant's topics gets
  SUBACK "not authorized";
- plant ``X`` may publish ``roshanai/v1/X/telemetry`` and ``roshanai/v1/X/availability`` (its
  last will) and its gateways' topics: ``<opendtu prefix>/<serial>/`` for its inverter serials
  (in OpenDTU's lower-case hexadecimal), ``<ahoy prefix>/<name>/`` for its AhoyDTU inverter
  names and ``<ahoy prefix>/X/`` (:func:`roshanai.deploy.dynsec.gateway_filters`), and read
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

from firmware_bridge.decode import DEFAULT_MAX_PAYLOAD_BYTES
from roshanai.deploy.dynsec import DYNSEC_FILE, gateway_filters
from telemetry import topics
from telemetry.errors import ConfigError

__all__ = [
    "BRIDGE_ACCOUNT",
    "BYTES_PER_QUEUED_MESSAGE",
    "MAX_PACKET_BYTES",
    "PACKET_HEADROOM_BYTES",
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
"""The first bridge's account (docs/contracts.md: ``plant_id`` = ``bridge`` in credentials.csv)."""
_RESERVED_RE = re.compile(r"^bridge(-[0-9]+)?$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")

QUEUE_MARGIN = 1.5
"""Headroom over the steady message rate: last-will/online messages, batches uploaded after
power cuts that end during the outage, reconnect bursts."""
BYTES_PER_QUEUED_MESSAGE = 660
"""Broker memory per queued message, measured with mosquitto 2.0.11 and a 310-byte canonical
reading (RSS grew 656 bytes per message over 100,000 queued for an offline bridge): the payload
and about 350 bytes of bookkeeping."""
_MEASURED_READING_BYTES = 310
MIN_QUEUED_MESSAGES = 10_000
QUEUED_PAYLOAD_BYTES_PER_MESSAGE = 1024
"""Payload budget per message of ``max_queued_messages`` for ``max_queued_bytes``: three
310-byte readings. A gateway back from a power cut sends its readings as one batch (fewer
messages, the same bytes), so the count alone does not bound memory once a message may be
1 MiB; the byte limit binds only when messages carry more than the outage's readings."""
MIN_QUEUED_BYTES = 100 * DEFAULT_MAX_PAYLOAD_BYTES
"""At least a hundred full-size batches fit any queue, whatever the fleet's size."""
PACKET_HEADROOM_BYTES = 64 * 1024
"""Room in a packet beside the payload: fixed header, topic (canonical topics are under 100
bytes, MQTT allows 65,535), packet id and MQTT 5 properties."""
MAX_PACKET_BYTES = DEFAULT_MAX_PAYLOAD_BYTES + PACKET_HEADROOM_BYTES
"""``max_packet_size``: the largest payload the bridge reads
(:data:`firmware_bridge.decode.DEFAULT_MAX_PAYLOAD_BYTES`) plus :data:`PACKET_HEADROOM_BYTES`.
mosquitto 2.0.11 disconnects a client whose packet's remaining length + 1 exceeds it
(``lib/packet_mosq.c``). [bytes]"""


@dataclass(frozen=True)
class BrokerOptions:
    """Choices that shape the generated configuration.

    Attributes
    ----------
    port : int
        TLS listener port.
    bind_address : str
        Address to listen on (both listeners); empty for every interface.
    plain_port : int
        Port of a second listener without TLS, for gateways that cannot speak TLS (AhoyDTU);
        0 for none (the default). Passwords and readings cross the network unencrypted on it.
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
    plain_port: int = 0
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
        if not 0 <= self.plain_port < 65536:
            raise ConfigError(f"--plain-port {self.plain_port} is not a TCP port (0 for none)")
        if self.plain_port == self.port:
            raise ConfigError(
                f"--plain-port {self.plain_port} is the TLS listener's port too; "
                "give it another one"
            )
        if not 1 <= self.bridges <= 64:
            raise ConfigError(f"--bridges {self.bridges} must be between 1 and 64")
        if not self.report_interval_s > 0:
            raise ConfigError("--report-interval-s must be positive")
        if not self.outage_hours > 0:
            raise ConfigError("--outage-hours must be positive")
        for name in ("config_dir", "data_dir", "plugin_path"):
            value = getattr(self, name)
            if not value.startswith("/") or any(c.isspace() for c in value):
                raise ConfigError(
                    f"{name.replace('_', '-')} {value!r} must be an absolute path without spaces"
                )
        for name in ("opendtu_prefix", "ahoy_prefix"):
            value = getattr(self, name)
            if value and (not _PREFIX_RE.fullmatch(value) or value.split("/")[0] == "roshanai"):
                raise ConfigError(
                    f"--{name.replace('_', '-')} {value!r} must be a plain topic "
                    "prefix outside roshanai/"
                )
        # A plant may publish under <prefix>/<serial or name>/#: with one tree inside the other,
        # a serial could be spelt like the other firmware's inverter and reach its readings.
        a, b = (f"{p}/" for p in (self.opendtu_prefix, self.ahoy_prefix))
        if self.opendtu_prefix and self.ahoy_prefix and (a.startswith(b) or b.startswith(a)):
            raise ConfigError(
                f"--opendtu-prefix {self.opendtu_prefix!r} and --ahoy-prefix "
                f"{self.ahoy_prefix!r} must be separate trees"
            )


@dataclass(frozen=True)
class QueueSizing:
    """Per-client queue limits for a bridge outage at full fleet rate.

    Attributes
    ----------
    memory_gib : float
        Broker memory the outage's readings take, sent one per message. [GiB]
    limit_memory_gib : float
        The most a full queue can take: every message counted, and the byte limit reached
        (:data:`BYTES_PER_QUEUED_MESSAGE` minus the measured reading is bookkeeping). [GiB]
    """

    plants: int
    messages_per_hour: int
    outage_hours: float
    max_queued_messages: int
    memory_gib: float
    max_queued_bytes: int = 0
    limit_memory_gib: float = 0.0


def queue_sizing(plants: int, opts: BrokerOptions) -> QueueSizing:
    """``max_queued_messages`` and ``max_queued_bytes`` so that ``opts.outage_hours`` of the
    whole fleet fit one queue.

    The limits are per client. With several bridges on a shared subscription each gets a
    share, but while only one is subscribed (or the others are down) one queue holds
    everything, so each bridge's queue is sized for the whole fleet.
    """
    per_hour = math.ceil(plants * 3600.0 / opts.report_interval_s)
    limit = max(MIN_QUEUED_MESSAGES, math.ceil(per_hour * opts.outage_hours * QUEUE_MARGIN))
    memory = per_hour * opts.outage_hours * BYTES_PER_QUEUED_MESSAGE / 2**30
    max_bytes = max(MIN_QUEUED_BYTES, limit * QUEUED_PAYLOAD_BYTES_PER_MESSAGE)
    bookkeeping = BYTES_PER_QUEUED_MESSAGE - _MEASURED_READING_BYTES
    return QueueSizing(
        plants,
        per_hour,
        opts.outage_hours,
        limit,
        memory,
        max_bytes,
        (limit * bookkeeping + max_bytes) / 2**30,
    )


def format_bytes(gib: float) -> str:
    """``0.37 GiB`` or ``12 MiB``."""
    return f"{gib:.2f} GiB" if gib >= 1 else f"{gib * 1024:.0f} MiB"


def bridge_accounts(n: int) -> list[str]:
    """``bridge``, ``bridge-2``, …, ``bridge-n``."""
    return [BRIDGE_ACCOUNT] + [f"{BRIDGE_ACCOUNT}-{i}" for i in range(2, n + 1)]


def is_reserved(plant_id: str) -> bool:
    """Plant ids a fleet may not use: the bridges' account names."""
    return bool(_RESERVED_RE.fullmatch(plant_id))


def mosquitto_conf(
    opts: BrokerOptions, sizing: QueueSizing, *, generated: str, fleet_source: str
) -> str:
    """The broker configuration file."""
    cfg = opts.config_dir.rstrip("/")
    data = opts.data_dir.rstrip("/")
    bind = f" {opts.bind_address}" if opts.bind_address else ""
    q = sizing
    overhead = BYTES_PER_QUEUED_MESSAGE - _MEASURED_READING_BYTES
    per_message = QUEUED_PAYLOAD_BYTES_PER_MESSAGE
    batches = MIN_QUEUED_BYTES // DEFAULT_MAX_PAYLOAD_BYTES
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

{_tls_heading(opts)}
listener {opts.port}{bind}
protocol mqtt
certfile {cfg}/server.crt
keyfile {cfg}/server.key
tls_version tlsv1.2
# Client ids: each account is bound to the id equal to its username (the plugin refuses any
# other id, so none takes over another plant's session or carries '+', '#' or '/').
{_plain_listener(opts, bind)}
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
# canonical reading (measured: the payload and ~{overhead} bytes), so about \
{format_bytes(q.memory_gib)} for the outage.
max_queued_messages {q.max_queued_messages}
# A gateway back from a power cut sends its readings as one batch (up to max_packet_size):
# fewer messages, the same bytes. So payloads are limited too: {per_message:,} bytes per message \
of the
# count (three readings), at least {batches} full-size batches; a full queue takes at most \
about {format_bytes(q.limit_memory_gib)}.
max_queued_bytes {q.max_queued_bytes}
max_inflight_messages 1000
# Sessions of clients silent this long are dropped (e.g. revoked or replaced gateways); the
# bridges' own MQTT 5 sessions expire after 7 days offline.
persistent_client_expiration 30d
# Bigger packets disconnect the sender: {DEFAULT_MAX_PAYLOAD_BYTES:,} bytes of payload (the \
largest the bridge reads,
# DEFAULT_MAX_PAYLOAD_BYTES) + {PACKET_HEADROOM_BYTES:,} for the header, topic and MQTT 5 \
properties.
max_packet_size {MAX_PACKET_BYTES}

log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp true
log_timestamp_format %Y-%m-%dT%H:%M:%S
"""


def _tls_heading(opts: BrokerOptions) -> str:
    if not opts.plain_port:
        return """\
# The only listener: TLS. There is no plain-text listener, not even on loopback (--plain-port
# adds one for gateways without TLS); a health check that sends CONNECT without credentials and
# gets "not authorised" back proves the broker is up (deploy/compose.yaml does that)."""
    return f"""\
# The TLS listener, for every gateway that can speak TLS (OpenDTU) and for the bridges. A
# plain-text listener follows (--plain-port {opts.plain_port}) for gateways that cannot. A \
health check
# that sends CONNECT without credentials and gets "not authorised" back proves the broker is up
# (deploy/compose.yaml does that, over TLS)."""


def _plain_listener(opts: BrokerOptions, bind: str) -> str:
    """The plain-text listener's block (empty without ``plain_port``)."""
    if not opts.plain_port:
        return ""
    return f"""
# Plain-text listener (--plain-port): NO TLS. For gateways whose MQTT client has no TLS: AhoyDTU
# (its espMqttClient connects over plain TCP; OpenDTU speaks TLS and should use the listener
# above). On this port passwords and readings cross the network UNENCRYPTED: anyone on the path
# can read them, and log in as the plant with the password they saw. Use it only on a network
# you trust (the household's VPN, a local relay), never across the internet.
# The same accounts, client-id binding and topic rules apply as on the TLS listener:
# per_listener_settings is false, so allow_anonymous and the dynamic-security plugin above
# cover every listener.
listener {opts.plain_port}{bind}
protocol mqtt
"""


def acl_text(
    bridges: Sequence[str],
    inverters: Mapping[str, tuple[Sequence[str], Sequence[str]]],
    opts: BrokerOptions,
    *,
    generated: str,
) -> str:
    """The ACL file: patterns for every plant, a block per bridge and per DTU plant.

    mosquitto 2.0.11 reads a ``topic`` line's topic as the rest of the line with its ends
    trimmed (``src/security_default.c``), so a name with inner spaces stays one topic; a
    newline, ``+``, ``#`` or ``/`` cannot reach the file (:func:`dynsec.gateway_filters`).

    Parameters
    ----------
    bridges : sequence of str
        Bridge account names.
    inverters : mapping
        plant_id → (its inverter serials in OpenDTU's topic form, its AhoyDTU inverter names),
        for the plants that have some (``Fleet.gateway_inverters``).

    Raises
    ------
    ConfigError
        A serial or name that cannot be a single topic level.
    """
    ahoy = opts.ahoy_prefix
    prefixes = [p for p in (opts.opendtu_prefix, ahoy) if p]
    lines = [
        f"# ACL generated by `roshanai deploy mosquitto` at {generated}; do not edit.",
        "# Every plant (username = plant id = client id): its own telemetry and availability,",
        "# and its own command topic to read. Nothing else.",
        f"pattern write {topics.plant_topic('%u', topics.TELEMETRY)}",
        f"pattern write {topics.plant_topic('%u', topics.AVAILABILITY)}",
        f"pattern read {topics.plant_topic('%u', topics.COMMAND)}",
    ]
    if ahoy:
        lines += [
            "# An AhoyDTU inverter named like its plant is taken for that plant.",
            f"pattern write {ahoy}/%u/#",
        ]
    lines.append("")
    for name in bridges:
        lines += [
            f"user {name}",
            # The patterns above apply to bridges too; no plant is called like a bridge.
            f"topic deny {topics.plant_tree(name)}",
            *([f"topic deny {ahoy}/{name}/#"] if ahoy else []),
            f"topic read {topics.PLANT_ROOT}/#",
            *(f"topic read {p}/#" for p in prefixes),
            f"topic write {topics.plant_filter(topics.STATUS)}",
            "",
        ]
    for plant_id, (serials, names) in inverters.items():
        filters = gateway_filters(
            plant_id,
            serials,
            names,
            opendtu_prefix=opts.opendtu_prefix,
            ahoy_prefix=ahoy,
            own_id=False,
        )
        if filters:
            lines += [f"user {plant_id}", *(f"topic write {f}" for f in filters), ""]
    return "\n".join(lines)
