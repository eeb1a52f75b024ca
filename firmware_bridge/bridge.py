"""The bridge: MQTT in, durable spool, InfluxDB out — and nothing acknowledged before it is safe.

Threads:

- paho's network thread hands each message to a queue (:class:`firmware_bridge.mqtt.MqttLink`);
- the ingest thread takes what has arrived (a group of up to ``group_max`` messages), decodes and
  validates it, appends lines and quarantine entries to the spool in ONE fsync'd commit, and only
  then acknowledges the group's messages to the broker (group commit);
- the writer thread drains the spool into InfluxDB (:class:`firmware_bridge.writer.Writer`);
- the metrics thread appends a ``bridge`` self-metrics point to the spool every few seconds and
  lets the status tracker publish plant status.

A kill -9 at any moment loses nothing: unacknowledged messages are redelivered by the broker
(persistent session, QoS 1), spooled lines are written after the restart, and a line written
twice overwrites itself (the device's timestamp is the point's time).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from firmware_bridge.decode import DEFAULT_MAX_PAYLOAD_BYTES, Decoded, Decoder, Rejection
from firmware_bridge.mqtt import InboundMessage, MqttLink
from firmware_bridge.points import record_line
from firmware_bridge.rejection import PLANT_ID_RE, excerpt, reject
from firmware_bridge.spool import QuarantineEntry, Spool, SpoolFull
from firmware_bridge.validate import Validator
from firmware_bridge.writer import Writer
from telemetry import topics
from telemetry.influx import InfluxStore
from telemetry.lineprotocol import format_point
from telemetry.registry import Fleet
from telemetry.schema import MEASUREMENT_BRIDGE, MEASUREMENT_INVERTER

__all__ = ["COUNTERS", "Bridge", "BridgeCounters", "summary"]

AVAILABILITY_FILTER = topics.plant_filter(topics.AVAILABILITY)
"""Gateways' online/offline messages (their last will says ``offline``)."""

GROUP_WINDOW_S = 0.02
"""A group is committed when the broker has sent nothing more this long after its first message
(in a steady stream: at most 50 fsync'd commits, writer wake-ups and ack writes a second). [s]"""

GROUP_MAX_WAIT_S = 0.2
"""Longest a message waits in the group being read before the group is committed. [s]"""

STATE_SAVE_INTERVAL_S = 30.0
"""How often the energy-counter state of every plant is saved with a commit. [s]"""

log = logging.getLogger("roshanai.bridge")

_READING_PREFIX = MEASUREMENT_INVERTER + ","
_PLANT_ROOT = topics.PLANT_ROOT + "/"
_AVAILABILITY_LEAF = "/" + topics.AVAILABILITY

MAX_QUARANTINED_PAYLOAD_BYTES = 64 * 1024
"""Quarantined payloads are kept up to this size (the rest is cut, and the cut is noted). [bytes]"""


COUNTERS = ("received", "accepted", "stored", "quarantined", "duplicates", "stale", "unregistered")
"""The bridge's cumulative counters, in the order the stop summary names them (defined in
:mod:`telemetry.schema`, measurement ``bridge``)."""


@dataclass
class BridgeCounters:
    """Cumulative counters of one bridge instance (persisted in the spool across restarts).

    ``received`` counts MQTT messages; ``accepted``, ``stored`` and ``duplicates`` count
    readings; ``quarantined`` counts quarantine entries (a refused message or reading);
    ``stale`` and ``unregistered`` count what changed no history (see
    :mod:`telemetry.schema`, measurement ``bridge``).
    """

    received: int = 0
    accepted: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    stale: int = 0
    unregistered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {name: getattr(self, name) for name in COUNTERS}


class Bridge:
    """One bridge process.

    Parameters
    ----------
    link_factory : callable
        ``link_factory(on_message, subscriptions) -> MqttLink`` (not started).
    store : InfluxStore
    state_dir : pathlib.Path
        Holds ``spool.sqlite3`` (spool, quarantine, counters).
    fleet : Fleet, optional
        The registry: unknown plant ids are quarantined and tags come from it. None accepts
        every syntactically valid plant id.
    instance : str
        ``instance`` tag of the self-metrics (the client id).
    share_group : str or None
        Subscribe to telemetry as ``$share/<group>/...`` so several bridges split the load
        (gateway availability is subscribed plainly by each: every bridge needs it). None (the
        default) subscribes plainly: mosquitto 2.0 restores an offline client's plain
        subscriptions from persistence after a broker restart, but not its shared ones, so
        messages published while a shared group is offline across a broker restart are lost.
    group_max : int
        Largest group of messages committed together.
    metrics_interval_s : float
        Period of the ``bridge`` self-metrics point. [s]
    max_spool_bytes : int
        Disk bound of the spool; beyond it the bridge stops acknowledging (the broker keeps
        the messages) and raises the ``spool_full`` alarm. [bytes]
    status : object, optional
        A status tracker with ``observe(record, now_ns)``, ``gateway(status, now_ns)``,
        ``will(plant_id, payload)`` and ``tick(now_ns) -> list[str]`` (lines to store), called
        from the ingest and metrics threads.
    serials : dict, optional
        OpenDTU serial → plant_id without a fleet (tests); with ``fleet``, the fleet's
        ``inverter_serial`` and ``inverter_name`` columns are used.
    max_payload_bytes : int
        Larger messages are quarantined unread (``oversized``). [bytes]
    dtu_prefixes : (str, str)
        Base topics of OpenDTU and AhoyDTU (``""`` turns one off).
    """

    def __init__(
        self,
        link_factory: Callable[[Callable[[InboundMessage], None], list[str]], MqttLink],
        store: InfluxStore,
        state_dir: Path | str,
        *,
        fleet: Fleet | None = None,
        instance: str = "bridge",
        share_group: str | None = None,
        group_max: int = 2000,
        metrics_interval_s: float = 5.0,
        max_spool_bytes: int = 4 * 1024**3,
        status: object | None = None,
        serials: dict[str, str] | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        dtu_prefixes: tuple[str, str] = (topics.DEFAULT_OPENDTU_PREFIX, topics.DEFAULT_AHOY_PREFIX),
    ) -> None:
        self.state_dir = Path(state_dir)
        self.spool = Spool(self.state_dir / "spool.sqlite3", max_bytes=max_spool_bytes)
        self.store = store
        self.fleet = fleet
        self._fleet_ids: frozenset[str] | None = (
            None if fleet is None else frozenset(fleet.plants["plant_id"].tolist())
        )
        self.instance = instance
        self.group_max = int(group_max)
        self.metrics_interval_s = float(metrics_interval_s)
        # The fleet's gateway inverters reach the DTU decoders here, whoever starts the bridge.
        opendtu_prefix, ahoy_prefix = dtu_prefixes
        if fleet is not None:
            self.decoder = Decoder.from_fleet(
                fleet,
                max_payload_bytes=max_payload_bytes,
                opendtu_prefix=opendtu_prefix,
                ahoy_prefix=ahoy_prefix,
            )
        else:
            self.decoder = Decoder(
                serials=serials,
                max_payload_bytes=max_payload_bytes,
                opendtu_prefix=opendtu_prefix,
                ahoy_prefix=ahoy_prefix,
            )
        self.validator = Validator(fleet)
        saved = self.spool.get_state("counter_state")
        if isinstance(saved, dict):
            self.validator.load_counter_state(saved)
        self.decoder.load_state(self.spool.get_state("dtu_state"))
        saved_counters = self.spool.get_state(f"counters/{instance}", {})
        self.counters = BridgeCounters()
        if isinstance(saved_counters, dict):
            for name in COUNTERS:
                value = saved_counters.get(name)
                if type(value) is int:
                    setattr(self.counters, name, value)
        self.status = status
        self.spool_full = False
        self._queue: queue.SimpleQueue[InboundMessage] = queue.SimpleQueue()
        self._recent: OrderedDict[tuple[str, str | None, int], None] = OrderedDict()
        self._stop_ingest = threading.Event()
        self._stop_writer = threading.Event()
        self._wake_writer = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_flush_ns = 0
        self._state_saved_at = time.monotonic()
        topics = self.decoder.subscriptions()
        if share_group:
            topics = [f"$share/{share_group}/{t}" for t in topics]
        # Never shared: every bridge keeps the status of every plant, so each must see every
        # gateway's last will (shared, one bridge would publish "offline" and the others go
        # on republishing "online" for the plant).
        self.subscriptions = [*topics, AVAILABILITY_FILTER]
        self.link = link_factory(self._queue.put, self.subscriptions)
        self.writer = Writer(
            self.spool, store, on_stored=self._count_stored, on_quarantined=self._count_quarantined
        )

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Bridge:
        """Start the writer, ingest and metrics threads, then connect and subscribe."""
        self._spawn("writer", lambda: self.writer.run(self._stop_writer, wake=self._wake_writer))
        self._spawn("metrics", self._metrics_loop)
        try:
            self.link.start()  # a caller-driven link is run by this thread until it returns,
            self._spawn("ingest", self._ingest_loop)  # then by the ingest thread alone
        except BaseException:
            self._stop_ingest.set()
            self._stop_writer.set()
            self._wake_writer.set()
            for t in self._threads:
                t.join(timeout=10)
            self.spool.close()
            raise
        log.info(
            "bridge %s: subscribed to %s; spool %s (%d lines waiting)",
            self.instance,
            ", ".join(self.subscriptions),
            self.spool.path,
            self.spool.depth,
        )
        return self

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        t = threading.Thread(target=target, name=f"bridge-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Stop taking messages (the group in hand is committed and acknowledged), disconnect,
        let the writer drain for up to ``drain_timeout_s``, and write a last metrics point."""
        self._stop_ingest.set()
        for t in self._threads:
            if t.name in ("bridge-ingest", "bridge-metrics"):
                t.join(timeout=30)
        self.link.stop()
        self._append_metrics()
        deadline = time.monotonic() + drain_timeout_s
        while self.spool.depth and time.monotonic() < deadline and not self.writer.stats.backoff_s:
            self._wake_writer.set()
            time.sleep(0.05)
        self._stop_writer.set()
        self._wake_writer.set()
        for t in self._threads:
            t.join(timeout=30)
        self._save_state()
        self.spool.close()

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then stop cleanly."""
        done = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: done.set())
        self.start()
        while not done.wait(1.0):
            pass
        log.info("bridge %s: stopping", self.instance)
        self.stop()

    # ------------------------------------------------------------------ ingest

    def _ingest_loop(self) -> None:
        while not self._stop_ingest.is_set():
            group = self._gather()
            lines: list[tuple[str, int]] = []
            rejected: list[QuarantineEntry] = []
            tokens: list[object] = []
            now_ns = time.time_ns()
            for msg in group:
                if msg.topic.startswith(_PLANT_ROOT) and msg.topic.endswith(_AVAILABILITY_LEAF):
                    with self.counters.lock:
                        self.counters.received += 1
                    refused = self._availability(msg)
                    if refused is not None:
                        rejected.append(
                            self._entry(msg.received_ns, msg.topic, msg.payload, refused)
                        )
                    tokens.append(msg)
                    continue
                self._process(
                    msg,
                    self.decoder.decode(msg.topic, msg.payload, msg, msg.received_ns, msg.retain),
                    now_ns,
                    lines,
                    rejected,
                    tokens,
                )
            stopping = self._stop_ingest.is_set()
            if stopping or now_ns - self._last_flush_ns > 1_000_000_000:
                # On the way out, every DTU cycle in hand is completed: QoS 0 messages of a
                # gateway are not redelivered, so what was gathered is stored now or never.
                self._last_flush_ns = now_ns
                self._process(
                    None,
                    self.decoder.flush(now_ns, force=stopping),
                    now_ns,
                    lines,
                    rejected,
                    tokens,
                )
            if not (lines or rejected or tokens):
                continue
            if not self._commit(lines, rejected, len(group)):
                return  # stopping while the spool is full: nothing acknowledged, nothing lost
            self.link.ack_many([t for t in tokens if isinstance(t, InboundMessage)])
            self._wake_writer.set()

    def _gather(self) -> list[InboundMessage]:
        """The next group of messages: what has arrived, up to ``group_max``.

        With a caller-driven link (the CLI's), this thread runs the MQTT loop itself: it reads
        until nothing more has come ``GROUP_WINDOW_S`` after the group's first message, the
        group is full, or ``GROUP_MAX_WAIT_S`` has passed.
        """
        group: list[InboundMessage] = []
        if self.link.threaded:
            with contextlib.suppress(queue.Empty):
                group.append(self._queue.get(timeout=0.1))
            self._take_waiting(group)
            return group
        window_end = deadline = 0.0
        while len(group) < self.group_max:
            now = time.monotonic()
            self.link.pump(max(0.0, window_end - now) if group else 0.1)
            before = len(group)
            self._take_waiting(group)
            if not group:
                return group  # idle: let the loop look at the clock and the stop flag
            now = time.monotonic()
            if before == 0:  # the group's first message: it waits at most GROUP_WINDOW_S
                window_end, deadline = now + GROUP_WINDOW_S, now + GROUP_MAX_WAIT_S
            if len(group) == before and (now >= window_end or self._stop_ingest.is_set()):
                break  # nothing more came within the window: commit what is in hand
            if now > deadline:
                break
        return group

    def _take_waiting(self, group: list[InboundMessage]) -> None:
        """Move what waits in the queue into ``group``, up to ``group_max``."""
        while len(group) < self.group_max:
            try:
                group.append(self._queue.get_nowait())
            except queue.Empty:
                break

    def _process(
        self,
        msg: InboundMessage | None,
        decoded: Decoded,
        now_ns: int,
        lines: list[tuple[str, int]],
        rejected: list[QuarantineEntry],
        tokens: list[object],
    ) -> None:
        topic = msg.topic if msg is not None else ""
        received_ns = msg.received_ns if msg is not None else now_ns
        accepted = duplicates = 0
        for rej in decoded.rejections:
            rejected.append(self._entry(received_ns, topic, msg.payload if msg else b"", rej))
        for record in decoded.records:
            checked = self.validator.check(record, now_ns)
            if isinstance(checked, Rejection):
                rejected.append(
                    self._entry(received_ns, topic, msgspec.json.encode(record), checked)
                )
                continue
            key = (record.plant_id, record.inverter, record.ts_ns)
            if key in self._recent or (msg is not None and msg.dup):
                duplicates += 1  # a redelivery, or the same reading sent again
            if key not in self._recent:
                self._recent[key] = None
                if len(self._recent) > 200_000:
                    self._recent.popitem(last=False)
            lines.append((record_line(checked), received_ns))
            accepted += 1
            if self.status is not None:
                self.status.observe(checked, now_ns)  # type: ignore[attr-defined]
        if self.status is not None:
            for state in decoded.statuses:
                self.status.gateway(state, now_ns)  # type: ignore[attr-defined]
        with self.counters.lock:
            c = self.counters
            c.received += msg is not None
            c.accepted += accepted
            c.duplicates += duplicates
            c.stale += decoded.stale
            c.unregistered += decoded.unregistered
        tokens.extend(decoded.tokens)

    def _availability(self, msg: InboundMessage) -> Rejection | None:
        """A gateway's online/offline message; a plant id the topic cannot carry as a tag, or
        one not in the fleet, is refused (it would become a ``plant_status`` series and a
        retained status topic of its own)."""
        parts = msg.topic.split("/")
        plant_id = parts[2] if len(parts) == 4 else ""
        if not PLANT_ID_RE.fullmatch(plant_id):
            return reject(
                "bad_tag",
                f"availability topic plant_id {excerpt(plant_id)} is not a "
                f"plant_id (letters, digits, '-', '_'; at most 64)",
            )
        if self._fleet_ids is not None and plant_id not in self._fleet_ids:
            return reject(
                "unknown_plant",
                f"availability of plant_id {plant_id!r}, which is not in the fleet",
                plant_id,
            )
        if self.status is not None:
            self.status.will(plant_id, bytes(msg.payload))  # type: ignore[attr-defined]
        return None

    @staticmethod
    def _entry(received_ns: int, topic: str, payload: bytes, rej: Rejection) -> QuarantineEntry:
        detail = rej.detail
        if len(payload) > MAX_QUARANTINED_PAYLOAD_BYTES:
            detail += f" (payload cut from {len(payload):,} bytes)"
            payload = payload[:MAX_QUARANTINED_PAYLOAD_BYTES]
        return QuarantineEntry(received_ns, topic, bytes(payload), rej.reason, detail, rej.plant_id)

    def _commit(
        self, lines: list[tuple[str, int]], rejected: list[QuarantineEntry], n_messages: int
    ) -> bool:
        state: dict[str, object] | None = None
        now = time.monotonic()
        if lines and now - self._state_saved_at > STATE_SAVE_INTERVAL_S:
            # Energy counters and DTU reading times: cheap enough every half minute.
            self._state_saved_at = now
            state = {
                "counter_state": self.validator.counter_state(),
                "dtu_state": self.decoder.state(),
            }
        while True:
            try:
                self.spool.append(lines, rejected, state=state)
            except SpoolFull as exc:
                if not self.spool_full:
                    log.error(
                        "%s: not acknowledging new messages until InfluxDB takes the "
                        "backlog (the broker keeps them)",
                        exc,
                    )
                self.spool_full = True
                self._wake_writer.set()
                if self._wait_ingest(1.0):
                    return False
                continue
            if self.spool_full:
                log.warning("spool below its bound again; acknowledging messages")
            self.spool_full = False
            with self.counters.lock:
                self.counters.quarantined += len(rejected)
            return True

    def _wait_ingest(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped (True). A caller-driven link goes on running
        meanwhile — keepalive, outgoing status — and what arrives waits in the queue, at most
        the link's Receive Maximum of messages, none of them acknowledged."""
        if self.link.threaded:
            return self._stop_ingest.wait(seconds)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._stop_ingest.is_set():
                return True
            self.link.pump(0.1)
        return self._stop_ingest.is_set()

    def _count_stored(self, lines: list[str]) -> None:
        readings = sum(1 for line in lines if line.startswith(_READING_PREFIX))
        with self.counters.lock:
            self.counters.stored += readings

    def _count_quarantined(self, lines: list[str]) -> None:
        with self.counters.lock:
            self.counters.quarantined += len(lines)

    # ------------------------------------------------------------------ metrics and status

    def _metrics_loop(self) -> None:
        while not self._stop_ingest.wait(self.metrics_interval_s):
            self._append_metrics()

    def metrics(self) -> dict[str, float | int | bool]:
        """The self-metrics fields as they are now."""
        oldest = self.spool.oldest_received_ns()
        lag_s = 0.0 if oldest is None else max(0.0, (time.time_ns() - oldest) / 1e9)
        return {
            **self.counters.as_dict(),
            "spool_depth": self.spool.depth,
            "spool_bytes": self.spool.size_bytes(),
            "lag_s": round(lag_s, 3),
            "spool_full": self.spool_full,
            "rejected_by_store": self.writer.stats.rejected,
        }

    def _append_metrics(self) -> None:
        now_ns = time.time_ns()
        fields = self.metrics()
        lines = [
            (format_point(MEASUREMENT_BRIDGE, {"instance": self.instance}, fields, now_ns), now_ns)
        ]
        if self.status is not None:
            try:
                lines += [(line, now_ns) for line in self.status.tick(now_ns)]  # type: ignore
            except Exception:  # a status bug must not stop the metrics
                log.exception("plant status update failed")
        # Metrics are the first thing to give up when the disk bound is reached.
        with contextlib.suppress(SpoolFull):
            self.spool.append(lines, state={f"counters/{self.instance}": self.counters.as_dict()})
        self._wake_writer.set()

    def _save_state(self) -> None:  # after the ingest thread has ended
        self.spool.set_state(f"counters/{self.instance}", self.counters.as_dict())
        self.spool.set_state("counter_state", self.validator.counter_state())
        self.spool.set_state("dtu_state", self.decoder.state())


def summary(instance: str, metrics: dict[str, float | int | bool]) -> str:
    """The one-line account a bridge gives when it stops (the ``bridge`` measurement's
    counters, in the same words as :mod:`telemetry.schema`)."""
    m = metrics
    return (
        f"bridge {instance} stopped: received {m['received']:,} messages; readings: "
        f"{m['accepted']:,} accepted ({m['duplicates']:,} of them again), {m['stored']:,} "
        f"stored; {m['quarantined']:,} quarantined (messages or readings); {m['stale']:,} "
        f"stale (replays and repeats); {m['unregistered']:,} from inverters not in the "
        f"fleet; {m['spool_depth']:,} lines left in the spool"
    )
