"""What decoding and validation hand back: rejections with a reason code, and decoded batches.

Shared by :mod:`firmware_bridge.decode`, :mod:`firmware_bridge.dtu` and
:mod:`firmware_bridge.validate` (and re-exported by the first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from telemetry.record import TelemetryRecord
from telemetry.registry import PLANT_ID_RE

__all__ = [
    "DETAIL_MAX_CHARS",
    "PLANT_ID_RE",
    "REASONS",
    "Decoded",
    "GatewayStatus",
    "Rejection",
    "excerpt",
    "reject",
]

#: Reason codes of quarantined input, one per kind of problem.
REASONS: Final = (
    "oversized",  # payload or batch larger than allowed
    "bad_topic",  # topic outside the layouts the bridge reads
    "non_utf8",  # payload bytes are not UTF-8
    "malformed_json",  # not JSON at all
    "bad_schema",  # wrong types, missing ts, unknown status, no values
    "unsupported_version",  # payload v other than 1 (or topic roshanai/v2/...)
    "non_finite",  # NaN or ±Infinity (literal token or 1e999)
    "out_of_range",  # physically implausible value, or ts too old
    "unknown_plant",  # plant_id (or inverter serial) not in the fleet
    "plant_mismatch",  # payload plant_id differs from the topic's
    "future_ts",  # ts too far ahead of the bridge's clock
    "bad_tag",  # a plant_id that line protocol or the fleet contract cannot carry
    "rejected_by_store",  # InfluxDB refused the point (4xx other than 413), set by the writer
    "decoder_error",  # a bug in the bridge: the message is kept, never lost
)
_REASON_SET: Final = frozenset(REASONS)

#: Longest :attr:`Rejection.detail`.
DETAIL_MAX_CHARS: Final = 300
_EXCERPT_CHARS: Final = 80


@dataclass(frozen=True, slots=True)
class Rejection:
    """One piece of input refused, with why.

    Attributes
    ----------
    reason : str
        One of :data:`REASONS`.
    detail : str
        One line of at most :data:`DETAIL_MAX_CHARS` characters; payload excerpts in it are
        escaped (``repr``-like), line breaks never appear raw.
    plant_id : str or None
        The plant concerned, when it is known and a valid plant_id.
    """

    reason: str
    detail: str
    plant_id: str | None = None

    def __post_init__(self) -> None:
        if self.reason not in _REASON_SET:
            raise ValueError(f"unknown rejection reason {self.reason!r}")
        detail = str(self.detail).replace("\r", "\\r").replace("\n", "\\n")
        if len(detail) > DETAIL_MAX_CHARS:
            detail = detail[: DETAIL_MAX_CHARS - 1] + "…"
        object.__setattr__(self, "detail", detail)
        plant_id = self.plant_id
        if plant_id is not None and not (
            isinstance(plant_id, str) and PLANT_ID_RE.fullmatch(plant_id)
        ):
            object.__setattr__(self, "plant_id", None)


def reject(reason: str, detail: str, plant_id: str | None = None) -> Rejection:
    """Shorthand for :class:`Rejection`."""
    return Rejection(reason, detail, plant_id)


def excerpt(value: object, limit: int = _EXCERPT_CHARS) -> str:
    """``repr`` of (the start of) a payload, topic or value: escaped, one line, bounded."""
    if isinstance(value, bytes | bytearray | str) and len(value) > limit:
        unit = "chars" if isinstance(value, str) else "bytes"
        return f"{value[:limit]!r}… ({len(value)} {unit})"
    text = repr(value)
    return text if len(text) <= 2 * limit else text[: 2 * limit] + "…"


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    """What a gateway says of an inverter's state without a reading: OpenDTU's
    ``status/reachable`` and ``status/producing``, AhoyDTU's ``available``.

    Attributes
    ----------
    plant_id : str
    inverter : str
        The OpenDTU serial or AhoyDTU name.
    state : str
        ``producing``, ``starting``, ``standby`` or ``off`` (:data:`telemetry.record.STATUSES`).
    live : bool
        False for a retained message the broker replayed at subscription: the state may be
        old, and it does not show that the gateway is online.
    """

    plant_id: str
    inverter: str
    state: str
    live: bool = True


@dataclass(slots=True)
class Decoded:
    """Outcome of decoding one message (or of a flush).

    Attributes
    ----------
    records : list of TelemetryRecord
        Readings completed now.
    rejections : list of Rejection
        Input refused now (to quarantine).
    tokens : list
        Tokens of inbound messages now fully accounted for: the caller acknowledges them once
        it has durably spooled ``records`` and ``rejections``.
    statuses : list of GatewayStatus
        Inverter states reported by DTU gateways (for the plant status).
    stale : int
        Messages or gathered readings that carried nothing new for history: a retained
        message replayed at subscription, a DTU cycle without a newer timestamp (repeats,
        zeroed runtime data), values without any timestamp.
    unregistered : int
        Messages of DTU inverters that are not in the fleet, dropped without a quarantine
        entry (one entry per inverter and hour is made).
    """

    records: list[TelemetryRecord]
    rejections: list[Rejection]
    tokens: list[object]
    statuses: list[GatewayStatus] = field(default_factory=list)
    stale: int = 0
    unregistered: int = 0

    def extend(self, other: Decoded) -> None:
        """Append another outcome to this one."""
        self.records += other.records
        self.rejections += other.rejections
        self.tokens += other.tokens
        self.statuses += other.statuses
        self.stale += other.stale
        self.unregistered += other.unregistered
