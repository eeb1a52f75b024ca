"""Plant status: online/offline, producing, alarms, today's energy, and underperformance.

The bridge feeds every accepted reading to :meth:`StatusTracker.observe` and calls
:meth:`StatusTracker.tick` every few seconds; a tick returns ``plant_status`` lines for the spool
and publishes each plant's status, retained, on ``roshanai/v1/<plant_id>/status`` when it changed
(or every ``republish_s``). Gateways may set a last will ``offline`` on
``roshanai/v1/<plant_id>/availability``; it marks the plant offline at once.

Today's energy comes from the lifetime counter: the sum of its positive steps between readings in
device-time order, so a counter reset (flagged by the validator) or a late backfill never makes
it negative or double-counts. Underperformance compares AC power with the expected power from
the peers (:class:`firmware_bridge.peers.PeerExpectation`: the plant's clear-sky output × the
local sky index its neighbours see now, recomputed over the whole fleet at every tick; the
climate default's sky index where fewer than ``MIN_PEERS`` peers report;
``expected_from_peers`` says which): ``performance_index`` = actual / expected, and the plant
is ``underperforming`` while the exponential average of the index over daylight readings (time
constant ``underperformance_window_s``; expected above 10 % of the rating) stays below
``peer_underperformance_ratio`` (expectation from the peers) or ``underperformance_ratio``
(climate fallback) — never at night. The older month × hour typical-year mean
(:class:`ExpectedPower`) still works as ``expected``. Registered plants never heard from are
reported offline once the tracker has run for ``offline_after_s``. A plant in a cut (its outage
zone or most of its peers gone silent at once, :func:`firmware_bridge.peers.local_sky_index`)
is never underperforming.

The tick works over arrays (the registry's plants in fleet row order): which statuses are due
is decided for the whole fleet with numpy, and only those lines are written, so a tick where
nothing changed costs milliseconds at 100,000 plants (``benchmarks/bench_status.py``).
:meth:`StatusTracker.tick_reference` is the same tick plant by plant, the readable reference
the tests compare it with.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from firmware_bridge.peers import FRESH_S, LiveReadings, PeerExpectation, local_sky_index
from firmware_bridge.rejection import GatewayStatus
from telemetry import topics
from telemetry.lineprotocol import format_point
from telemetry.registry import PLANT_ID_RE, Fleet
from telemetry.schema import MEASUREMENT_PLANT_STATUS

__all__ = [
    "MEASUREMENT_PLANT_STATUS",
    "ExpectedPower",
    "InverterState",
    "PlantState",
    "StatusTracker",
]

log = logging.getLogger("roshanai.bridge.status")

TEHRAN = ZoneInfo("Asia/Tehran")


class ExpectedPower:
    """Typical-year mean AC power per plant, month and local hour, from the fleet simulator.

    Computed in a background thread at start (the bridge does not wait for it); until ready,
    :meth:`get` returns None.
    """

    def __init__(self, fleet: Fleet, timezone: str = "Asia/Tehran") -> None:
        self.fleet = fleet
        self.timezone = timezone
        self.index = {pid: i for i, pid in enumerate(fleet.plants["plant_id"])}
        self.table: np.ndarray | None = None  # (n_plants, 12, 24) [W]
        self.error = ""
        self._thread = threading.Thread(target=self._compute, name="expected-power", daemon=True)

    def start(self) -> ExpectedPower:
        self._thread.start()
        return self

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the table is ready (True) or failed/timed out (False)."""
        self._thread.join(timeout_s)
        return self.table is not None

    def _compute(self) -> None:
        try:
            from simulate.climatology import covers
            from simulate.fleet import run_fleet
            from telemetry.registry import Fleet

            plants = self.fleet.plants
            where = [
                covers(lat, lon)
                for lat, lon in zip(
                    plants["latitude"].to_numpy(float),
                    plants["longitude"].to_numpy(float),
                    strict=True,
                )
            ]
            rows = np.flatnonzero([w != "none" for w in where])
            coarse = sum(w == "coarse" for w in where)
            if len(rows) < len(plants):
                log.warning(
                    "no expected power for %d plant(s) with no default weather near them "
                    "(open sea, or coordinates to check)",
                    len(plants) - len(rows),
                )
            if coarse:
                log.warning(
                    "expected power of %d plant(s) outside Iran is a coarse estimate "
                    "(MERRA-2 3° monthly irradiation, air 20 °C assumed)",
                    coarse,
                )
            fleet = Fleet(plants.iloc[rows].reset_index(drop=True), self.fleet.source)
            n = len(fleet)
            table = np.full((len(plants), 12, 24), np.nan, dtype=np.float32)
            step = 2000
            for a in range(0, n, step):
                run = run_fleet(
                    fleet.subset(a, min(n, a + step)),
                    None,
                    hourly=True,
                    timezone=self.timezone,
                )
                local = (run.labels - np.timedelta64(30, "m")).tz_convert(self.timezone)
                key = (local.month.to_numpy() - 1) * 24 + local.hour.to_numpy()
                counts = np.bincount(key, minlength=288).astype(float)
                power = run.ac_power_w  # (chunk, n_time)
                assert power is not None
                sums = np.zeros((power.shape[0], 288))
                for k in range(288):
                    sel = key == k
                    if sel.any():
                        sums[:, k] = power[:, sel].sum(axis=1)
                mean = (sums / np.maximum(counts, 1)).reshape(-1, 12, 24)
                table[rows[a : a + power.shape[0]]] = mean
            self.table = table
        except Exception as exc:  # status works without expectations
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("no expected power for underperformance checks: %s", self.error)

    def get(self, plant_id: str, ts_ns: int) -> float | None:
        """Expected AC power of ``plant_id`` at device time ``ts_ns`` [W], or None."""
        if self.table is None:
            return None
        i = self.index.get(plant_id)
        if i is None:
            return None
        import datetime as dt

        local = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=ZoneInfo(self.timezone))
        value = float(self.table[i, local.month - 1, local.hour])
        return None if np.isnan(value) else value


@dataclass
class InverterState:
    """One gateway inverter of a plant that has several (or whose gateway reports its state)."""

    last_ts_ns: int = 0
    ac_power_w: float | None = None
    energy_total_wh: float | None = None
    state: str = ""


#: Gateway inverter states, the plant's being the first one any of its inverters is in.
_STATE_ORDER = ("producing", "starting", "standby", "off")


@dataclass
class PlantState:
    """What the bridge knows of one plant now."""

    plant_id: str
    province: str = ""
    rating_w: float = 0.0
    last_seen_ns: int = 0
    last_ts_ns: int = 0
    ac_power_w: float | None = None
    energy_total_wh: float | None = None
    inverter_status: str = ""
    alarm_code: int = 0
    energy_today_wh: float = 0.0
    today: str = ""
    expected_ac_power_w: float | None = None
    index_ewma: float = 0.0
    index_n: int = 0
    index_ts_ns: int = 0
    underperforming: bool = False
    sky_index: float | None = None
    expected_from_peers: bool | None = None
    row: int = -1
    will_offline: bool = False
    published: str = ""
    published_ns: int = 0
    inverters: dict[str, InverterState] = field(default_factory=dict)


class StatusTracker:
    """Per-plant status from the readings the bridge accepts.

    Parameters
    ----------
    fleet : Fleet or None
        Registry (ratings, provinces); plants not in it are tracked once seen.
    publish : callable, optional
        ``publish(topic, payload_bytes, retain)``: where statuses go (the bridge's MQTT link).
    expected : PeerExpectation or ExpectedPower, optional
        The expectation (anything with ``get(plant_id, ts_ns)`` works as a fixed one).
    offline_after_s : float
        A plant is offline when nothing came for this long (or its gateway's will said so). [s]
    producing_above_w : float
        AC power above which a plant counts as producing. [W]
    underperformance_ratio : float
        Index below which a plant underperforms (climate or fixed expectation). [-]
    peer_underperformance_ratio : float
        The same against the peers' expectation (more accurate: nMAE of hourly power 4–10 %
        in ``benchmarks/bench_triage.py``, against 5–26 % for the month × hour mean). [-]
    underperformance_window_s : float
        Window over which the index is averaged. [s]
    republish_s : float
        Unchanged statuses are still republished (and rewritten) this often. [s]
    sky_index_every_s : float
        The local sky index of the fleet is recomputed at a tick at most this often (about
        0.5 s of CPU at 100,000 plants, ``benchmarks/bench_status.py``). [s]

    Notes
    -----
    Each :class:`PlantState` is what the bridge knows of a plant; for the registry's plants
    the tick reads a copy in columns (:class:`_Columns`), refreshed at each tick for the plants
    that :meth:`observe`, :meth:`gateway` or :meth:`will` touched since, and it writes the sky
    index's results there, which a PlantState takes when it is next read or changed. A tracker
    ticks with :meth:`tick` or with :meth:`tick_reference`, not both.
    """

    def __init__(
        self,
        fleet: Fleet | None,
        *,
        publish: Callable[[str, bytes, bool], None] | None = None,
        expected: PeerExpectation | ExpectedPower | None = None,
        offline_after_s: float = 900.0,
        producing_above_w: float = 10.0,
        underperformance_ratio: float = 0.5,
        peer_underperformance_ratio: float = 0.7,
        underperformance_window_s: float = 3600.0,
        republish_s: float = 300.0,
        sky_index_every_s: float = 20.0,
    ) -> None:
        self.publish = publish
        self.expected = expected
        self.offline_after_ns = int(offline_after_s * 1e9)
        self.producing_above_w = producing_above_w
        self.ratio = underperformance_ratio
        self.peer_ratio = peer_underperformance_ratio
        self.fresh_ns = int(FRESH_S * 1e9)
        self.sky_index_every_ns = int(sky_index_every_s * 1e9)
        self._sky_index_ns = 0
        self.peer = expected if isinstance(expected, PeerExpectation) else None
        self.window_ns = int(underperformance_window_s * 1e9)
        self.republish_ns = int(republish_s * 1e9)
        self.plants: dict[str, PlantState] = {}
        self._started_ns: int | None = None
        self._lock = threading.Lock()
        if fleet is not None:
            p = fleet.plants
            for row, (pid, prov, dc, ac) in enumerate(
                zip(p["plant_id"], p["province"], p["dc_kwp"], p["ac_kw"], strict=True)
            ):
                self.plants[pid] = PlantState(
                    pid, str(prov or ""), 1000.0 * max(float(dc), float(ac)), row=row
                )
        self.live = LiveReadings(len(self.plants) if fleet is not None else 0)
        self._by_row = list(self.plants.values())
        self._cols = _Columns(np.array([st.rating_w for st in self._by_row], dtype=float))
        self._dirty: set[int] = set()  # rows whose PlantState changed since the last sync
        self._extra: list[PlantState] = []  # plants not in the registry (no row)
        self._status_names: list[str] = []
        self._status_codes: dict[str, int] = {}
        self._status_code("unknown")  # 0: the columns' initial state
        self._quoted_status: list[str] = []
        self._line_prefix: list[str | None] = [None] * len(self._by_row)
        self._province_tag: dict[str, str] = {}
        self._fault_code = self._status_code("fault")

    def _state(self, plant_id: str) -> PlantState:
        st = self.plants.get(plant_id)
        if st is None:
            st = self.plants[plant_id] = PlantState(plant_id)
            self._extra.append(st)
        elif st.row >= 0:
            self._touch(st)
        return st

    def _touch(self, st: PlantState) -> None:
        """``st`` (a registry plant) is about to change: bring in what the last tick put in the
        columns for it, and copy it to them at the next tick."""
        if self._cols.pending[st.row]:
            self._flush(st)
        self._dirty.add(st.row)

    def _flush(self, st: PlantState) -> None:
        """Copy what the tick wrote to the columns of ``st``'s row into ``st``."""
        c, row = self._cols, st.row
        sky, expected = float(c.sky_index[row]), float(c.expected_w[row])
        st.sky_index = None if math.isnan(sky) else sky
        st.expected_ac_power_w = None if math.isnan(expected) else expected
        st.expected_from_peers = bool(c.from_peers[row])
        st.underperforming = bool(c.underperforming[row])
        c.pending[row] = False

    def _status_code(self, name: str) -> int:
        code = self._status_codes.get(name)
        if code is None:
            code = self._status_codes[name] = len(self._status_names)
            self._status_names.append(name)
        return code

    def _sync(self) -> None:
        """Copy the plants changed since the last tick into the columns (under the lock)."""
        if not self._dirty:
            return
        rows = np.fromiter(self._dirty, dtype=np.int64, count=len(self._dirty))
        self._dirty.clear()
        states = [self._by_row[row] for row in rows.tolist()]
        c, nan = self._cols, math.nan
        for row in rows[c.pending[rows]].tolist():  # not expected (each change takes them)
            self._flush(self._by_row[row])
        c.last_seen_ns[rows] = [st.last_seen_ns for st in states]
        c.will_offline[rows] = [st.will_offline for st in states]
        c.ac_power_w[rows] = [nan if st.ac_power_w is None else st.ac_power_w for st in states]
        c.alarm_code[rows] = [st.alarm_code for st in states]
        code = self._status_code
        c.status[rows] = [code(st.inverter_status or "unknown") for st in states]
        c.energy_today_wh[rows] = [st.energy_today_wh for st in states]
        c.expected_w[rows] = [
            nan if st.expected_ac_power_w is None else st.expected_ac_power_w for st in states
        ]
        c.underperforming[rows] = [st.underperforming for st in states]
        c.sky_index[rows] = [nan if st.sky_index is None else st.sky_index for st in states]
        c.from_peers[rows] = [bool(st.expected_from_peers) for st in states]

    def observe(self, checked: object, now_ns: int) -> None:
        """Take one accepted reading (a ``firmware_bridge.validate.Checked``)."""
        rec = checked.record  # type: ignore[attr-defined]
        reset = bool(getattr(checked, "counter_reset", False))
        with self._lock:
            st = self._state(rec.plant_id)
            st.last_seen_ns = max(st.last_seen_ns, now_ns)
            st.will_offline = False
            # A plant with several gateway inverters: each has its own counter and power.
            sub = (
                None
                if rec.inverter is None
                else st.inverters.setdefault(rec.inverter, InverterState())
            )
            last_ts_ns = st.last_ts_ns if sub is None else sub.last_ts_ns
            counter = st.energy_total_wh if sub is None else sub.energy_total_wh
            day = _local_day(rec.ts_ns)
            newer = rec.ts_ns > last_ts_ns
            if rec.energy_total_wh is not None:
                if day != st.today and newer and rec.ts_ns > st.last_ts_ns:
                    st.today, st.energy_today_wh = day, 0.0
                if newer and not reset and counter is not None and day == st.today:
                    st.energy_today_wh += max(0.0, rec.energy_total_wh - counter)
                if newer:
                    if sub is None:
                        st.energy_total_wh = rec.energy_total_wh
                    else:
                        sub.energy_total_wh = rec.energy_total_wh
            if not newer:
                return  # a late backfill reading: counted in energy above, not the current state
            if sub is None:
                st.ac_power_w = rec.ac_power_w
                st.inverter_status = rec.status or st.inverter_status
            else:
                sub.last_ts_ns, sub.ac_power_w = rec.ts_ns, rec.ac_power_w
                sub.state = rec.status or sub.state
                st.ac_power_w = sum(i.ac_power_w or 0.0 for i in st.inverters.values())
                st.inverter_status = _plant_state(st) or st.inverter_status
            st.last_ts_ns = max(st.last_ts_ns, rec.ts_ns)
            st.alarm_code = int(rec.alarm_code or 0)
            from_peers = False
            if self.peer is not None:
                expected, from_peers = self._peer_expected(st, rec.ts_ns, now_ns)
            elif self.expected is not None and not isinstance(self.expected, PeerExpectation):
                expected = self.expected.get(rec.plant_id, rec.ts_ns)
            else:
                expected = None
            st.expected_ac_power_w = expected
            daylight = (
                expected is not None
                and st.ac_power_w is not None
                and st.rating_w
                and expected > 0.1 * st.rating_w
            )
            in_cut = st.row >= 0 and self.live.cut.size > 0 and bool(self.live.cut[st.row])
            if not daylight or in_cut:
                # nothing to expect at night or dawn, nor of a plant in a cut (on its battery)
                st.underperforming = False
                if st.row >= 0 and self.live.underperforming.size:
                    self.live.underperforming[st.row] = False
                return
            index = max(0.0, float(st.ac_power_w)) / float(expected)  # type: ignore[arg-type]
            gap_ns = rec.ts_ns - st.index_ts_ns
            switched = from_peers != bool(st.expected_from_peers)
            st.expected_from_peers = from_peers if self.peer is not None else None
            if not st.index_ts_ns or gap_ns > self.window_ns or switched:
                st.index_ewma, st.index_n = index, 1  # a new day or after a long silence
            else:  # exponential average with the window as its time constant
                alpha = 1.0 - math.exp(-gap_ns / self.window_ns)
                st.index_ewma += alpha * (index - st.index_ewma)
                st.index_n += 1
            st.index_ts_ns = rec.ts_ns
            ratio = self.peer_ratio if from_peers else self.ratio
            st.underperforming = st.index_n >= 3 and st.index_ewma < ratio
            if st.row >= 0 and self.live.underperforming.size:
                # Left out of the peers only when flagged against the peers themselves: against
                # the climate fallback a whole grey neighbourhood is below it at once.
                self.live.underperforming[st.row] = st.underperforming and from_peers

    def _peer_expected(self, st: PlantState, ts_ns: int, now_ns: int) -> tuple[float | None, bool]:
        """Record the plant's reading in the fleet's arrays; its expected power at ``ts_ns``
        [W] (None: unknown) and whether it came from the peers."""
        assert self.peer is not None
        grid = self.peer.grid
        row = st.row
        if row < 0:
            return None, False
        live = self.live
        clear = grid.clear_sky_at(row, ts_ns) if grid is not None else math.nan
        live.ts_ns[row] = st.last_ts_ns
        live.seen_ns[row] = st.last_seen_ns
        live.ac_power_w[row] = math.nan if st.ac_power_w is None else st.ac_power_w
        live.clear_sky_w[row] = clear
        live.alarm[row] = st.alarm_code != 0 or st.inverter_status == "fault"
        live.will_offline[row] = False
        if grid is None or not math.isfinite(clear):
            st.sky_index = None
            return None, False
        k, from_peers = float(live.sky_index[row]), bool(live.from_peers[row])
        if now_ns - ts_ns > self.fresh_ns or not math.isfinite(k):
            # a late reading, or no tick yet: the climate's index of the reading's month
            k, from_peers = grid.climate_one(row, ts_ns), False
        if not math.isfinite(k):
            st.sky_index = None
            return None, False
        st.sky_index = k
        return clear * k, from_peers

    def gateway(self, status: GatewayStatus, now_ns: int) -> None:
        """An inverter state a DTU gateway reported (reachable/producing, available), with or
        without values after it: it shows at once in the plant's status."""
        with self._lock:
            st = self._state(status.plant_id)
            if status.live:
                st.last_seen_ns = max(st.last_seen_ns, now_ns)
                st.will_offline = False
            elif st.last_seen_ns:
                return  # a replay of the broker's retained copy: we have heard newer
            sub = st.inverters.setdefault(status.inverter, InverterState())
            sub.state = status.state
            if status.state in ("standby", "off"):
                sub.ac_power_w = 0.0  # not producing: the last reading's power is history
            if any(i.last_ts_ns for i in st.inverters.values()):
                st.ac_power_w = sum(i.ac_power_w or 0.0 for i in st.inverters.values())
            elif status.state in ("standby", "off"):
                st.ac_power_w = 0.0
            st.inverter_status = _plant_state(st) or st.inverter_status
            if st.ac_power_w == 0.0:
                st.underperforming = False
            if st.row >= 0 and self.live.seen_ns.size:
                self.live.seen_ns[st.row] = st.last_seen_ns
                self.live.will_offline[st.row] = False
                self.live.underperforming[st.row] = st.underperforming
                if st.ac_power_w is not None:
                    self.live.ac_power_w[st.row] = st.ac_power_w

    def will(self, plant_id: str, payload: bytes) -> None:
        """A gateway's availability message (its last will says ``offline``)."""
        with self._lock:
            st = self._state(plant_id)
            st.will_offline = payload.strip().lower() in (b"offline", b"0")
            if st.row >= 0 and self.live.will_offline.size:
                self.live.will_offline[st.row] = st.will_offline

    def snapshot(self, st: PlantState, now_ns: int) -> dict[str, float | int | bool | str]:
        """The status fields of one plant (the readable reference of :meth:`tick`)."""
        if st.row >= 0 and self._cols.pending[st.row]:
            self._flush(st)
        online = (
            bool(st.last_seen_ns)
            and not st.will_offline
            and now_ns - st.last_seen_ns < self.offline_after_ns
        )
        power = st.ac_power_w if st.ac_power_w is not None else 0.0
        index = None
        if st.expected_ac_power_w and st.rating_w and st.expected_ac_power_w > 0.1 * st.rating_w:
            index = round(max(0.0, power) / st.expected_ac_power_w, 3)
        out: dict[str, float | int | bool | str] = {
            "online": online,
            "producing": online and power > self.producing_above_w,
            "alarm": st.alarm_code != 0 or st.inverter_status == "fault",
            "alarm_code": st.alarm_code,
            "inverter_status": st.inverter_status or "unknown",
            "last_seen_s": round((now_ns - st.last_seen_ns) / 1e9, 1) if st.last_seen_ns else -1.0,
            "ac_power_w": float(power),
            "energy_today_wh": round(st.energy_today_wh, 1),
            "underperforming": st.underperforming,
        }
        if st.expected_ac_power_w is not None:
            out["expected_ac_power_w"] = round(st.expected_ac_power_w, 1)
        if index is not None:
            out["performance_index"] = index
        if st.sky_index is not None and st.expected_ac_power_w is not None:
            out["sky_index"] = round(st.sky_index, 3)
            out["expected_from_peers"] = bool(st.expected_from_peers)
        return out

    def _sky_index_now(
        self, now_ns: int
    ) -> tuple[LiveReadings, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """The local sky index of every plant now, if due: (the readings it used, the index,
        from the peers, in a cut, the expected power of each latest reading [W]); computed
        outside the lock."""
        peer, live = self.peer, self.live
        if peer is None:
            return None
        peer.refresh(now_ns)
        if not peer.ready or not live.ts_ns.size:
            return None
        if 0 <= now_ns - self._sky_index_ns < self.sky_index_every_ns:
            return None
        self._sky_index_ns = now_ns
        with self._lock:  # a consistent copy; the work is done outside the lock
            copy = LiveReadings(0)
            for name, value in vars(live).items():
                setattr(copy, name, value.copy())
        k, from_peers, _, cut = local_sky_index(
            copy, peer, now_ns, offline_after_ns=self.offline_after_ns, fresh_ns=self.fresh_ns
        )
        return copy, k, from_peers, cut, copy.clear_sky_w * k

    def update_sky_index(self, now_ns: int) -> None:
        """The local sky index of every plant now (vectorised over the fleet), and the
        expectation of each plant's latest reading with it, in the columns the tick reads
        (each :class:`PlantState` takes them when it is next read or changed)."""
        done = self._sky_index_now(now_ns)
        if done is None:
            return
        copy, k, from_peers, cut, expected = done
        live, c = self.live, self._cols
        fresh = (copy.ts_ns > 0) & (now_ns - copy.ts_ns <= self.fresh_ns)
        with self._lock:
            self._sync()  # the columns up to date first: the index goes over them
            live.sky_index[:] = k
            live.from_peers[:] = from_peers
            live.cut[:] = cut
            live.underperforming[cut] = False
            c.underperforming[cut] = False  # a cut is no fault
            ok = fresh & np.isfinite(expected) & (copy.ts_ns == live.ts_ns)
            c.sky_index[ok] = k[ok]
            c.expected_w[ok] = expected[ok]
            c.from_peers[ok] = from_peers[ok]
            c.pending |= ok | cut

    def _update_sky_index_reference(self, now_ns: int) -> None:
        """:meth:`update_sky_index`, plant by plant into each :class:`PlantState` (the readable
        reference)."""
        done = self._sky_index_now(now_ns)
        if done is None:
            return
        copy, k, from_peers, cut, expected = done
        live = self.live
        fresh = (copy.ts_ns > 0) & (now_ns - copy.ts_ns <= self.fresh_ns)
        ok = fresh & np.isfinite(expected)
        with self._lock:
            live.sky_index[:] = k
            live.from_peers[:] = from_peers
            live.cut[:] = cut
            for row in np.flatnonzero(cut):
                self._by_row[row].underperforming = False  # a cut is no fault
            live.underperforming[cut] = False
            for row in np.flatnonzero(ok & (copy.ts_ns == live.ts_ns)):
                st = self._by_row[row]
                st.sky_index = float(k[row])
                st.expected_ac_power_w = float(expected[row])
                st.expected_from_peers = bool(from_peers[row])

    def tick(self, now_ns: int) -> list[str]:
        """Statuses that changed (or are due again): publish them, return their lines.

        Which statuses are due is decided over all registry plants at once, from the columns;
        only those are formatted. The same lines and messages as :meth:`tick_reference`.
        """
        if self._started_ns is None:
            self._started_ns = now_ns
        self.update_sky_index(now_ns)
        all_due = now_ns - self._started_ns >= self.offline_after_ns
        with self._lock:
            self._sync()
            lines = self._tick_rows(now_ns, all_due)
            lines += self._tick_plants(self._extra, now_ns, all_due)
        return lines

    def _tick_rows(self, now_ns: int, all_due: bool) -> list[str]:
        """:meth:`tick` over the registry's plants (under the lock)."""
        c = self._cols
        if not len(c.rating_w):
            return []
        seen = c.last_seen_ns
        online = (seen != 0) & ~c.will_offline & (now_ns - seen < self.offline_after_ns)
        power = np.where(np.isnan(c.ac_power_w), 0.0, c.ac_power_w)
        producing = online & (power > self.producing_above_w)
        alarm = (c.alarm_code != 0) | (c.status == self._fault_code)
        with_sky = ~np.isnan(c.sky_index) & ~np.isnan(c.expected_w)
        # The comparison key of the reference (its JSON without the measured values) as bits.
        flags = (
            online.astype(np.int64)
            | producing << 1
            | alarm << 2
            | c.underperforming << 3
            | with_sky << 4
            | (with_sky & c.from_peers) << 5
        )
        considered = (seen != 0) | c.will_offline | all_due
        same = (
            c.pub_valid
            & (flags == c.pub_flags)
            & (c.status == c.pub_status)
            & (c.alarm_code == c.pub_alarm)
        )
        due = considered & ~(same & (now_ns - c.published_ns < self.republish_ns))
        rows = np.flatnonzero(due)
        if not len(rows):
            return []
        c.pub_valid[rows] = True
        c.pub_flags[rows] = flags[rows]
        c.pub_status[rows] = c.status[rows]
        c.pub_alarm[rows] = c.alarm_code[rows]
        c.published_ns[rows] = now_ns
        lines: list[str] = []
        names, rating, publish = self._status_names, c.rating_w, self.publish
        quoted = self._quoted_status
        while len(quoted) < len(names):  # each state's field text, as format_point writes it
            quoted.append(format_point("m", {}, {"s": names[len(quoted)]})[len("m s=") :])
        prefixes, stamp = self._line_prefix, f" {now_ns}"
        for row, on, prod, alm, code, alarm_code, last, p, energy, under, exp, sky, peers in zip(
            rows.tolist(),
            online[rows].tolist(),
            producing[rows].tolist(),
            alarm[rows].tolist(),
            c.status[rows].tolist(),
            c.alarm_code[rows].tolist(),
            seen[rows].tolist(),
            power[rows].tolist(),
            c.energy_today_wh[rows].tolist(),
            c.underperforming[rows].tolist(),
            c.expected_w[rows].tolist(),
            c.sky_index[rows].tolist(),
            c.from_peers[rows].tolist(),
            strict=True,
        ):
            last_s = round((now_ns - last) / 1e9, 1) if last else -1.0
            energy = round(energy, 1)
            prefix = prefixes[row]
            if prefix is None:
                prefix = prefixes[row] = self._prefix_of(self._by_row[row])
            # The line as format_point writes it, field by field in the reference's order.
            line = (
                f"{prefix}online={_TF[on]},producing={_TF[prod]},alarm={_TF[alm]},"
                f"alarm_code={alarm_code}i,inverter_status={quoted[code]},"
                f"last_seen_s={last_s!r},ac_power_w={p!r},energy_today_wh={energy!r},"
                f"underperforming={_TF[under]}"
            )
            finite = math.isfinite(p) and math.isfinite(energy)
            index: float | None = None
            sky_3: float | None = None
            if exp == exp:  # not NaN: an expectation is known
                expected = round(exp, 1)
                finite = finite and math.isfinite(exp)
                line += f",expected_ac_power_w={expected!r}"
                r = rating[row]
                if exp and r and exp > 0.1 * r:
                    index = round(max(0.0, p) / exp, 3)
                    line += f",performance_index={index!r}"
                if sky == sky:
                    sky_3 = round(sky, 3)
                    finite = finite and math.isfinite(sky)
                    line += f",sky_index={sky_3!r},expected_from_peers={_TF[peers]}"
            if publish is None and finite:
                lines.append(line + stamp)
                continue
            fields: dict[str, float | int | bool | str] = {
                "online": on,
                "producing": prod,
                "alarm": alm,
                "alarm_code": alarm_code,
                "inverter_status": names[code],
                "last_seen_s": last_s,
                "ac_power_w": p,
                "energy_today_wh": energy,
                "underperforming": under,
            }
            if exp == exp:
                fields["expected_ac_power_w"] = expected
                if index is not None:
                    fields["performance_index"] = index
                if sky_3 is not None:
                    fields["sky_index"] = sky_3
                    fields["expected_from_peers"] = peers
            st = self._by_row[row]
            if not finite:  # what line protocol cannot carry: format_point says why
                line = format_point(MEASUREMENT_PLANT_STATUS, _tags(st), fields, now_ns)
            else:
                line += stamp
            if not self._emit(st, fields, now_ns, lines, line):
                c.pub_valid[row] = False
        return lines

    def _prefix_of(self, st: PlantState) -> str:
        """Measurement and tags of ``st``'s status lines, with the space after them, as
        format_point writes them (it escapes each province once; a registry plant id has
        nothing to escape)."""
        if not PLANT_ID_RE.fullmatch(st.plant_id):
            return format_point(MEASUREMENT_PLANT_STATUS, _tags(st), {"x": True})[:-6]
        head = f"{MEASUREMENT_PLANT_STATUS},plant_id="
        province = self._province_tag.get(st.province)
        if province is None:
            line = format_point(
                MEASUREMENT_PLANT_STATUS, _tags(PlantState("p", st.province)), {"x": True}
            )
            province = self._province_tag[st.province] = line[len(head) + 1 : -len(" x=true")]
        return f"{head}{st.plant_id}{province} "

    def _tick_plants(self, plants: list[PlantState], now_ns: int, all_due: bool) -> list[str]:
        """:meth:`tick` over ``plants``, one by one (under the lock)."""
        lines: list[str] = []
        for st in plants:
            if not (st.last_seen_ns or st.will_offline or all_due):
                continue
            fields = self.snapshot(st, now_ns)
            key = _published_key(fields)
            if key == st.published and now_ns - st.published_ns < self.republish_ns:
                continue
            st.published, st.published_ns = key, now_ns
            if not self._emit(st, fields, now_ns, lines):
                st.published = ""
        return lines

    def _emit(
        self,
        st: PlantState,
        fields: dict[str, float | int | bool | str],
        now_ns: int,
        lines: list[str],
        line: str = "",
    ) -> bool:
        """Append the status line of ``st`` (``line`` if given) to ``lines`` and publish it;
        False if the publish failed (the next tick retries)."""
        lines.append(line or format_point(MEASUREMENT_PLANT_STATUS, _tags(st), fields, now_ns))
        if self.publish is None:
            return True
        body = json.dumps({"plant_id": st.plant_id, "time_ns": now_ns, **fields})
        try:
            self.publish(topics.plant_topic(st.plant_id, topics.STATUS), body.encode(), True)
        except Exception as exc:  # the broker is away: the next tick retries
            log.debug("status publish failed: %s", exc)
            return False
        return True

    def tick_reference(self, now_ns: int) -> list[str]:
        """:meth:`tick`, plant by plant (the readable reference; a tracker uses one of the
        two)."""
        lines = []
        if self._started_ns is None:
            self._started_ns = now_ns
        self._update_sky_index_reference(now_ns)
        all_due = now_ns - self._started_ns >= self.offline_after_ns
        with self._lock:
            states = [
                st for st in self.plants.values() if st.last_seen_ns or st.will_offline or all_due
            ]
            for st in states:
                fields = self.snapshot(st, now_ns)
                key = json.dumps(
                    {
                        k: v
                        for k, v in fields.items()
                        if k
                        not in (
                            "last_seen_s",
                            "ac_power_w",
                            "expected_ac_power_w",
                            "performance_index",
                            "sky_index",
                            "energy_today_wh",
                        )
                    },
                    sort_keys=True,
                )
                if key == st.published and now_ns - st.published_ns < self.republish_ns:
                    continue
                st.published, st.published_ns = key, now_ns
                tags = {"plant_id": st.plant_id}
                if st.province:
                    tags["province"] = st.province
                lines.append(format_point(MEASUREMENT_PLANT_STATUS, tags, fields, now_ns))
                if self.publish is not None:
                    body = json.dumps({"plant_id": st.plant_id, "time_ns": now_ns, **fields})
                    try:
                        self.publish(
                            topics.plant_topic(st.plant_id, topics.STATUS), body.encode(), True
                        )
                    except Exception as exc:  # the broker is away: the next tick retries
                        st.published = ""
                        log.debug("status publish failed: %s", exc)
        return lines


#: Line protocol booleans.
_TF = ("false", "true")


def _tags(st: PlantState) -> dict[str, str]:
    tags = {"plant_id": st.plant_id}
    if st.province:
        tags["province"] = st.province
    return tags


#: Fields a status change is not (they change at every reading).
_MEASURED = (
    "last_seen_s",
    "ac_power_w",
    "expected_ac_power_w",
    "performance_index",
    "sky_index",
    "energy_today_wh",
)


def _published_key(fields: dict[str, float | int | bool | str]) -> str:
    """What must differ from the last published status for a new one to be published."""
    return json.dumps({k: v for k, v in fields.items() if k not in _MEASURED}, sort_keys=True)


class _Columns:
    """What the tick needs of each registry plant, as arrays in fleet row order.

    A copy of the :class:`PlantState` fields (refreshed at each tick for the plants changed
    since), the sky index's results (newer than the PlantState's where ``pending``) and the
    last published status (as the bits of :meth:`StatusTracker._tick_rows`). NaN is None.
    """

    def __init__(self, rating_w: np.ndarray) -> None:
        n = len(rating_w)
        self.rating_w = rating_w
        self.last_seen_ns = np.zeros(n, dtype=np.int64)
        self.will_offline = np.zeros(n, dtype=bool)
        self.ac_power_w = np.full(n, np.nan)
        self.alarm_code = np.zeros(n, dtype=np.int64)
        self.status = np.zeros(n, dtype=np.int64)  # code of the inverter_status field
        self.energy_today_wh = np.zeros(n)
        self.expected_w = np.full(n, np.nan)
        self.underperforming = np.zeros(n, dtype=bool)
        self.sky_index = np.full(n, np.nan)
        self.from_peers = np.zeros(n, dtype=bool)
        self.pending = np.zeros(n, dtype=bool)
        self.pub_valid = np.zeros(n, dtype=bool)
        self.pub_flags = np.zeros(n, dtype=np.int64)
        self.pub_status = np.zeros(n, dtype=np.int64)
        self.pub_alarm = np.zeros(n, dtype=np.int64)
        self.published_ns = np.zeros(n, dtype=np.int64)


def _plant_state(st: PlantState) -> str:
    """The state of a plant from its gateway inverters' ('' if none is known)."""
    states = {i.state for i in st.inverters.values()}
    return next((s for s in _STATE_ORDER if s in states), "")


def _local_day(ts_ns: int) -> str:
    """Asia/Tehran calendar day of a time [ns since the epoch], as ``YYYY-MM-DD``."""
    # Iran's offsets (+03:30, +04:30) are whole half hours: a UTC half hour lies in one day.
    return _local_day_of_half_hour(ts_ns // 1_800_000_000_000)


@functools.lru_cache(maxsize=8192)
def _local_day_of_half_hour(half_hours: int) -> str:
    return dt.datetime.fromtimestamp(half_hours * 1800, tz=TEHRAN).date().isoformat()
