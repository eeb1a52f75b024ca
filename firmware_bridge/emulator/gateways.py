"""The emulated gateways of a fleet: what each publishes, and when.

A gateway publishes one canonical reading every interval. During a power cut a grid-tied
plant's gateway is silent and, when power returns, uploads what it buffered as batch messages
(:func:`firmware_bridge.emulator.payloads.batches`) just before its first live reading; a hybrid
plant's gateway stays online. The backfill is every plant's readings of the hours before the
start, uploaded as batches at once, as gateways coming back after a long cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.emulator import payloads as pl
from firmware_bridge.emulator import streams as rs
from firmware_bridge.emulator.cuts import DAY_NS, Outage, cut_calendar
from firmware_bridge.emulator.energy import HOURS, PlantEnergy, TypicalYear, typical_year
from firmware_bridge.emulator.pacing import Link, Message, plan_start_ns, publish_paced
from telemetry.errors import InputError
from telemetry.registry import Fleet

if TYPE_CHECKING:
    from firmware_bridge.emulator.faults import Fault

__all__ = ["Emulator"]


OUTAGE_BLOCKS_PER_DAY = 1.9
"""The emulator's mean 2-hour cuts per zone group and summer day (simulate's summer scenario
with ``two_block_share`` 0.9: two blocks most days, as in 2025)."""


class Emulator:
    """Telemetry of a fleet: readings, post-cut batches and bad payloads, in time order.

    Every value is a pure function of (seed, plant, time), so a window of messages is the same
    whichever call produced it and a restarted emulator continues its counters where the last
    one left off.

    Parameters
    ----------
    fleet : telemetry.registry.Fleet
    seed : int
        Everything random derives from it (and the plant ids): same seed, same messages. It is
        also the seed of the cut scenarios.
    interval_s : float
        Reading interval of each gateway [s] (whole milliseconds).
    bad_rate : float
        Fraction of live readings replaced by a bad payload.
    fault_rate : float
        Probability of a fault per plant and day (a daytime fault of 0.5–4 h).
    outage_blocks_per_day : float
        Mean 2-hour power cuts per zone group and summer day: 0 (none) or 1 to 2, the summer
        scenario of :func:`simulate.outages.scenario_year` with ``two_block_share`` = this − 1
        (default 1.9: simulate's 0.9; winter one block a day, spring and autumn none).
    outage_zones : int
        Zone groups of the cut scenarios (simulate's ``--zones``, default 4); plants join them
        by :func:`simulate.outages.assign_groups`.
    timezone : str
        Local clock of cuts, faults and household loads (the settings' ``timezone``). [IANA name]
    start_ns : int, optional
        Simulated start time of :meth:`run` and end of :meth:`backfill` [ns since the epoch,
        UTC]. Default: now, and :meth:`run` picks its own (:func:`plan_start_ns`).
    max_message_bytes : int
        Largest payload of a message [bytes] (≥ :data:`MIN_MESSAGE_BYTES`); longer uploads are
        split into several batches.
    typical_year : TypicalYear, optional
        Precomputed inputs (default: :func:`typical_year` of the fleet).
    progress : callable, optional
        Passed to :func:`typical_year`.
    faults : sequence of Fault, optional
        Faults to inject (:mod:`firmware_bridge.emulator.faults`; power faults by half hour,
        :class:`~firmware_bridge.emulator.energy.InjectedFaults`): an ``offline`` gateway
        publishes nothing, a ``comms_loss`` one uploads its readings as batches when it ends.
        None given: the emulator's messages are exactly those without this parameter.
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        seed: int = 0,
        interval_s: float = 60,
        bad_rate: float = 0.0,
        fault_rate: float = 0.01,
        outage_blocks_per_day: float = OUTAGE_BLOCKS_PER_DAY,
        outage_zones: int = 4,
        timezone: str = "Asia/Tehran",
        start_ns: int | None = None,
        max_message_bytes: int = pl.MAX_MESSAGE_BYTES,
        typical_year: TypicalYear | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        faults: Sequence[Fault] = (),
    ) -> None:
        import time

        self.interval_ns = round(float(interval_s) * 1000) * 1_000_000
        if not 0 < self.interval_ns <= DAY_NS:
            raise InputError(f"interval must be between 1 ms and a day, not {interval_s} s")
        if not 0.0 <= bad_rate <= 1.0 or not 0.0 <= fault_rate <= 1.0:
            raise InputError("bad_rate and fault_rate must be between 0 and 1")
        if max_message_bytes < pl.MIN_MESSAGE_BYTES:
            raise InputError(
                f"the message size limit must be at least {pl.MIN_MESSAGE_BYTES} "
                f"bytes, not {max_message_bytes}"
            )
        self.max_message_bytes = int(max_message_bytes)
        self.fleet = fleet
        self.seed = int(seed)
        self.bad_rate = float(bad_rate)
        self.calendar = cut_calendar(
            seed=self.seed,
            zones=outage_zones,
            blocks_per_day=float(outage_blocks_per_day),
            timezone=timezone,
        )
        self._start_given = start_ns is not None
        self.start_ns = (
            time.time_ns() // 1_000_000 * 1_000_000 if start_ns is None else int(start_ns)
        )
        ty = _typical_year_of(fleet, progress) if typical_year is None else typical_year
        if ty.ac_power_w.shape != (len(fleet), HOURS):
            raise InputError(
                f"typical-year power must be ({len(fleet)}, {HOURS}), not {ty.ac_power_w.shape}"
            )
        p = fleet.plants
        self.n_plants = len(fleet)
        self.plant_ids = p["plant_id"].astype(str).tolist()
        self._topics = [pl.topic_for(i) for i in self.plant_ids]
        self.zones = self.calendar.zones
        zone_of = self.calendar.zone_index(p["outage_zone"].astype(str).tolist(), self.plant_ids)
        self._zone_of = zone_of
        self.plant_cut_zones = np.array([self.zones[z] for z in zone_of], dtype=object)
        """(n_plants,) each plant's cut zone group (the ``zone`` of :meth:`outages`)."""
        self._plants = pl.PlantConstants.draw(self.seed, self.plant_ids, self.interval_ns)
        self._order = np.argsort(self._plants.phase_ns, kind="stable")
        regions = [
            prov or zone or ""
            for zone, prov in zip(
                p["outage_zone"].astype(str), p["province"].astype(str), strict=True
            )
        ]
        self.energy = PlantEnergy(
            fleet,
            ty,
            self.calendar,
            zone_of,
            seed=self.seed,
            plant_keys=self._plants.key,
            region_keys=np.array([rs.key_of("region:" + r) for r in regions], dtype=np.uint64),
            fault_rate=float(fault_rate),
            install_ns=self._plants.install_ns,
        )
        self.faults = tuple(faults)
        if self.faults:
            self.energy.inject(self.faults, self.plant_ids)
        self.rating_w = self.energy.rating_w
        self.hybrid = self.energy.hybrid
        self.annual_energy_wh = self.energy.annual_energy_wh

    # ------------------------------------------------------------------ readings

    def _compute(
        self,
        pidx: np.ndarray,
        t_ns: np.ndarray,
        silenced_by: tuple[str, ...] = ("offline", "comms_loss"),
    ) -> dict[str, np.ndarray]:
        """Every field of the readings of plants ``pidx`` at times ``t_ns`` (vectorised);
        ``silent`` also where an injected fault of a kind in ``silenced_by`` holds it back."""
        r = pl.reading_fields(
            self.energy.state(pidx, t_ns),
            pidx,
            t_ns,
            self._plants,
            seed=self.seed,
            interval_ns=self.interval_ns,
            hybrid=self.hybrid,
            rating_w=self.rating_w,
        )
        inj = self.energy.injected
        if inj is not None:
            # A dead string on a two-input plant: its second input reads 0 W.
            dead = (inj.string_loss(pidx, t_ns) > 0) & (r["n_strings"] == 2)
            r["share"] = np.where(dead, 1.0, r["share"])
            r["silent"] = r["silent"] | inj.silent(pidx, t_ns, silenced_by)
        return r

    def readings(self, plant_index: np.ndarray, t_ns: np.ndarray) -> list[dict[str, Any]]:
        """Readings as dicts (the canonical single-reading payload) — for tests and tools."""
        import json

        r = self._compute(np.asarray(plant_index, dtype=np.int64), np.asarray(t_ns, dtype=np.int64))
        ids = [self.plant_ids[i] for i in r["pidx"].tolist()]
        return [
            json.loads(f'{{"v":1,"plant_id":"{pid}",{body}}}')
            for pid, body in zip(ids, pl.bodies(r), strict=True)
        ]

    def outages(self, start_ns: int, end_ns: int) -> list[Outage]:
        """Power cuts of every zone group that overlap [start_ns, end_ns), in start order."""
        return self.calendar.outages(int(start_ns), int(end_ns))

    def gateway_down(self, pidx: np.ndarray, t_ns: np.ndarray) -> np.ndarray:
        """Whether each plant's gateway is down at ``t_ns`` [ns]: a grid-tied plant in a power cut
        (a hybrid plant keeps its gateway powered). Element-wise over ``pidx`` and ``t_ns``."""
        pidx = np.asarray(pidx, dtype=np.int64)
        return self.calendar.is_cut(self._zone_of[pidx], t_ns) & ~self.hybrid[pidx]

    def _batches(self, p: int, bodies: list[str]) -> Iterator[tuple[str, bytes, str, str]]:
        return pl.batches(self.plant_ids[p], self._topics[p], bodies, self.max_message_bytes)

    # ------------------------------------------------------------------ messages

    def _messages(
        self, start_ns: int, end_ns: int | None, uploaded_until_ns: int | None = None
    ) -> Iterator[Message]:
        """Messages with publish times in [start_ns, end_ns) (None: no end), in time order.

        Buffered readings before ``uploaded_until_ns`` are left out of post-cut batches.
        """
        step = self.interval_ns
        order = self._order
        phase = self._plants.phase_ns[order]
        topics, ids = self._topics, self.plant_ids
        # Several ticks per round for a small fleet: numpy's per-call cost dominates otherwise.
        ticks = max(1, 2048 // max(1, self.n_plants))
        k0 = (start_ns - step) // step
        while end_ns is None or k0 * step < end_ns:
            k = (k0 + np.arange(ticks, dtype=np.int64))[:, None]
            k0 += ticks
            t = (k * step + phase[None, :]).ravel()  # time order: tick, then phase
            keep = t >= start_ns
            if end_ns is not None:
                keep &= t < end_ns
            pidx = np.broadcast_to(order, (ticks, len(order))).ravel()[keep]
            k, t = np.broadcast_to(k, (ticks, len(order))).ravel()[keep], t[keep]
            if not len(t):
                continue
            r = self._compute(pidx, t)
            on = ~r["silent"]
            r = {key: v[on] for key, v in r.items()}
            pidx, t, k = pidx[on], t[on], k[on]
            back = self.gateway_down(pidx, t - step)  # gateways back after a cut
            bodies = pl.bodies(r)
            bad = (
                rs.uniform(self.seed, self._plants.key[pidx], rs.S_BAD, k) < self.bad_rate
                if self.bad_rate
                else np.zeros(len(pidx), bool)
            )
            inj = self.energy.injected
            for i, (p, ts) in enumerate(zip(pidx.tolist(), t.tolist(), strict=True)):
                if back[i]:
                    for m in self._after_cut(p, ts, uploaded_until_ns):
                        yield Message(ts, *m)
                if inj is not None and p in inj.silence:
                    gap = inj.backlog(p, ts, step)
                    if gap is not None:
                        for m in self._after_comms(p, gap, uploaded_until_ns):
                            yield Message(ts, *m)
                if bad[i]:
                    other = ids[(p + 1) % self.n_plants] if self.n_plants > 1 else "XXX-999999"
                    garbled, reason = pl.bad_payload(
                        self.seed,
                        int(self._plants.key[p]),
                        int(k[i]),
                        ids[p],
                        other,
                        bodies[i],
                        float(r["ac_power_w"][i]),
                        float(self.rating_w[p]),
                    )
                    yield Message(ts, topics[p], garbled, "bad", reason)
                else:
                    payload = f'{{"v":1,"plant_id":"{ids[p]}",{bodies[i]}}}'
                    yield Message(ts, topics[p], payload.encode(), "reading", "")

    def _after_cut(
        self, p: int, t_ns: int, uploaded_until_ns: int | None
    ) -> Iterator[tuple[str, bytes, str, str]]:
        """Batches of plant ``p``'s readings buffered during the cut that ended before ``t_ns``."""
        last = t_ns - self.interval_ns
        cut_start = self.calendar.cut_start_ns(int(self._zone_of[p]), last)
        if uploaded_until_ns is not None:
            cut_start = max(cut_start, uploaded_until_ns)
        n = (last - cut_start) // self.interval_ns + 1
        if n <= 0:
            return
        times = last - self.interval_ns * np.arange(n - 1, -1, -1, dtype=np.int64)
        r = self._compute(np.full(n, p, dtype=np.int64), times)
        if self.energy.injected is not None:  # a dead gateway buffered nothing
            dead = self.energy.injected.silent(np.full(n, p, dtype=np.int64), times, ("offline",))
            r = {key: v[~dead] for key, v in r.items()}
        yield from self._batches(p, pl.bodies(r))

    def _after_comms(
        self, p: int, gap: tuple[int, int], uploaded_until_ns: int | None
    ) -> Iterator[tuple[str, bytes, str, str]]:
        """Batches of plant ``p``'s readings held back by the comms loss ``gap`` = (start,
        end) [ns], uploaded when it ends (those a cut or a dead gateway silenced left out)."""
        a, e = gap
        if uploaded_until_ns is not None:
            a = max(a, uploaded_until_ns)
        step, phase = self.interval_ns, int(self._plants.phase_ns[p])
        k0, k1 = -((phase - a) // step), -((phase - e) // step)  # first ticks at or after
        if k1 <= k0:
            return
        times = np.arange(k0, k1, dtype=np.int64) * step + phase
        r = self._compute(np.full(len(times), p, dtype=np.int64), times, ("offline",))
        r = {key: v[~r["silent"]] for key, v in r.items()}
        if len(r["t_ns"]):
            yield from self._batches(p, pl.bodies(r))

    def messages(self, start_ns: int, end_ns: int) -> Iterator[tuple[str, bytes, str]]:
        """Every message of the simulated window [start_ns, end_ns), in time order.

        Yields
        ------
        (topic, payload, kind)
            ``kind`` is ``'reading'`` (one canonical reading), ``'batch'`` (readings a gateway
            buffered during a power cut, uploaded when power came back) or ``'bad'`` (a bad
            payload that took a reading's place). Deterministic for a seed.
        """
        for m in self._messages(int(start_ns), int(end_ns)):
            yield m.topic, m.payload, m.kind

    def _backfill(
        self, hours: float, end_ns: int | None = None, chunk_plants: int = 256
    ) -> Iterator[Message]:
        end = self.start_ns if end_ns is None else int(end_ns)
        start = end - round(hours * 3600 * 1_000_000_000)
        step, phase = self.interval_ns, self._plants.phase_ns
        for a in range(0, self.n_plants, chunk_plants):
            pidx = np.arange(a, min(self.n_plants, a + chunk_plants))
            first = -((phase[pidx] - start) // step)  # first tick at or after start
            last = -((phase[pidx] - end) // step)  # first tick at or after end
            counts = np.maximum(last - first, 0)
            rep = np.repeat(pidx, counts)
            offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            times = (np.repeat(first, counts) + offs) * step + phase[rep]
            if self.energy.injected is not None:  # dead gateways buffered nothing
                alive = ~self.energy.injected.silent(rep, times, ("offline",))
                counts = np.bincount(rep[alive] - a, minlength=len(pidx))
                rep, times = rep[alive], times[alive]
            bodies = pl.bodies(self._compute(rep, times)) if len(rep) else []
            at = 0
            for p, c in zip(pidx.tolist(), counts.tolist(), strict=True):
                for m in self._batches(p, bodies[at : at + c]):
                    yield Message(end, *m)
                at += c

    def backfill(self, hours: float, end_ns: int | None = None) -> Iterator[tuple[str, bytes, str]]:
        """Batches of every plant's readings of the last ``hours`` before ``end_ns``
        (default: ``start_ns``), as gateways coming back after a long cut upload them."""
        for m in self._backfill(hours, end_ns):
            yield m.topic, m.payload, m.kind

    # ------------------------------------------------------------------ publishing

    def run(
        self,
        link: Link,
        duration_s: float | None,
        speed: float = 1.0,
        backfill_hours: float = 0.0,
        progress: Callable[[float, dict[str, int]], None] | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> dict[str, int]:
        """Publish in (scaled) real time: the backfill at once, then the live window.

        No reading is published before the wall clock has reached its ``ts``. Without a
        ``start_ns`` given to the emulator, the run starts where :func:`plan_start_ns` says
        (``self.start_ns`` is set to it); a given one is checked the same way. The parameters
        and the counts returned are those of
        :func:`firmware_bridge.emulator.pacing.publish_paced`.

        Raises
        ------
        telemetry.errors.InputError
            A given start that would run ahead of the clock (see :func:`plan_start_ns`).
        """
        self.start_ns = plan_start_ns(
            self.start_ns if self._start_given else None, duration_s, speed, backfill_hours
        )
        start = self.start_ns
        end = None if duration_s is None else start + int(duration_s * speed * 1_000_000_000)
        return publish_paced(
            link,
            backfill=self._backfill(backfill_hours) if backfill_hours > 0 else iter(()),
            live=self._messages(start, end, start if backfill_hours > 0 else None),
            start_ns=start,
            end_ns=end,
            speed=speed,
            plants=self.n_plants,
            progress=progress,
            notice=notice,
        )


def _typical_year_of(fleet: Fleet, progress: Callable[[str, int, int], None] | None):
    return typical_year(fleet, progress)  # the name `typical_year` is a parameter above
