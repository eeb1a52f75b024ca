"""Payload decoders of the bridge: MQTT messages in, telemetry records and rejections out.

Pure logic, no I/O and no threads: :class:`Decoder` turns one inbound message (topic, payload,
an opaque ack token, the receive time) into :class:`Decoded` — the records it completes, the
rejections (quarantine entries with a reason code from :data:`REASONS`) and the tokens of the
messages now fully accounted for. The caller acknowledges those tokens only after it has
durably spooled the records and rejections, so a crash loses nothing.

Layouts (docs/contracts.md):

- canonical: ``roshanai/v1/<plant_id>/telemetry``, JSON, one reading or a batch
  ``{"v": 1, "plant_id": ..., "readings": [...]}``; one message is accounted for at once;
- OpenDTU (``<opendtu_prefix>/<serial>/<channel>/<field>``) and AhoyDTU
  (``<ahoy_prefix>/<name>/ch<N>/<Field>`` or the JSON ``<name>/ch<N>``): one value per message,
  gathered per inverter into one record by :mod:`firmware_bridge.dtu`; their tokens are
  returned when the reading completes (or :meth:`Decoder.flush` times it out).

:meth:`Decoder.decode` never raises: anything unexpected becomes a ``decoder_error`` rejection.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import msgspec

from firmware_bridge.dtu import DtuAggregator
from firmware_bridge.rejection import (
    PLANT_ID_RE,
    REASONS,
    Decoded,
    Rejection,
    excerpt,
    reject,
)
from telemetry import topics
from telemetry.errors import ConfigError
from telemetry.record import DcString, TelemetryRecord, parse_ts

if TYPE_CHECKING:
    from telemetry.registry import Fleet

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "REASONS",
    "CanonicalReading",
    "Decoded",
    "Decoder",
    "Rejection",
    "serials_from_fleet",
]

DEFAULT_MAX_PAYLOAD_BYTES: Final = 1024 * 1024
"""Largest payload the bridge reads by default (``--max-payload-kb``): a gateway back from a
12-hour cut uploads 720 one-minute readings, about 200 KB in one canonical batch. The broker of
``roshanai deploy mosquitto`` accepts packets this large plus room for the topic. [bytes]"""

CANONICAL_ROOT: Final = topics.ROOT
CANONICAL_VERSION: Final = topics.VERSION
CANONICAL_LEAF: Final = topics.TELEMETRY
CANONICAL_FILTER: Final = topics.plant_filter(topics.TELEMETRY)


class _Dc(msgspec.Struct):
    """One DC input as the payload spells it: voltage [V], current [A], power [W]."""

    v: float | None = None
    a: float | None = None
    w: float | None = None


class CanonicalReading(msgspec.Struct):
    """One reading of the canonical payload (unknown keys are ignored)."""

    ts: str | int | float | None = None
    plant_id: str | None = None
    seq: int | None = None
    ac_power_w: float | None = None
    ac_voltage_v: float | None = None
    ac_current_a: float | None = None
    ac_freq_hz: float | None = None
    energy_total_wh: float | None = None
    energy_today_wh: float | None = None
    dc: list[_Dc] | None = None
    temp_c: float | None = None
    status: str | None = None
    alarm_code: int | None = None
    rssi_dbm: float | None = None


class _Envelope(CanonicalReading):
    """A whole canonical message: one reading, or a batch in ``readings``."""

    v: int | None = None
    readings: list[CanonicalReading] | None = None


_ENVELOPE_DECODER: Final = msgspec.json.Decoder(_Envelope)


def serials_from_fleet(fleet: Fleet) -> dict[str, str]:
    """Inverter serial (as OpenDTU writes it in topics) → plant_id, from the fleet's
    ``inverter_serial`` column (several serials of one plant separated by ``;``); the registry
    has already refused a serial listed for two plants. Empty when the column is absent."""
    return fleet.inverter_serials()


def _check_prefix(name: str, prefix: str | None) -> str | None:
    if prefix is None:
        return None
    text = prefix.strip("/")
    if not text:
        return None
    if any(c in text for c in "+#\x00"):
        raise ConfigError(f"{name} {prefix!r} must not contain MQTT wildcards")
    return text


@dataclass
class Decoder:
    """Decode MQTT messages of all supported layouts into telemetry records.

    :meth:`from_fleet` builds one for a fleet: every entry point that starts a bridge with a
    fleet goes through it, so the fleet's gateway inverters always reach the DTU decoders.

    Parameters
    ----------
    serials : Mapping[str, str] or None
        OpenDTU inverter serial → plant_id (:meth:`telemetry.registry.Fleet.inverter_serials`).
    names : Mapping[str, str] or None
        AhoyDTU inverter name → plant_id (:meth:`telemetry.registry.Fleet.inverter_names`).
    plants : frozenset of str or None
        The fleet's plant ids: DTU inverters not mapped to one (nor AhoyDTU inverters named
        like one) are unknown, quarantined once per inverter and hour. None (no fleet): a
        serial or name that is itself a valid plant_id is used as the plant_id.
    max_payload_bytes : int
        Larger payloads are rejected (``oversized``) unread.
    max_batch_readings : int
        Batches with more readings are rejected whole (``oversized``).
    opendtu_prefix, ahoy_prefix : str or None
        Base topics of the two DTU firmwares; None or ``""`` turns that decoder off.
    partial_timeout_s : float
        A DTU reading still incomplete this long after its first message is completed by
        :meth:`flush` (a gateway sends a cycle's messages within a fraction of a second; the
        next cycle, 5 s later by default, would complete it anyway). [s]
    """

    serials: Mapping[str, str] | None = None
    names: Mapping[str, str] | None = None
    plants: frozenset[str] | None = None
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    max_batch_readings: int = 5000
    opendtu_prefix: str | None = topics.DEFAULT_OPENDTU_PREFIX
    ahoy_prefix: str | None = topics.DEFAULT_AHOY_PREFIX
    partial_timeout_s: float = 3.0
    _dtu: DtuAggregator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        serials = dict(self.serials or {})
        names = dict(self.names or {})
        for serial, plant_id in (*serials.items(), *names.items()):
            if not isinstance(plant_id, str) or not PLANT_ID_RE.fullmatch(plant_id):
                raise ConfigError(
                    f"inverter {serial!r} maps to {plant_id!r}, which is "
                    f"not a plant_id (letters, digits, '-', '_'; at most 64)"
                )
        if self.max_payload_bytes < 1024:
            raise ConfigError(
                f"the payload limit of {self.max_payload_bytes} bytes is too small (at least 1 KiB)"
            )
        owners = [*serials.values(), *names.values()]
        several = _several(owners)
        self.opendtu_prefix = _check_prefix("opendtu_prefix", self.opendtu_prefix)
        self.ahoy_prefix = _check_prefix("ahoy_prefix", self.ahoy_prefix)
        if self.opendtu_prefix is not None and self.opendtu_prefix == self.ahoy_prefix:
            raise ConfigError(f"OpenDTU and AhoyDTU share the base topic {self.opendtu_prefix!r}")
        for prefix in (self.opendtu_prefix, self.ahoy_prefix):
            if prefix is not None and (
                prefix == CANONICAL_ROOT or prefix.startswith(CANONICAL_ROOT + "/")
            ):
                raise ConfigError(f"DTU base topic {prefix!r} lies under {CANONICAL_ROOT}/")
        self._dtu = DtuAggregator(
            serials,
            int(self.partial_timeout_s * 1e9),
            names=names,
            plants=self.plants,
            several=several,
        )

    @classmethod
    def from_fleet(cls, fleet: Fleet | None, **kwargs: Any) -> Decoder:
        """A decoder for ``fleet`` (its serials, names and plants); None: no fleet."""
        if fleet is None:
            return cls(**kwargs)
        return cls(
            serials=fleet.inverter_serials(),
            names=fleet.inverter_names(),
            plants=frozenset(fleet.plant_ids),
            **kwargs,
        )

    def state(self) -> dict[str, dict[str, int]]:
        """What the DTU decoders must remember across restarts (latest reading times and the
        states the gateways reported)."""
        return self._dtu.state()

    def load_state(self, state: object) -> int:
        """Restore :meth:`state`; returns the entries taken."""
        return self._dtu.load_state(state)

    def subscriptions(self) -> list[str]:
        """Topic filters to subscribe to (QoS 1)."""
        subs = [CANONICAL_FILTER]
        subs += [f"{p}/#" for p in (self.opendtu_prefix, self.ahoy_prefix) if p is not None]
        return subs

    def pending(self) -> int:
        """Inverters with a DTU reading still being gathered."""
        return self._dtu.pending()

    def decode(
        self, topic: str, payload: bytes, token: object, received_ns: int, retained: bool = False
    ) -> Decoded:
        """Decode one message. Never raises.

        Parameters
        ----------
        topic : str
        payload : bytes
        token : object
            Returned in :attr:`Decoded.tokens` once the message is accounted for.
        received_ns : int
            Local receive time [ns since the epoch].
        retained : bool
            The MQTT retain flag as delivered: a retained message replayed by the broker at
            (re)subscription. It updates status only, never history.
        """
        try:
            if len(payload) > self.max_payload_bytes:
                return Decoded(
                    [],
                    [
                        reject(
                            "oversized",
                            f"payload of {len(payload)} bytes exceeds "
                            f"{self.max_payload_bytes} (topic {excerpt(topic)})",
                            _topic_plant(topic),
                        )
                    ],
                    [token],
                )
            if topic.startswith(f"{CANONICAL_ROOT}/"):
                if retained:  # the gateway's last message, replayed: already known or lost
                    return Decoded([], [], [token], stale=1)
                return self._canonical(topic, payload, token)
            rest = _under(topic, self.opendtu_prefix)
            if rest is not None:
                return self._dtu.feed_opendtu(rest, payload, token, received_ns, retained)
            rest = _under(topic, self.ahoy_prefix)
            if rest is not None:
                return self._dtu.feed_ahoy(rest, payload, token, received_ns, retained)
            return Decoded([], [reject("bad_topic", f"unexpected topic {excerpt(topic)}")], [token])
        except Exception as exc:  # never fatal: a bug here must not stop the bridge
            return Decoded(
                [],
                [
                    reject(
                        "decoder_error",
                        f"{type(exc).__name__}: {exc} (topic {excerpt(topic)}, "
                        f"payload {excerpt(payload)})",
                    )
                ],
                [token],
            )

    def flush(self, now_ns: int, force: bool = False) -> Decoded:
        """Complete DTU readings older than ``partial_timeout_s`` (all of them if ``force``)."""
        return self._dtu.flush(now_ns, force)

    # -- canonical ---------------------------------------------------------------------------

    def _canonical(self, topic: str, payload: bytes, token: object) -> Decoded:
        parts = topic.split("/")
        if len(parts) != 4 or parts[3] != CANONICAL_LEAF:
            return Decoded(
                [],
                [
                    reject(
                        "bad_topic",
                        f"unexpected topic {excerpt(topic)} "
                        f"(expected roshanai/v1/<plant_id>/telemetry)",
                    )
                ],
                [token],
            )
        if parts[1] != CANONICAL_VERSION:
            return Decoded(
                [],
                [
                    reject(
                        "unsupported_version",
                        f"topic {excerpt(topic)}: only {CANONICAL_VERSION} is supported",
                    )
                ],
                [token],
            )
        plant_id = parts[2]
        if not PLANT_ID_RE.fullmatch(plant_id):
            return Decoded(
                [],
                [
                    reject(
                        "bad_tag",
                        f"topic plant_id {excerpt(plant_id)} is not a "
                        f"plant_id (letters, digits, '-', '_'; at most 64)",
                    )
                ],
                [token],
            )
        try:
            env = _ENVELOPE_DECODER.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return self._canonical_slow(plant_id, payload, token)
        if env.v != 1:
            return Decoded([], [_version_rejection(env.v, plant_id)], [token])
        if env.plant_id is not None and env.plant_id != plant_id:
            return Decoded([], [_mismatch(env.plant_id, plant_id, "")], [token])
        if env.readings is None:
            out = _to_record(env, plant_id, "")
            if type(out) is TelemetryRecord:
                return Decoded([out], [], [token])
            return Decoded([], [out], [token])  # type: ignore[list-item]
        readings = env.readings
        if len(readings) > self.max_batch_readings:
            return Decoded(
                [], [_too_many(len(readings), self.max_batch_readings, plant_id)], [token]
            )
        decoded = Decoded([], [], [token])
        for i, reading in enumerate(readings):
            where = f"reading {i}: "
            if reading.plant_id is not None and reading.plant_id != plant_id:
                decoded.rejections.append(_mismatch(reading.plant_id, plant_id, where))
                continue
            result = _to_record(reading, plant_id, where)
            if type(result) is TelemetryRecord:
                decoded.records.append(result)
            else:
                decoded.rejections.append(result)  # type: ignore[arg-type]
        return decoded

    def _canonical_slow(self, plant_id: str, payload: bytes, token: object) -> Decoded:
        """The typed decoder refused the payload: find out why, keeping what is good."""

        def one(reason: str, detail: str) -> Decoded:
            return Decoded([], [reject(reason, detail, plant_id)], [token])

        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return one("non_utf8", f"payload is not UTF-8 (byte {exc.start}): {excerpt(payload)}")
        try:
            obj = json.loads(text, parse_constant=float)
        except (ValueError, RecursionError) as exc:
            return one("malformed_json", f"{_first_line(exc)}: {excerpt(payload)}")
        if not isinstance(obj, dict):
            return one(
                "bad_schema",
                f"payload is a JSON {type(obj).__name__}, not an object: {excerpt(payload)}",
            )
        version = obj.get("v")
        if type(version) is not int or version != 1:
            return Decoded([], [_version_rejection(version, plant_id)], [token])
        payload_id = obj.get("plant_id")
        if payload_id is not None and payload_id != plant_id:
            return Decoded([], [_mismatch(payload_id, plant_id, "")], [token])
        if "readings" not in obj:
            return Decoded(*_convert_reading(obj, plant_id, ""), [token])
        readings = obj["readings"]
        if not isinstance(readings, list):
            return one("bad_schema", f"readings must be a list, not {type(readings).__name__}")
        if len(readings) > self.max_batch_readings:
            return Decoded(
                [], [_too_many(len(readings), self.max_batch_readings, plant_id)], [token]
            )
        decoded = Decoded([], [], [token])
        for i, item in enumerate(readings):
            records, rejections = _convert_reading(item, plant_id, f"reading {i}: ")
            decoded.records += records
            decoded.rejections += rejections
        return decoded


def _several(owners: list[str]) -> frozenset[str]:
    """Plants that own more than one gateway inverter."""
    seen: set[str] = set()
    twice: set[str] = set()
    for plant_id in owners:
        (twice if plant_id in seen else seen).add(plant_id)
    return frozenset(twice)


def _under(topic: str, prefix: str | None) -> str | None:
    if (
        prefix is None
        or not topic.startswith(prefix)
        or topic[len(prefix) : len(prefix) + 1] != "/"
    ):
        return None
    return topic[len(prefix) + 1 :]


def _topic_plant(topic: str) -> str | None:
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == CANONICAL_ROOT:
        return parts[2]
    return None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _version_rejection(version: object, plant_id: str) -> Rejection:
    if version is None:
        return reject("bad_schema", "missing version field v (expected 1)", plant_id)
    if type(version) is not int:
        return reject("bad_schema", f"v must be the integer 1, not {excerpt(version)}", plant_id)
    return reject(
        "unsupported_version", f"payload version v={version}; this bridge reads v=1", plant_id
    )


def _mismatch(payload_id: object, plant_id: str, where: str) -> Rejection:
    return reject(
        "plant_mismatch",
        f"{where}payload plant_id {excerpt(payload_id)} differs from the topic's {plant_id!r}",
        plant_id,
    )


def _too_many(count: int, limit: int, plant_id: str) -> Rejection:
    return reject("oversized", f"batch of {count} readings exceeds {limit}", plant_id)


def _to_record(r: CanonicalReading, plant_id: str, where: str) -> TelemetryRecord | Rejection:
    """A decoded reading → record (the one place the payload's names meet the record's)."""
    ts = r.ts
    if ts is None:
        return reject("bad_schema", f"{where}missing ts", plant_id)
    try:
        ts_ns = parse_ts(ts)
    except (ValueError, OverflowError, TypeError) as exc:
        return reject("bad_schema", f"{where}{_first_line(exc)}", plant_id)
    dc = r.dc
    return TelemetryRecord(
        plant_id=plant_id,
        ts_ns=ts_ns,
        seq=r.seq,
        ac_power_w=r.ac_power_w,
        ac_voltage_v=r.ac_voltage_v,
        ac_current_a=r.ac_current_a,
        ac_freq_hz=r.ac_freq_hz,
        energy_total_wh=r.energy_total_wh,
        energy_today_wh=r.energy_today_wh,
        dc=() if not dc else tuple([DcString(d.v, d.a, d.w) for d in dc]),
        temp_c=r.temp_c,
        status=r.status,
        alarm_code=r.alarm_code,
        rssi_dbm=r.rssi_dbm,
    )


def _non_finite(obj: dict[str, Any]) -> str | None:
    """Name of the first non-finite number in a reading (``dc[0].w`` for DC), or None."""
    for key, value in obj.items():
        if type(value) is float and not math.isfinite(value):
            return str(key)
        if key == "dc" and isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    for sub, number in item.items():
                        if type(number) is float and not math.isfinite(number):
                            return f"dc[{i}].{sub}"
    return None


def _convert_reading(
    obj: object, plant_id: str, where: str
) -> tuple[list[TelemetryRecord], list[Rejection]]:
    if not isinstance(obj, dict):
        return [], [
            reject(
                "bad_schema",
                f"{where}a reading must be an object, not {type(obj).__name__}",
                plant_id,
            )
        ]
    bad = _non_finite(obj)
    if bad is not None:
        return [], [reject("non_finite", f"{where}{excerpt(bad)} is not a finite number", plant_id)]
    payload_id = obj.get("plant_id")
    if payload_id is not None and payload_id != plant_id:
        return [], [_mismatch(payload_id, plant_id, where)]
    try:
        reading = msgspec.convert(obj, CanonicalReading)
    except msgspec.ValidationError as exc:
        return [], [reject("bad_schema", f"{where}{_first_line(exc)}", plant_id)]
    result = _to_record(reading, plant_id, where)
    if type(result) is TelemetryRecord:
        return [result], []
    return [], [result]  # type: ignore[list-item]
