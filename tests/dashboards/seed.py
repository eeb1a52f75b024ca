"""A realistic InfluxDB for the dashboard tests: a day of a few dozen plants through the bridge.

The fleet emulator publishes a day of readings (5-minute interval, faults, power cuts with
silent gateways and batch uploads after them, 1 % bad payloads) to a real mosquitto; the bridge
runs in-process with its status tracker and the simulator's expected power and writes to a real
influxd. A *replay clock* stands in for the bridge's wall clock (``time.time_ns`` of
``firmware_bridge.bridge`` and ``firmware_bridge.mqtt``), advanced 5 simulated minutes at a time
as the day is published, so the bridge stamps its statuses and self-metrics across the
simulated day, sees gateways go silent and come back, and its lag means something.

Deterministic events on top of the emulator's own: two gateways die 3 hours before the end
(offline in daylight), one inverter faults 100 minutes before the end (alarm 301, no power,
energy counter frozen: in alarm and underperforming at the end). The day ends at 10:30 UTC
(14:00 in Tehran) of the latest such time before now, so the end is in daylight whatever the
hour the tests run.

Then: ``plant_registry`` and ``bridge_quarantine`` are published, ``roshanai simulate fleet`` and
``roshanai simulate outage`` write their results, and the rollups are computed for the window.

Last, triage's side (:func:`seed_triage`): the expectation each plant was judged against
(``plant_expected``, from :func:`triage.run.triage_fleet` on the stored day, time = the start
of each hour) and a worklist of ``plant_finding`` points written per the schema — an open
finding of every kind (the faulted inverter, a dead gateway, and others), one dead gateway's
finding written before the ``open`` field existed, and closed ones — so the panels and every
finding's alert rule have something to show.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
import types
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SEC = 1_000_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR

N_PLANTS = 40
SEED = 11
CHOOSE_DAYS = 7
"""Days back from the latest 14:00 Tehran tried for the scenario's end (see :func:`_choose`)."""
INTERVAL_S = 300
FAULT_CODE = 301


def end_of_day_ns(now_ns: int | None = None) -> int:
    """The latest 10:30 UTC (14:00 Tehran) at least 10 minutes before now."""
    now = time.time_ns() if now_ns is None else now_ns
    t = (now - 10 * MIN) // DAY * DAY + int(10.5 * HOUR)
    return t if t <= now - 10 * MIN else t - DAY


class ReplayClock:
    """A stand-in for the ``time`` module whose ``time_ns`` is the simulated time."""

    def __init__(self, start_ns: int) -> None:
        self.now_ns = start_ns
        self._lock = threading.Lock()

    def set(self, t_ns: int) -> None:
        with self._lock:
            self.now_ns = t_ns

    def module(self) -> types.SimpleNamespace:
        ns = types.SimpleNamespace(
            **{k: getattr(time, k) for k in dir(time) if not k.startswith("__")}
        )
        ns.time_ns = lambda: self.now_ns
        ns.time = lambda: self.now_ns / 1e9
        return ns


@dataclass
class Scenario:
    """What the seeded database holds (for the tests' expectations)."""

    database: str
    url: str
    start_ns: int
    end_ns: int
    fleet: object
    dead: list[str]
    faulted: str
    run_id: str
    outage_run_id: str
    state_dir: Path
    published: Counter = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    #: The plant_finding points written: plant_id, finding, start_ns, lost_kwh_per_day,
    #: confidence, evidence, open (None: the field left out), closed_at.
    findings: list[dict] = field(default_factory=list)


def _choose(fleet, emu, end_ns: int) -> tuple[list[str], str]:
    """Two plants whose gateways die and one whose inverter faults, each in a province where
    another plant produces at the end of the day. Which provinces do changes with the date
    (the emulated cuts and faults are drawn per day), so it is asked of the emulator."""
    from dashboards.queries import PRODUCING_W

    times = np.arange(end_ns - 25 * MIN, end_ns, 5 * MIN, dtype=np.int64)
    index = {pid: i for i, pid in enumerate(fleet.plant_ids)}

    def produces(pid: str) -> bool:
        pidx = np.full(len(times), index[pid], dtype=np.int64)
        silent = emu.gateway_down(pidx, times)
        readings = emu.readings(pidx, times)
        return any(
            not off and (r.get("ac_power_w") or 0.0) > PRODUCING_W
            for off, r in zip(silent.tolist(), readings, strict=True)
        )

    def up(pid: str, t0_ns: int, t1_ns: int) -> bool:
        """The plant's gateway is not in a cut in [t0, t1)."""
        at = np.arange(t0_ns, t1_ns, 5 * MIN, dtype=np.int64)
        return not emu.gateway_down(np.full(len(at), index[pid], dtype=np.int64), at).any()

    groups = fleet.plants.groupby("province")["plant_id"].apply(list)
    pairs = [ids for ids in groups if len(ids) >= 2 and any(produces(o) for o in ids[1:])]
    if len(pairs) < 3:
        raise LookupError("too few provinces produce at the end of the emulated day")
    # A gateway that dies in daylight has its last reading where it died: not in a cut just
    # before (its buffer would never be uploaded, and it would look silent since the cut
    # began). The faulted inverter reports its whole 100-minute fault: no cut in it.
    dying = [ids for ids in pairs if up(ids[0], end_ns - 5 * HOUR, end_ns - 3 * HOUR)]
    if len(dying) < 2:
        raise LookupError("too few provinces with a plant whose grid is up before it dies")
    faulted = next(
        (
            ids[0]
            for ids in pairs
            if ids is not dying[0] and ids is not dying[1] and up(ids[0], end_ns - 2 * HOUR, end_ns)
        ),
        None,
    )
    if faulted is None:
        raise LookupError("no province left with a plant whose grid is up in its fault")
    return [dying[0][0], dying[1][0]], faulted


def _rewrite_fault(reading: dict, energy_wh: float) -> dict:
    r = dict(reading)
    r.update(
        ac_power_w=0.0,
        ac_current_a=0.0,
        status="fault",
        alarm_code=FAULT_CODE,
        energy_total_wh=energy_wh,
    )
    r["dc"] = [{"v": s["v"], "a": 0.0, "w": 0.0} for s in r.get("dc", [])]
    return r


@contextlib.contextmanager
def _replay_clock(clock: ReplayClock) -> Iterator[None]:
    import firmware_bridge.bridge as bridge_mod
    import firmware_bridge.mqtt as mqtt_mod

    saved = (bridge_mod.time, mqtt_mod.time)
    shim = clock.module()
    bridge_mod.time = shim  # type: ignore[assignment]
    mqtt_mod.time = shim  # type: ignore[assignment]
    try:
        yield
    finally:
        bridge_mod.time, mqtt_mod.time = saved


def seed(influx_url: str, database: str, mqtt_url: str, workdir: Path) -> Scenario:
    """Fill ``database`` on ``influx_url`` with the scenario; returns what it holds."""
    from dashboards.publish import quarantine_counts, quarantine_lines, registry_lines
    from dashboards.rollups import apply
    from firmware_bridge.bridge import Bridge
    from firmware_bridge.emulator import Emulator, synthetic_fleet, write_fleet
    from firmware_bridge.mqtt import MqttLink
    from firmware_bridge.status import ExpectedPower, StatusTracker
    from roshanai.cli import main
    from telemetry.influx import InfluxStore

    t0 = time.perf_counter()
    fleet = synthetic_fleet(N_PLANTS, seed=SEED)
    fleet_csv = write_fleet(fleet, workdir / "fleet.csv")
    end = end_of_day_ns()
    expected = ExpectedPower(fleet).start()
    emu = Emulator(
        fleet, seed=SEED, interval_s=INTERVAL_S, fault_rate=0.2, bad_rate=0.01, start_ns=end - DAY
    )
    # The emulated cuts change with the date: on some summer days too few provinces have the
    # plants the scenario needs at 14:00 Tehran; then the day before is seeded.
    for _ in range(CHOOSE_DAYS):
        try:
            dead, faulted = _choose(fleet, emu, end)
            break
        except LookupError:
            end -= DAY
    else:
        raise LookupError(f"no day of the last {CHOOSE_DAYS} has the plants the scenario needs")
    start = end - DAY
    fault_start = end - 100 * MIN
    fault_energy = float(
        emu.readings(np.array([fleet.plant_ids.index(faulted)]), np.array([fault_start]))[0][
            "energy_total_wh"
        ]
    )
    assert expected.wait(300), expected.error
    seconds = {"prepare": time.perf_counter() - t0}

    store = InfluxStore(influx_url, database)
    state_dir = workdir / "bridge-state"
    clock = ReplayClock(start)
    published: Counter = Counter()
    t1 = time.perf_counter()
    with _replay_clock(clock):
        status = StatusTracker(fleet, expected=expected)

        def link_factory(on_message, topics):
            return MqttLink(
                mqtt_url,
                "bridge-dash",
                manual_ack=True,
                on_message=on_message,
                subscriptions=topics,
            )

        bridge = Bridge(
            link_factory,
            store,
            state_dir,
            fleet=fleet,
            instance="bridge-dash",
            status=status,
            metrics_interval_s=0.05,
        ).start()
        pub = MqttLink(
            mqtt_url, "emulator-dash", clean_start=True, max_pending_publishes=500
        ).start()
        try:
            for step, s in enumerate(range(start, end, INTERVAL_S * SEC)):
                clock.set(s + INTERVAL_S * SEC)
                for topic, payload, kind in emu.messages(s, s + INTERVAL_S * SEC):
                    pid = topic.split("/")[2]
                    if pid in dead and s >= end - 3 * HOUR:
                        continue
                    if pid == faulted and kind != "bad":
                        doc = json.loads(payload)
                        if "readings" in doc:
                            doc["readings"] = [
                                _rewrite_fault(r, fault_energy)
                                if _ts_ns(r["ts"]) >= fault_start
                                else r
                                for r in doc["readings"]
                            ]
                        elif _ts_ns(doc["ts"]) >= fault_start:
                            doc = _rewrite_fault(doc, fault_energy)
                        payload = json.dumps(doc).encode()
                    pub.publish(topic, payload)
                    published[kind] += 1
                pub.wait_published()
                deadline = time.monotonic() + 30
                while (
                    bridge.counters.as_dict()["received"] < sum(published.values())
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.002)
                time.sleep(0.06)  # a metrics tick (and status tick) at this simulated time
                if step % 12 == 11:  # hourly: the quarantine by reason, as the sidecar does
                    store.write_lines(
                        quarantine_lines(quarantine_counts(state_dir), "bridge-dash", clock.now_ns)
                    )
            deadline = time.monotonic() + 60
            while bridge.spool.depth and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            pub.stop()
            bridge.stop()
    store.write_lines(quarantine_lines(quarantine_counts(state_dir), "bridge-dash", end))
    seconds["bridge"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    store.write_lines(registry_lines(fleet))
    out = workdir / "sim"
    common = [
        "--influx-url",
        influx_url,
        "--influx-db",
        database,
        "--out-dir",
        str(out),
        "--no-plot",
    ]
    assert main(["simulate", "fleet", str(fleet_csv), *common]) == 0
    assert main(["simulate", "outage", str(fleet_csv), "--scenario", "summer", *common]) == 0
    # The day ahead: a climate-baseline forecast over the stored window, scored against it.
    since, until = _iso(start), _iso(end)
    forecast = [a for a in common if a != "--no-plot"]
    assert (
        main(
            [
                "simulate",
                "forecast",
                str(fleet_csv),
                "--baseline",
                "climate",
                "--start",
                since,
                "--hours",
                "24",
                *forecast,
            ]
        )
        == 0
    )
    db = ["--influx-url", influx_url, "--influx-db", database]
    assert main(["simulate", "forecast-skill", "--since", since, "--until", until, *db]) == 0
    seconds["simulate"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    apply(store, start_ns=start, end_ns=end)
    seconds["rollups"] = time.perf_counter() - t3
    runs = {
        m: [
            v[1]
            for s in store.query(f'SHOW TAG VALUES FROM "{m}" WITH KEY = "run_id"')
            for v in s["values"]
        ]
        for m in ("sim_plant_year", "sim_outage_region")
    }
    t4 = time.perf_counter()
    findings = seed_triage(store, fleet, start, end, dead, faulted, fault_start)
    seconds["triage"] = time.perf_counter() - t4
    store.close()
    return Scenario(
        database,
        influx_url,
        start,
        end,
        fleet,
        dead,
        faulted,
        max(runs["sim_plant_year"]),
        max(runs["sim_outage_region"]),
        state_dir,
        published,
        seconds,
        findings,
    )


def finding_line(f: dict) -> str:
    """A ``plant_finding`` point as ``roshanai triage`` writes it (telemetry.schema)."""
    from telemetry.lineprotocol import format_point
    from telemetry.schema import MEASUREMENT_PLANT_FINDING

    tags = {"plant_id": f["plant_id"], "finding": f["finding"]}
    if f.get("province"):
        tags["province"] = f["province"]
    fields: dict[str, float | bool | str] = {
        "lost_kwh_per_day": float(f["lost_kwh_per_day"]),
        "confidence": float(f["confidence"]),
        "evidence": f["evidence"],
        "triaged_until": f["triaged_until"],
    }
    if f.get("open") is not None:
        fields["open"] = bool(f["open"])
    if f.get("closed_at"):
        fields["closed_at"] = f["closed_at"]
    return format_point(MEASUREMENT_PLANT_FINDING, tags, fields, int(f["start_ns"]))


def _iso(t_ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_ns // SEC))


def seed_triage(
    store, fleet, start_ns: int, end_ns: int, dead: list[str], faulted: str, fault_start_ns: int
) -> list[dict]:
    """Write ``plant_expected`` (triage's expectation of the stored day) and a worklist of
    findings (see the module docstring); returns the findings written."""
    import pandas as pd

    from telemetry.lineprotocol import format_point
    from telemetry.schema import MEASUREMENT_PLANT_EXPECTED
    from triage.io import read_hourly
    from triage.run import triage_fleet

    since = pd.Timestamp(start_ns, unit="ns", tz="UTC")
    until = pd.Timestamp(end_ns, unit="ns", tz="UTC")
    result = triage_fleet(read_hourly(store, fleet, since, until), fleet, since, until)
    ex, hourly = result.expectation, result.hourly
    province = dict(zip(fleet.plants["plant_id"], fleet.plants["province"], strict=True))
    starts = (hourly.labels - pd.Timedelta(hours=1)).asi8  # labels are the hours' ends
    lines = []
    for i, pid in enumerate(hourly.plant_ids):
        tags = {"plant_id": pid, "province": str(province[pid] or "")}
        for j, t_ns in enumerate(starts.tolist()):
            if not ex.clear_sky_w[i, j] > 0 or not np.isfinite(ex.expected_w[i, j]):
                continue  # night
            fields: dict[str, float | int | bool] = {
                "expected_ac_power_w": float(ex.expected_w[i, j]),
                "clear_sky_ac_power_w": float(ex.clear_sky_w[i, j]),
                "sky_index": float(ex.sky_index[i, j]),
                "peers_reporting": int(ex.peers_reporting[i, j]),
                "from_peers": bool(ex.from_peers[i, j]),
            }
            if np.isfinite(hourly.ac_power_w[i, j]):
                fields["ac_power_w"] = float(hourly.ac_power_w[i, j])
            lines.append(format_point(MEASUREMENT_PLANT_EXPECTED, tags, fields, int(t_ns)))
    store.write_lines(lines)

    hour = lambda t: t // HOUR * HOUR  # noqa: E731 - findings start on the hour
    others = [p for p in fleet.plant_ids if p not in dead and p != faulted]
    until_iso = _iso(end_ns)
    rows: list[tuple] = [  # plant, kind, start, kWh/day, confidence, evidence, open, closed
        (
            faulted,
            "inverter_fault",
            hour(fault_start_ns),
            14.2,
            0.95,
            f"alarm {FAULT_CODE}, 0 W in daylight while 7 peers produce",
            True,
            None,
        ),
        (
            faulted,
            "underperforming",
            hour(end_ns - 20 * DAY),
            3.0,
            0.6,
            "62 % of the peers' expectation, hours 09-15",
            False,
            _iso(end_ns - 17 * DAY),
        ),
        (
            dead[0],
            "offline",
            hour(end_ns - 3 * HOUR),
            9.1,
            0.9,
            "silent 3 h, grid up, 6 peers report",
            True,
            None,
        ),
        (
            dead[1],
            "offline",
            hour(end_ns - 3 * HOUR),
            8.4,
            0.85,
            "silent 3 h, grid up, 5 peers report",
            None,
            None,
        ),  # written before `open`
        (
            others[0],
            "comms_loss",
            hour(end_ns - 6 * HOUR),
            0.0,
            0.8,
            "silent 2 h, energy counter advanced 6.1 kWh across the gap",
            True,
            None,
        ),
        (
            others[1],
            "string_fault",
            hour(end_ns - 2 * DAY),
            5.3,
            0.85,
            "dc2 at 8 % of its share, dc1 normal, hours 08-16",
            True,
            None,
        ),
        (
            others[2],
            "shading",
            hour(end_ns - 5 * DAY),
            1.8,
            0.7,
            "-35 % at 14-16 local on 4 clear days, peers normal",
            True,
            None,
        ),
        (
            others[3],
            "soiling",
            hour(end_ns - 9 * DAY),
            2.6,
            0.75,
            "-1.1 %/day against the peers since 9 days, no reset",
            True,
            None,
        ),
        (
            others[4],
            "degradation",
            hour(end_ns - 12 * DAY),
            1.2,
            0.55,
            "-6 % against the peers on every clear day",
            True,
            None,
        ),
        (
            others[5],
            "underperforming",
            hour(end_ns - 1 * DAY),
            3.4,
            0.65,
            "80 % of the peers' expectation, hours 08-16",
            True,
            None,
        ),
        (
            others[6],
            "soiling",
            hour(end_ns - 25 * DAY),
            4.0,
            0.7,
            "-0.9 %/day, reset by rain",
            False,
            _iso(end_ns - 15 * DAY),
        ),
        (
            others[7],
            "string_fault",
            hour(end_ns - 8 * DAY),
            6.0,
            0.9,
            "dc1 at 0 W for 2 days",
            False,
            _iso(end_ns - 5 * DAY),
        ),
    ]
    findings = [
        {
            "plant_id": pid,
            "province": str(province[pid] or ""),
            "finding": kind,
            "start_ns": int(t),
            "lost_kwh_per_day": lost,
            "confidence": conf,
            "evidence": evidence,
            "open": is_open,
            "closed_at": closed,
            "triaged_until": until_iso,
        }
        for pid, kind, t, lost, conf, evidence, is_open, closed in rows
    ]
    store.write_lines([finding_line(f) for f in findings])
    return findings


def _ts_ns(ts: str | int) -> int:
    if isinstance(ts, int):
        return ts * 1_000_000
    return int(np.datetime64(ts.rstrip("Z"), "ns").astype(np.int64))


def main() -> None:  # pragma: no cover - `python -m tests.dashboards.seed` for a look around
    from tests.servers import InfluxD, Mosquitto

    work = Path(tempfile.mkdtemp(prefix="roshanai-seed-"))
    with Mosquitto(work / "mqtt") as m, InfluxD(work / "influx") as db:
        db.create_database("roshanai")
        sc = seed(db.url, "roshanai", m.url, work)
        print(sc.seconds, sc.published, sc.dead, sc.faulted, sc.run_id, sc.outage_run_id)
        input(f"influxd at {db.url}, database roshanai; Enter stops it ")


if __name__ == "__main__":  # pragma: no cover
    main()
