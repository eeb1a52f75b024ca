"""The array-based status tick against its readable reference (:meth:`StatusTracker.tick` vs
:meth:`StatusTracker.tick_reference`): the same ``plant_status`` lines and the same published
messages at every tick, over a few hundred plants in every state — fresh, stale, never seen,
offline by their gateway's will, in a cut, in alarm or fault, at night, underperforming, with
two inverters, not in the registry — through publish failures and republishing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pytest

from firmware_bridge.peers import PeerExpectation
from firmware_bridge.rejection import GatewayStatus
from firmware_bridge.status import StatusTracker
from firmware_bridge.validate import Checked
from telemetry.lineprotocol import parse_line
from telemetry.record import TelemetryRecord
from telemetry.registry import Fleet, parse_fleet

# 12:00 UTC: afternoon in Tehran, dusk in Bangkok, night in Tokyo.
T0 = int(datetime(2026, 7, 1, 12, 0, tzinfo=UTC).timestamp()) * 10**9
MIN_NS = 60 * 10**9
CLUSTERS = {
    "THR": (35.70, 51.40),
    "DEL": (28.61, 77.21),
    "BKK": (13.75, 100.50),
    "TYO": (35.68, 139.69),
}
N_PER_CLUSTER = 75
STEPS = 100  # minutes


def build_fleet() -> Fleet:
    rng = np.random.default_rng(11)
    rows = ["plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province,outage_zone"]
    for name, (lat, lon) in CLUSTERS.items():
        for i in range(N_PER_CLUSTER):
            dlat, dlon = rng.uniform(-0.03, 0.03, 2)
            zone = f"{name}-Z{i % 3}" if name in ("THR", "DEL") else ""
            province = {"THR": "Tehran", "DEL": "Kohgiluyeh, Boyer Ahmad"}.get(name, "")
            province = province if i % 2 else name  # escaped in tags, or plain
            rows.append(
                f"{name}{i:03d},{lat + dlat:.5f},{lon + dlon:.5f},{rng.choice([4.5, 5, 5.5])},5,"
                f'{rng.uniform(10, 35):.1f},{rng.uniform(150, 210):.1f},"{province}",{zone}'
            )
    return parse_fleet("\n".join(rows) + "\n")


FLEET = build_fleet()
IDS = FLEET.plants["plant_id"].tolist()
EXTRA = ["XTRA-1", "XTRA-2"]  # not in the registry


@pytest.fixture(scope="module")
def peer() -> PeerExpectation:
    exp = PeerExpectation(FLEET, start_ns=T0 - 3 * 3600 * 10**9, horizon_h=12).start()
    assert exp.wait(300), exp.error
    return exp


@dataclass
class Plan:
    """What each plant does, drawn once."""

    kind: dict[str, str] = field(default_factory=dict)
    share: dict[str, float] = field(default_factory=dict)


def draw_plan(seed: int) -> Plan:
    rng = np.random.default_rng(seed)
    kinds = ["normal"] * 6 + ["sparse", "silent_later", "never", "alarm", "fault", "will", "low"]
    kinds += ["gateway", "two_inverters", "backfill"]
    plan = Plan()
    for pid in IDS + EXTRA:
        plan.kind[pid] = str(rng.choice(kinds))
        plan.share[pid] = float(rng.uniform(0.35, 1.0))
    return plan


def in_cut(pid: str, minute: int) -> bool:
    """Zone THR-Z1 is cut from minute 30 to 70, DEL-Z2 from 50 on."""
    return (pid.startswith("THR") and int(pid[3:]) % 3 == 1 and 30 <= minute < 70) or (
        pid.startswith("DEL") and int(pid[3:]) % 3 == 2 and minute >= 50
    )


def events(
    plan: Plan, clear: Callable[[int, int], float], minute: int, seed: int
) -> list[tuple[str, object]]:
    """The events of one minute, in the order the bridge would see them."""
    rng = np.random.default_rng(seed * 1000 + minute)
    out: list[tuple[str, object]] = []
    ts = T0 + minute * MIN_NS
    for row, pid in enumerate(IDS + EXTRA):
        kind = plan.kind[pid]
        hybrid = row % 3 == 0  # one in three of a cut zone reports from its battery
        if kind == "never" or (in_cut(pid, minute) and not hybrid):
            continue
        if kind == "sparse" and rng.random() > 0.12:
            continue
        if kind == "silent_later" and minute > 40:
            continue
        cs = clear(row, ts) if row < len(IDS) else 4000.0
        share = 0.15 if in_cut(pid, minute) else plan.share[pid]
        if kind == "low" and minute > 20:
            share = 0.3
        power = max(0.0, share * cs + rng.normal(0, 20))
        energy = 10_000.0 + minute * share * 50
        alarm = int(rng.integers(1, 500)) if kind == "alarm" and 30 < minute < 60 else 0
        status = "fault" if kind == "fault" and minute % 20 < 7 else "producing"
        if kind == "two_inverters":
            for j, inv in enumerate(("x", "y")):
                rec = TelemetryRecord(
                    plant_id=pid,
                    ts_ns=ts + j * 10**9,
                    ac_power_w=power / 2,
                    energy_total_wh=energy + 1000 * j,
                    status=status,
                    inverter=inv,
                )
                out.append(("observe", (Checked(rec, {"plant_id": pid}), ts + j * 10**9)))
            continue
        reset = rng.random() < 0.02
        rec = TelemetryRecord(
            plant_id=pid,
            ts_ns=ts,
            ac_power_w=power,
            energy_total_wh=energy - (5000 if reset else 0),
            alarm_code=alarm,
            status=status,
        )
        out.append(("observe", (Checked(rec, {"plant_id": pid}, reset), ts)))
        if kind == "backfill" and minute % 10 == 5:  # a late reading from 20 minutes ago
            old = TelemetryRecord(
                plant_id=pid, ts_ns=ts - 20 * MIN_NS, ac_power_w=power, energy_total_wh=energy - 40
            )
            out.append(("observe", (Checked(old, {"plant_id": pid}), ts)))
        if kind == "will" and minute in (25, 60):
            out.append(("will", (pid, b"offline")))
        if kind == "gateway" and minute % 15 == 7:
            state = str(rng.choice(["off", "standby", "producing", "starting"]))
            live = bool(rng.random() < 0.8)
            out.append(("gateway", (GatewayStatus(pid, "116180000001", state, live=live), ts)))
    return out


class Broker:
    """Collects published statuses; refuses some, as a broker going away would."""

    def __init__(self, fail: Callable[[int], bool]) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.calls = 0
        self.fail = fail

    def __call__(self, topic: str, payload: bytes, retain: bool) -> None:
        self.calls += 1
        if self.fail(self.calls):
            raise ConnectionError("broker away")
        self.messages.append((topic, payload, retain))


def run_both(
    peer: PeerExpectation | None, seed: int, publish: bool = True, **kwargs: float
) -> tuple[StatusTracker, StatusTracker, list[str]]:
    """Feed the same events to two trackers, tick one fast and one by the reference; assert
    the same lines and messages at every tick. Returns the trackers and all lines."""
    plan = draw_plan(seed)
    assert peer is None or peer.grid is not None
    clear = peer.grid.clear_sky_at if peer is not None and peer.grid is not None else None

    def sky(row: int, ts: int) -> float:
        return clear(row, ts) if clear is not None else 3000.0

    def fail(call: int) -> bool:
        return call % 97 == 13

    fast_broker, ref_broker = Broker(fail), Broker(fail)
    fast = StatusTracker(FLEET, publish=fast_broker if publish else None, expected=peer, **kwargs)
    ref = StatusTracker(FLEET, publish=ref_broker if publish else None, expected=peer, **kwargs)
    every: list[str] = []
    for minute in range(STEPS):
        for kind, args in events(plan, sky, minute, seed):
            for t in (fast, ref):
                getattr(t, kind)(*args)  # type: ignore[arg-type]
        now = T0 + minute * MIN_NS + 5 * 10**9
        if minute in (61, 62):
            now += 7 * MIN_NS  # the metrics thread late: a longer silence between ticks
        lines = fast.tick(now)
        assert lines == ref.tick_reference(now), f"minute {minute}"
        assert fast_broker.messages == ref_broker.messages, f"minute {minute}"
        every += lines
    end = T0 + STEPS * MIN_NS
    for pid in IDS + EXTRA:
        if pid in fast.plants:
            assert fast.snapshot(fast.plants[pid], end) == ref.snapshot(ref.plants[pid], end), pid
    return fast, ref, every


def test_fast_tick_equals_the_reference_with_the_peers(peer: PeerExpectation) -> None:
    fast, _, lines = run_both(peer, seed=1)
    points = [parse_line(x) for x in lines]
    seen = {k: {p.fields.get(k) for p in points} for k in ("online", "alarm", "underperforming")}
    assert seen["online"] == {True, False}
    assert seen["alarm"] == {True, False}
    assert seen["underperforming"] == {True, False}
    assert {p.fields.get("expected_from_peers") for p in points} == {True, False, None}
    assert {p.fields["inverter_status"] for p in points} >= {"producing", "fault", "unknown"}
    by_plant = {p.tags["plant_id"]: p for p in points}
    assert set(by_plant) == set(IDS + EXTRA) - {
        pid for pid in IDS + EXTRA if pid not in fast.plants
    }
    night = [p for pid, p in by_plant.items() if pid.startswith("TYO")]
    assert night
    assert all("performance_index" not in p.fields for p in night)
    assert fast.live.cut.any()
    assert len(lines) > 3 * len(IDS)  # republished every 5 minutes, and changes between


def test_fast_tick_equals_the_reference_with_a_slow_sky_index(peer: PeerExpectation) -> None:
    _, _, lines = run_both(
        peer,
        seed=2,
        publish=False,  # the lines alone (formatted without the fields)
        sky_index_every_s=150.0,
        republish_s=600.0,
        offline_after_s=300.0,
    )
    assert any("performance_index" in line for line in lines)


def test_fast_tick_equals_the_reference_without_an_expectation() -> None:
    run_both(None, seed=3)


def test_what_line_protocol_cannot_carry_fails_alike() -> None:
    """An infinite power (the validator refuses it; the tracker does not check): both ticks
    refuse it with format_point's error."""
    from telemetry.errors import InputError

    fast, ref = (StatusTracker(FLEET) for _ in range(2))
    for t in (fast, ref):
        rec = TelemetryRecord(plant_id=IDS[0], ts_ns=T0, ac_power_w=float("inf"))
        t.observe(Checked(rec, {"plant_id": IDS[0]}), T0)
    with pytest.raises(InputError) as fast_error:
        fast.tick(T0)
    with pytest.raises(InputError) as ref_error:
        ref.tick_reference(T0)
    assert str(fast_error.value) == str(ref_error.value)
