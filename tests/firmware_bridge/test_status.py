"""Plant status from accepted readings: online/offline, energy today, underperformance."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from firmware_bridge.rejection import GatewayStatus
from firmware_bridge.status import StatusTracker
from firmware_bridge.validate import Checked
from telemetry.lineprotocol import parse_line
from telemetry.record import TelemetryRecord
from telemetry.registry import parse_fleet

FLEET = parse_fleet(
    "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province\n"
    "A,35.7,51.4,5,5,30,180,Tehran\nB,35.7,51.4,5,5,30,180,Tehran\n"
)
MIN_NS = 60 * 10**9


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp()) * 10**9


class FixedExpected:
    """Expected power: 4 kW from 06:00 to 18:00 UTC, else 0."""

    def get(self, plant_id: str, ts_ns: int) -> float:
        hour = datetime.fromtimestamp(ts_ns / 1e9, UTC).hour
        return 4000.0 if 6 <= hour < 18 else 0.0


def reading(
    pid: str,
    ts_ns: int,
    power_w: float,
    energy_wh: float | None = None,
    reset: bool = False,
    alarm: int = 0,
) -> Checked:
    rec = TelemetryRecord(
        plant_id=pid,
        ts_ns=ts_ns,
        ac_power_w=power_w,
        energy_total_wh=energy_wh,
        alarm_code=alarm,
        status="producing",
    )
    return Checked(rec, {"plant_id": pid, "province": "Tehran"}, reset)


def test_energy_today_survives_resets_and_late_backfill() -> None:
    t = StatusTracker(FLEET)
    t0 = ns("2026-07-01T06:00:00+00:00")
    t.observe(reading("A", t0, 1000, 10_000), t0)
    t.observe(reading("A", t0 + 10 * MIN_NS, 1000, 10_500), t0)
    t.observe(reading("A", t0 + 20 * MIN_NS, 1000, 200, reset=True), t0)  # counter reset
    t.observe(reading("A", t0 + 30 * MIN_NS, 1000, 700), t0)
    t.observe(reading("A", t0 + 5 * MIN_NS, 1000, 10_200), t0)  # late backfill: ignored
    assert t.plants["A"].energy_today_wh == 1000.0


def test_online_offline_will_and_registry_plants() -> None:
    published: list[tuple[str, bytes, bool]] = []
    t = StatusTracker(FLEET, publish=lambda *a: published.append(a), offline_after_s=600)
    t0 = ns("2026-07-01T08:00:00+00:00")
    t.observe(reading("A", t0, 2500, 1000), t0)
    lines = t.tick(t0)
    assert [parse_line(x).tags["plant_id"] for x in lines] == ["A"]  # B not yet: grace period
    status = json.loads(published[-1][1])
    assert published[-1][0] == "roshanai/v1/A/status"
    assert published[-1][2] is True  # retained
    assert status["online"]
    assert status["producing"]
    # Eleven minutes of silence: A is offline; B (never heard from) is now reported too.
    later = t0 + 11 * MIN_NS
    points = {parse_line(x).tags["plant_id"]: parse_line(x) for x in t.tick(later)}
    assert points["A"].fields["online"] is False
    assert points["B"].fields["online"] is False
    # A reading brings A back; its gateway's will then takes it offline at once.
    t.observe(reading("A", later, 2500, 1100), later)
    assert t.snapshot(t.plants["A"], later)["online"] is True
    t.will("A", b"offline")
    assert t.snapshot(t.plants["A"], later)["online"] is False


def test_underperformance_needs_a_sustained_shortfall_in_daylight() -> None:
    t = StatusTracker(FLEET, expected=FixedExpected(), underperformance_window_s=3600)
    t0 = ns("2026-07-01T08:00:00+00:00")
    # Normal production for an hour, then 25 % of the expectation.
    for i in range(60):
        t.observe(reading("A", t0 + i * MIN_NS, 3900), t0)
    assert t.plants["A"].underperforming is False
    for i in range(60, 75):  # a quarter of an hour of shortfall: not yet
        t.observe(reading("A", t0 + i * MIN_NS, 1000), t0)
    assert t.plants["A"].underperforming is False
    for i in range(75, 150):
        t.observe(reading("A", t0 + i * MIN_NS, 1000), t0)
    assert t.plants["A"].underperforming is True
    assert t.snapshot(t.plants["A"], t0)["performance_index"] == 0.25
    # At night nothing is expected and nothing is flagged.
    night = ns("2026-07-01T20:00:00+00:00")
    t.observe(reading("A", night, 0), night)
    assert t.plants["A"].underperforming is False
    # A single dip in daylight does not flag.
    for i in range(60):
        t.observe(reading("B", t0 + i * MIN_NS, 3900 if i != 30 else 0), t0)
    assert t.plants["B"].underperforming is False


def test_alarm_is_reported() -> None:
    t = StatusTracker(FLEET)
    t0 = ns("2026-07-01T08:00:00+00:00")
    t.observe(reading("A", t0, 0, alarm=301), t0)
    point = parse_line(t.tick(t0)[0])
    assert point.fields["alarm"] is True
    assert point.fields["alarm_code"] == 301


def test_gateway_states_show_without_values() -> None:
    # OpenDTU's status/reachable 0 or AhoyDTU's available 0 with no values after them.
    t = StatusTracker(FLEET)
    t0 = ns("2026-07-01T14:00:00+00:00")
    t.observe(reading("A", t0, 2500, 1000), t0)
    assert t.snapshot(t.plants["A"], t0)["producing"]
    t.gateway(GatewayStatus("A", "114190641177", "off"), t0 + MIN_NS)
    snap = t.snapshot(t.plants["A"], t0 + MIN_NS)
    assert (snap["online"], snap["producing"], snap["inverter_status"], snap["ac_power_w"]) == (
        True,
        False,
        "off",
        0.0,
    )
    # A retained replay after that says nothing new, and never makes a plant look online.
    t.gateway(GatewayStatus("A", "114190641177", "producing", live=False), t0 + 2 * MIN_NS)
    assert t.snapshot(t.plants["A"], t0 + 2 * MIN_NS)["inverter_status"] == "off"
    t.gateway(GatewayStatus("B", "116180000001", "standby", live=False), t0)
    snap = t.snapshot(t.plants["B"], t0)
    assert (snap["online"], snap["inverter_status"]) == (False, "standby")


def test_plant_with_two_inverters_sums_them() -> None:
    t = StatusTracker(FLEET)
    t0 = ns("2026-07-01T08:00:00+00:00")

    def part(inverter: str, ts_ns: int, power_w: float, energy_wh: float) -> Checked:
        rec = TelemetryRecord(
            plant_id="A",
            ts_ns=ts_ns,
            ac_power_w=power_w,
            energy_total_wh=energy_wh,
            status="producing",
            inverter=inverter,
        )
        return Checked(rec, {"plant_id": "A", "inverter": inverter})

    t.observe(part("x", t0, 1000, 5000), t0)
    t.observe(part("y", t0 + 5 * 10**9, 1500, 80_000), t0)
    t.observe(part("x", t0 + MIN_NS, 1100, 5020), t0)
    t.observe(part("y", t0 + MIN_NS + 5 * 10**9, 1400, 80_025), t0)
    st = t.plants["A"]
    assert st.ac_power_w == 2500.0
    assert st.energy_today_wh == 45.0  # each inverter's own counter, never one against another
    t.gateway(GatewayStatus("A", "y", "off"), t0 + 2 * MIN_NS)
    assert (st.ac_power_w, st.inverter_status) == (1100.0, "producing")


def test_expected_power_covers_plants_outside_iran_and_skips_the_sea(caplog) -> None:
    """The bridge's expectation: Tehran from the capitals' table, Berlin as a coarse MERRA-2
    estimate (warned), a plant at sea without one; none of them costs the others theirs."""
    import logging

    from firmware_bridge.status import ExpectedPower

    fleet = parse_fleet(
        "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg\n"
        "THR,35.7,51.4,5,5,30,180\nBER,52.5,13.4,5,5,35,180\nSEA,0.0,-140.0,5,5,10,180\n"
    )
    with caplog.at_level(logging.WARNING):
        exp = ExpectedPower(fleet).start()
        assert exp.wait(300), exp.error
    noon_tehran = ns("2026-06-15T12:00:00+03:30")
    noon_berlin = ns("2026-06-15T13:00:00+03:30")  # 11:30 in Berlin (CEST): sun high
    night = ns("2026-06-15T02:00:00+03:30")
    assert 2500 < exp.get("THR", noon_tehran) < 5000
    assert 1000 < exp.get("BER", noon_berlin) < 5000
    assert exp.get("THR", night) == 0.0
    assert exp.get("SEA", noon_tehran) is None
    assert exp.get("nope", noon_tehran) is None
    text = caplog.text
    assert "1 plant(s) with no default weather" in text
    assert "1 plant(s) outside Iran is a coarse estimate" in text
