"""Pacing: where a run starts, and publishing in (scaled) real time, never ahead of the clock.

No reading is ever in the future: :func:`publish_paced` publishes a reading only once the wall
clock has reached its ``ts`` (the bridge refuses readings more than 600 s ahead of its clock).
At ``speed`` > 1 the simulated clock therefore starts in the past (:func:`plan_start_ns`): with
a duration D, D × (speed − 1) before now, so that it reaches the wall clock at the end; without
one, :data:`CATCH_UP_S` × (speed − 1) before now (at most :data:`MAX_LOOKBACK_S`), and once it
has caught up with the wall clock the run goes on in real time (speed 1). A given start that
would run ahead of the clock is refused (:class:`~telemetry.errors.InputError`, naming the
latest allowed start). The backfill ends at the simulated start, so it is in the past too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from firmware_bridge.emulator.payloads import BAD_REASONS
from telemetry.errors import InputError

__all__ = ["CATCH_UP_S", "MAX_LOOKBACK_S", "Link", "Message", "plan_start_ns", "publish_paced"]

CATCH_UP_S = 600.0
"""Without a duration, a run at ``speed`` > 1 starts ``CATCH_UP_S × (speed − 1)`` simulated
seconds before now, so it catches up with the wall clock after about ten minutes. [s]"""
MAX_LOOKBACK_S = 30 * 86_400.0
"""The start a run without a duration picks is at most this far in the past. [s]"""
_BRIDGE_MAX_PAST_DAYS = 400  # the bridge's validator refuses older readings (max_past_days)
_SEC_NS = 1_000_000_000


class Message(NamedTuple):
    """One message to publish."""

    t_ns: int  # publish time (device time of the reading it is, or comes before) [ns]
    topic: str
    payload: bytes
    kind: str  # 'reading' | 'batch' | 'bad'
    detail: str  # a bad payload's reason, a batch's number of readings


class Link(Protocol):
    """Where messages go: :class:`firmware_bridge.mqtt.MqttLink` or anything like it."""

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None: ...


def iso_utc(t_ns: int) -> str:
    """``2026-07-01T09:00:00Z`` of a time [ns since the epoch] (whole seconds, rounded down)."""
    return datetime.fromtimestamp(t_ns // _SEC_NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_start_ns(
    start_ns: int | None,
    duration_s: float | None,
    speed: float,
    backfill_hours: float = 0.0,
    now_ns: int | None = None,
    what: str = "the simulated start",
) -> int:
    """The simulated start of a run that publishes no reading ahead of the wall clock.

    Simulated time runs at ``speed`` from the start; a run of ``duration_s`` wall seconds ends
    ``duration_s × speed`` after it, while the clock has moved on ``duration_s``.

    Parameters
    ----------
    start_ns : int or None
        A start asked for [ns since the epoch, UTC]: checked, and returned. None: the latest
        start that keeps the whole run in the past, ``duration_s × (speed − 1)`` before now;
        without a duration, :data:`CATCH_UP_S` × (speed − 1) before now (at most
        :data:`MAX_LOOKBACK_S`; the run then goes on in real time once it has caught up).
    duration_s : float or None
        Wall-clock run time [s]; None: until interrupted.
    speed : float
        Simulated seconds per wall-clock second.
    backfill_hours : float
        Hours uploaded before the start [h]; a picked start keeps them within the 400 days of
        the past the bridge accepts.
    now_ns : int, optional
        The wall clock [ns] (default: now).
    what : str
        How error messages name the start (``--start`` on the command line).

    Raises
    ------
    telemetry.errors.InputError
        A given start after the latest allowed one (the message names it), or a picked window
        reaching further back than the bridge accepts.
    """
    if speed <= 0:
        raise InputError(f"speed must be positive, not {speed}")
    now = time.time_ns() if now_ns is None else int(now_ns)
    ahead_s = 0.0 if duration_s is None else float(duration_s) * max(speed - 1.0, 0.0)
    latest = (now - round(ahead_s * _SEC_NS)) // 1_000_000 * 1_000_000  # whole milliseconds
    if start_ns is not None:
        if start_ns > latest:
            why = (
                "is ahead of the clock"
                if duration_s is None
                else f"would run ahead of the clock within --duration {duration_s:g} at --speed "
                f"{speed:g} (simulated time gains {ahead_s:,.0f} s on the clock)"
            )
            raise InputError(
                f"{what} {iso_utc(start_ns)} {why}; the latest allowed start is {iso_utc(latest)}"
            )  # (whole seconds, so never after the latest)
        return int(start_ns)
    if duration_s is None:
        back_s = min(CATCH_UP_S * max(speed - 1.0, 0.0), MAX_LOOKBACK_S)
        latest = (latest - round(back_s * _SEC_NS)) // 1_000_000 * 1_000_000
    oldest_s = (now - latest) / _SEC_NS + backfill_hours * 3600.0
    if oldest_s > _BRIDGE_MAX_PAST_DAYS * 86_400:
        run = "" if duration_s is None else f"--duration {duration_s:g} at --speed {speed:g}, "
        raise InputError(
            f"the emulated readings would reach {oldest_s / 86_400:,.0f} days back "
            f"({run}--backfill-hours {backfill_hours:g}), and the bridge refuses "
            f"readings older than {_BRIDGE_MAX_PAST_DAYS} days"
        )
    return latest


def publish_paced(
    link: Link,
    *,
    backfill: Iterator[Message],
    live: Iterator[Message],
    start_ns: int,
    end_ns: int | None,
    speed: float,
    plants: int,
    progress: Callable[[float, dict[str, int]], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Publish the backfill at once, then the live messages at ``speed``, never ahead of the
    wall clock.

    Parameters
    ----------
    link : Link
    backfill : iterator of Message
        Published first, as fast as the broker takes them (not counted in the live clock).
    live : iterator of Message
        In time order from ``start_ns``; each goes out when the simulated clock reaches its
        ``t_ns`` (falling behind, flat out), and never before the wall clock does. Once the
        simulated clock has caught up with the wall clock, real time.
    start_ns, end_ns : int, int or None
        Simulated window [ns since the epoch, UTC]; None: until interrupted (Ctrl-C ends it
        cleanly).
    speed : float
        Simulated seconds per wall-clock second.
    plants : int
        Fleet size, for the counts.
    progress : callable, optional
        Called as ``progress(wall_seconds, counts)`` a few times a second.
    notice : callable, optional
        Called once with a line to show when simulated time catches up with the clock.

    Returns
    -------
    dict
        ``messages`` (published: ``live_readings + batches + bad``), ``readings`` (valid
        readings, each once: ``live_readings + batch_readings``), ``live_readings``,
        ``batches``, ``batch_readings``, ``bad`` and ``bad_<reason>`` (bad payloads, not
        readings), ``bytes`` and ``max_message_bytes`` (payloads), ``plants``,
        ``sim_start_ns``, ``sim_end_ns``, ``caught_up_ns`` (wall clock; 0: never),
        ``interrupted`` (0/1).
    """
    counts = {
        "messages": 0,
        "readings": 0,
        "live_readings": 0,
        "batches": 0,
        "batch_readings": 0,
        "bad": 0,
        "bytes": 0,
        "max_message_bytes": 0,
        "plants": plants,
        "sim_start_ns": start_ns,
        "sim_end_ns": start_ns,
        "caught_up_ns": 0,
        "interrupted": 0,
    }
    counts.update({f"bad_{r}": 0 for r in BAD_REASONS})
    wall0 = time.monotonic()
    next_report = 0.0

    def publish(m: Message) -> None:
        nonlocal next_report
        # The newest reading of a message is at m.t_ns (a batch's come before it); a bad
        # far-future ts is the one exception, on purpose.
        while (early_ns := m.t_ns - time.time_ns()) > 0:
            time.sleep(early_ns / _SEC_NS)
        link.publish(m.topic, m.payload, qos=1)
        counts["messages"] += 1
        counts["bytes"] += len(m.payload)
        counts["max_message_bytes"] = max(counts["max_message_bytes"], len(m.payload))
        if m.kind == "reading":
            counts["live_readings"] += 1
            counts["readings"] += 1
        elif m.kind == "batch":
            counts["batches"] += 1
            counts["batch_readings"] += int(m.detail)
            counts["readings"] += int(m.detail)
        else:
            counts["bad"] += 1
            counts[f"bad_{m.detail}"] += 1
        if progress is not None:
            now = time.monotonic() - wall0
            if now >= next_report:
                progress(now, counts)
                next_report = now + 0.2

    try:
        for m in backfill:
            publish(m)
        wall0, next_report = time.monotonic(), 0.0  # the live window's clock starts now
        for m in live:
            wait = (m.t_ns - start_ns) / _SEC_NS / speed - (time.monotonic() - wall0)
            if (
                speed > 1
                and not counts["caught_up_ns"]
                and m.t_ns - time.time_ns() > max(wait, 0.0) * _SEC_NS
            ):
                counts["caught_up_ns"] = now_ns = time.time_ns()
                if notice is not None:
                    notice(
                        f"simulated time caught up with the clock at {iso_utc(now_ns)}; "
                        "going on in real time (speed 1)"
                    )
            if wait > 0:
                time.sleep(wait)
            counts["sim_end_ns"] = m.t_ns
            publish(m)  # (waits for the clock once caught up)
        if end_ns is not None:
            counts["sim_end_ns"] = end_ns
    except KeyboardInterrupt:
        counts["interrupted"] = 1
    if progress is not None:
        progress(time.monotonic() - wall0, counts)
    return counts
