"""OpenDTU and AhoyDTU decoding (:mod:`firmware_bridge.dtu` through the Decoder): cycles into
readings at the gateway's own time, repeats and zeroed data never becoming points, retained
replays for status only, gateway states reported on their own, unknown inverters quarantined
once an hour. The message sequences follow the gateways' sources (see the module docstring of
``firmware_bridge.dtu``); ``test_gateways_golden.py`` replays whole captures through a broker.
"""

from __future__ import annotations

import json

import pytest

from firmware_bridge.decode import Decoded, Decoder, serials_from_fleet
from firmware_bridge.rejection import GatewayStatus, Rejection
from telemetry.record import DcString, TelemetryRecord
from telemetry.registry import parse_fleet

NOW = 1_782_896_400_000_000_000  # 2026-07-01T09:00:00Z [ns]
S = 1_000_000_000
T0 = NOW // S - 60  # a reading time, a minute before NOW [s]
PLANT = "ZNJ-000123"
SERIAL = "114190641177"
FLEET = frozenset({PLANT, "THR-000001"})


def feed(
    decoder: Decoder,
    messages: list[tuple[str, str]],
    start_ns: int = NOW,
    *,
    retained: bool = False,
    first_token: int = 0,
) -> Decoded:
    """Feed messages 1 ms apart (token = index from ``first_token``); everything decoded."""
    total = Decoded([], [], [])
    for i, (topic, payload) in enumerate(messages):
        total.extend(
            decoder.decode(
                topic, payload.encode(), first_token + i, start_ns + i * 1_000_000, retained
            )
        )
    return total


def opendtu(serial: str = SERIAL) -> Decoder:
    return Decoder(serials={serial: PLANT}, plants=FLEET)


def opendtu_cycle(
    last_update_s: int,
    power_w: float,
    *,
    values: bool = True,
    reachable: int = 1,
    producing: int | None = None,
    serial: str = SERIAL,
) -> list[tuple[str, str]]:
    """One publish interval of OpenDTU, in MqttHandleInverter::loop's order and formatting."""
    p = f"solar/{serial}"
    producing = int(power_w > 0) if producing is None else producing
    head = [
        (f"{p}/name", "HM-800"),
        (f"{p}/radio/tx_request", "120"),
        (f"{p}/radio/rssi", "-62"),
        (f"{p}/status/limit_relative", "100.00"),
        (f"{p}/status/reachable", str(reachable)),
        (f"{p}/status/producing", str(producing)),
        (f"{p}/status/last_update", str(last_update_s)),
    ]
    if not values:
        return head
    return [
        *head,
        # AC (TYPE_AC, channel 0), then the DC inputs, then the inverter fields (TYPE_INV, 0)
        (f"{p}/0/voltage", "229.1"),
        (f"{p}/0/current", "2.66"),
        (f"{p}/0/power", f"{power_w:.1f}"),
        (f"{p}/0/frequency", "50.01"),
        (f"{p}/0/powerfactor", "1.000"),
        (f"{p}/0/reactivepower", "0.0"),
        (f"{p}/1/name", "east"),
        (f"{p}/1/voltage", "36.3"),
        (f"{p}/1/current", "9.10"),
        (f"{p}/1/power", "330.2"),
        (f"{p}/1/yieldday", "108"),
        (f"{p}/1/yieldtotal", "600.100"),
        (f"{p}/1/irradiation", "73.378"),
        (f"{p}/2/name", "west"),
        (f"{p}/2/voltage", "36.5"),
        (f"{p}/2/current", "8.50"),
        (f"{p}/2/power", "310.0"),
        (f"{p}/2/yieldday", "108"),
        (f"{p}/2/yieldtotal", "634.467"),
        (f"{p}/2/irradiation", "68.889"),
        (f"{p}/0/powerdc", "640.2"),
        (f"{p}/0/yieldday", "216"),
        (f"{p}/0/yieldtotal", "1234.567"),
        (f"{p}/0/temperature", "41.5"),
        (f"{p}/0/efficiency", "95.109"),
        ("solar/dtu/uptime", "1234"),
        ("solar/ac/power", "612.3"),
        ("solar/dc/is_valid", "1"),
    ]


def record(ts_s: int, power_w: float, **kw: object) -> TelemetryRecord:
    base: dict[str, object] = dict(
        plant_id=PLANT,
        ts_ns=ts_s * S,
        ac_power_w=power_w,
        ac_voltage_v=229.1,
        ac_current_a=2.66,
        ac_freq_hz=50.01,
        energy_total_wh=1234567.0,
        energy_today_wh=216.0,
        dc=(DcString(36.3, 9.1, 330.2), DcString(36.5, 8.5, 310.0)),
        temp_c=41.5,
        status="producing",
        rssi_dbm=-62.0,
    )
    return TelemetryRecord(**(base | kw))  # type: ignore[arg-type]


def records(decoder: Decoder, messages: list[tuple[str, str]], **kw: object) -> list:
    out = feed(decoder, messages, **kw)  # type: ignore[arg-type]
    out.extend(decoder.flush(0, force=True))
    assert out.rejections == []
    return out.records


# -- OpenDTU ------------------------------------------------------------------------------------


def test_opendtu_cycle_is_one_reading_at_last_update() -> None:
    decoder = opendtu()
    first = opendtu_cycle(T0, 612.3)
    messages = first + opendtu_cycle(T0 + 5, 700.0)
    out = feed(decoder, messages)
    assert out.rejections == []
    assert out.records == [record(T0, 612.3)]
    # The first cycle is accounted for; the second's values wait for their cycle to end.
    assert set(range(len(first))) <= set(out.tokens)
    second = decoder.flush(NOW + 60 * S, force=False)
    assert second.records == [record(T0 + 5, 700.0)]
    assert sorted(out.tokens + second.tokens) == list(range(len(messages)))
    assert decoder.pending() == 0


def test_opendtu_tokens_held_until_the_cycle_completes() -> None:
    decoder = opendtu()
    p = f"solar/{SERIAL}"
    assert decoder.decode(f"{p}/status/last_update", str(T0).encode(), "a", NOW).tokens == []
    assert decoder.decode(f"{p}/0/power", b"100.0", "b", NOW).tokens == []
    assert decoder.decode(f"{p}/name", b"x", "c", NOW).tokens == ["c"]  # not part of a reading
    assert decoder.flush(NOW + 2 * S, force=False).tokens == []  # not old enough yet
    done = decoder.flush(NOW + 3 * S, force=False)
    assert done.tokens == ["a", "b"]
    assert [r.ts_ns for r in done.records] == [T0 * S]
    # A status message after values ends the cycle at once.
    decoder.decode(f"{p}/status/last_update", str(T0 + 5).encode(), "e", NOW)
    decoder.decode(f"{p}/0/power", b"100.0", "f", NOW)
    assert sorted(decoder.decode(f"{p}/status/reachable", b"1", "g", NOW).tokens) == ["e", "f", "g"]


def test_opendtu_unchanged_statistics_and_jitter_make_no_point() -> None:
    # Values come only when the statistics changed; last_update wobbles by a second.
    decoder = opendtu()
    messages = (
        opendtu_cycle(T0, 500.0)
        + opendtu_cycle(T0 + 1, 0, values=False, producing=1)
        + opendtu_cycle(T0, 0, values=False, producing=1)
        + opendtu_cycle(T0 + 1, 500.0)
    )  # republished with a jittered time
    assert records(decoder, messages) == [record(T0, 500.0)]


def test_opendtu_zero_runtime_data_never_overwrites_the_last_reading() -> None:
    # ZeroRuntimeDataIfUnrechable: the runtime fields become 0 and are republished under the
    # last real reading's last_update (± 1 s) while the inverter is unreachable.
    decoder = opendtu()
    zeros = [
        (t, "0.0" if "/0/power" in t or "voltage" in t or "current" in t else v)
        for t, v in opendtu_cycle(T0 + 1, 0, reachable=0)
    ]
    out = feed(decoder, opendtu_cycle(T0, 450.0) + zeros + zeros)
    out.extend(decoder.flush(0, force=True))
    assert out.records == [record(T0, 450.0)]
    assert out.stale == 2
    assert out.statuses[-1] == GatewayStatus(PLANT, SERIAL, "off", True)


def test_opendtu_zeros_of_an_unreachable_inverter_are_never_a_reading() -> None:
    # Even with a new time (a bridge that lost its state, the gateway's retain off).
    decoder = opendtu()
    zeros = [
        (t, "0.0" if t.rsplit("/", 1)[1] in ("power", "voltage", "current", "frequency") else v)
        for t, v in opendtu_cycle(T0 + 30, 0, reachable=0)
    ]
    assert records(decoder, zeros) == []


def test_opendtu_readings_while_not_polling_at_night_are_kept() -> None:
    # Poll at night off, commands at night on (the default): statistics still come, with
    # reachable 0 and producing 0 (isReachable needs polling).
    decoder = opendtu()
    got = records(decoder, opendtu_cycle(T0, 64.3, reachable=0, producing=0))
    assert [(r.ts_ns, r.ac_power_w, r.status) for r in got] == [(T0 * S, 64.3, None)]


def test_opendtu_status_is_reported_without_values() -> None:
    decoder = opendtu()
    out = feed(
        decoder,
        opendtu_cycle(T0, 0, values=False, reachable=1, producing=0)
        + opendtu_cycle(T0, 0, values=False, reachable=0, producing=0),
    )
    assert [s.state for s in out.statuses] == ["standby", "standby", "off", "off"]
    assert {s.live for s in out.statuses} == {True}


def test_opendtu_standby_reading() -> None:
    decoder = opendtu()
    got = records(decoder, opendtu_cycle(T0, 0.0, producing=0))
    assert [(r.status, r.ac_power_w) for r in got] == [("standby", 0.0)]


def test_opendtu_values_without_a_time_are_no_reading() -> None:
    decoder = opendtu()
    out = feed(
        decoder, [(f"solar/{SERIAL}/0/power", "5.0"), (f"solar/{SERIAL}/0/voltage", "230.0")]
    )
    out.extend(decoder.flush(0, force=True))
    assert (out.records, out.stale, sorted(out.tokens)) == ([], 1, [0, 1])


def test_opendtu_last_update_zero_means_no_statistics() -> None:
    decoder = opendtu()
    assert records(decoder, opendtu_cycle(0, 0, values=False, reachable=0)) == []
    assert decoder.pending() == 0


def test_opendtu_gateway_clock_not_set() -> None:
    decoder = opendtu()
    out = decoder.decode(f"solar/{SERIAL}/status/last_update", b"3600", "t", NOW)
    assert [r.reason for r in out.rejections] == ["out_of_range"]
    assert "clock" in out.rejections[0].detail
    assert out.tokens == ["t"]


def test_retained_replay_updates_status_only() -> None:
    # A bridge (re)subscribes: mosquitto replays every retained topic of the last cycle.
    decoder = opendtu()
    replay = feed(decoder, opendtu_cycle(T0, 612.3), retained=True)
    replay.extend(decoder.flush(0, force=True))
    assert replay.records == []
    assert replay.rejections == []
    assert {s.live for s in replay.statuses} == {False}
    # The gateway's next live cycle, same statistics (values republished after its reboot of
    # the MQTT connection): still no point; a newer one is stored.
    later = records(decoder, opendtu_cycle(T0 + 1, 612.3) + opendtu_cycle(T0 + 5, 650.0))
    assert later == [record(T0 + 5, 650.0)]


def test_reading_times_survive_a_restart_through_the_state() -> None:
    decoder = opendtu()
    assert len(records(decoder, opendtu_cycle(T0, 300.0))) == 1
    again = opendtu()
    assert again.load_state(json.loads(json.dumps(decoder.state()))) == 1
    zeros = opendtu_cycle(T0, 0.0, reachable=1, producing=0)  # same time, other values
    assert records(again, zeros) == []


def test_onbattery_and_dtu_wide_topics_are_passed_over() -> None:
    decoder = opendtu()
    for topic in [
        "solar/dtu/ip",
        "solar/dtu/status",
        "solar/ac/yieldtotal",
        "solar/dc/power",
        "solar/battery/stateOfCharge",
        "solar/battery/alarm/overVoltage",
        "solar/victron/HQ2233ABCDE/PPV",
        "solar/huawei/reachable",
        "solar/powerlimiter/status/mode",
        "solar/powermeter/powertotal",
        f"solar/{SERIAL}/device/hwversion",
        f"solar/{SERIAL}/cmd/power",
        f"solar/{SERIAL}/0/yieldday_x",
        f"solar/{SERIAL}/1/irradiation",
        f"solar/{SERIAL}/0/voltage ph1-n",
    ]:
        out = decoder.decode(topic, b"1", topic, NOW)
        assert (out.records, out.rejections, out.tokens, out.unregistered) == (
            [],
            [],
            [topic],
            0,
        ), topic
    assert decoder.pending() == 0


def test_unknown_serial_is_quarantined_once_an_hour_naming_the_column() -> None:
    decoder = opendtu()
    cycle = opendtu_cycle(T0, 100.0, serial="116199990001")
    out = feed(decoder, cycle + cycle)
    assert [r.reason for r in out.rejections] == ["unknown_plant"]
    assert "inverter_serial" in out.rejections[0].detail
    assert "'116199990001'" in out.rejections[0].detail
    assert out.unregistered > 10
    assert out.records == []
    assert sorted(out.tokens) == list(range(2 * len(cycle)))
    later = feed(decoder, cycle, NOW + 3601 * S)
    assert [r.reason for r in later.rejections] == ["unknown_plant"]


def test_empty_payloads_are_passed_over() -> None:
    decoder = opendtu()
    for topic in [
        f"solar/{SERIAL}/1/name",
        f"solar/{SERIAL}/0/power",
        "solar/victron/HQ1/FWE",
        f"inverter/{PLANT}/ch0/P_AC",
    ]:
        out = decoder.decode(topic, b"", topic, NOW)
        assert (out.records, out.rejections, out.tokens) == ([], [], [topic]), topic


def test_serial_case_does_not_matter() -> None:
    decoder = Decoder(serials={"1161ABCD0001": PLANT}, plants=FLEET)
    assert len(records(decoder, opendtu_cycle(T0, 10.0, serial="1161abcd0001"))) == 1


def test_without_a_fleet_the_serial_is_the_plant() -> None:
    got = records(Decoder(), opendtu_cycle(T0, 10.0, serial="999999999999"))
    assert [r.plant_id for r in got] == ["999999999999"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "bad_schema"),
        ("nan", "non_finite"),
        ("inf", "non_finite"),
        ("ovf", "non_finite"),
        ("-Infinity", "non_finite"),
        ("1e999", "non_finite"),
        ("1_000", "bad_schema"),
        ("\xff", "bad_schema"),
    ],
)
def test_opendtu_bad_value_is_quarantined_and_the_rest_kept(value: str, reason: str) -> None:
    decoder = opendtu()
    cycle = [(t, value if t.endswith("/0/power") else v) for t, v in opendtu_cycle(T0, 1.0)]
    out = feed(decoder, cycle)
    out.extend(decoder.flush(0, force=True))
    assert [(r.reason, r.plant_id) for r in out.rejections] == [(reason, PLANT)]
    assert [r.ac_power_w for r in out.records] == [None]
    assert out.records[0].ac_voltage_v == 229.1


def test_two_inverters_of_one_plant_keep_their_series() -> None:
    decoder = Decoder(serials={SERIAL: PLANT, "116180000002": PLANT}, plants=FLEET)
    got = records(
        decoder, opendtu_cycle(T0, 100.0) + opendtu_cycle(T0, 200.0, serial="116180000002")
    )
    assert sorted((r.inverter, r.ac_power_w) for r in got) == [
        (SERIAL, 100.0),
        ("116180000002", 200.0),
    ]
    # One inverter per plant: no inverter tag.
    assert records(opendtu(), opendtu_cycle(T0, 1.0))[0].inverter is None


def test_serials_from_fleet() -> None:
    fleet = parse_fleet(
        "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,"
        "inverter_serial\nA,35,51,5,5,30,180,1161ABCD0001;116180000002\n"
        "B,35,51,5,5,30,180,\n"
    )
    assert serials_from_fleet(fleet) == {"1161abcd0001": "A", "116180000002": "A"}
    assert Decoder.from_fleet(fleet).decode(
        "solar/116180000002/status/reachable", b"1", 0, NOW
    ).statuses == [GatewayStatus("A", "116180000002", "standby", True)]


# -- AhoyDTU ------------------------------------------------------------------------------------

NAME = "HM-600 roof"


def ahoy(**kw: object) -> Decoder:
    return Decoder(names={NAME: PLANT}, plants=FLEET, **kw)  # type: ignore[arg-type]


CH0 = {
    "U_AC": 229.5,
    "I_AC": 2.1,
    "P_AC": 480.0,
    "Q_AC": 0.0,
    "F_AC": 49.98,
    "PF_AC": 1,
    "Temp": 35.2,
    "ALARM_MES_ID": 3,
    "YieldDay": 300,
    "YieldTotal": 1.005,
    "P_DC": 505.6,
    "Efficiency": 94.937,
    "MaxPower": 512,
    "MaxTemp": 40.1,
}
CH1 = {
    "U_DC": 33.1,
    "I_DC": 7.7,
    "P_DC": 255.1,
    "YieldDay": 150,
    "YieldTotal": 0.5,
    "Irradiation": 60,
    "MaxPower": 260,
}
CH2 = {
    "U_DC": 33.4,
    "I_DC": 7.5,
    "P_DC": 250.5,
    "YieldDay": 150,
    "YieldTotal": 0.505,
    "Irradiation": 59,
    "MaxPower": 255,
}


def ahoy_cycle(
    ts_s: int, *, as_json: bool, name: str = NAME, ch0: dict | None = None
) -> list[tuple[str, str]]:
    """One RealTimeRunData publish of AhoyDTU (pubMqttIvData: last_success, rssi, channels in
    assignment order ch1, ch2, ch0 with "%g", radio_stat), topic-per-value or JSON."""
    p = f"inverter/{name}"
    channels = [(1, CH1), (2, CH2), (0, ch0 or CH0)]
    head = [(f"{p}/last_success", str(ts_s)), (f"{p}/rssi", "-70")]
    if as_json:
        body = [(f"{p}/ch{n}", json.dumps(ch | {"ts": ts_s})) for n, ch in channels]
    else:
        body = [
            (f"{p}/ch{n}/{k}", f"{v:g}")
            for n, ch in channels
            for k, v in ch.items()
            if k != "ALARM_MES_ID"
        ]
    return [
        *head,
        *body,
        (f"{p}/radio_stat", '{"tx":1,"success":1,"fail":0}'),
        ("inverter/total/P_AC", "480"),
    ]


def ahoy_record(ts_s: int, status: str | None = "producing", **kw: object) -> TelemetryRecord:
    base: dict[str, object] = dict(
        plant_id=PLANT,
        ts_ns=ts_s * S,
        ac_power_w=480.0,
        ac_voltage_v=229.5,
        ac_current_a=2.1,
        ac_freq_hz=49.98,
        energy_total_wh=1005.0,
        energy_today_wh=300.0,
        temp_c=35.2,
        status=status,
        rssi_dbm=-70.0,
        dc=(DcString(33.1, 7.7, 255.1), DcString(33.4, 7.5, 250.5)),
    )
    return TelemetryRecord(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("as_json", [False, True])
def test_ahoy_cycle_is_one_reading(as_json: bool) -> None:
    decoder = ahoy()
    messages = [(f"inverter/{NAME}/available", "2"), *ahoy_cycle(T0, as_json=as_json)]
    out = feed(decoder, messages)
    assert out.rejections == []
    assert out.records == [ahoy_record(T0)]
    assert sorted(out.tokens) == list(range(len(messages)))  # radio_stat completes it
    assert decoder.pending() == 0


def test_ahoy_senddata_repeat_makes_no_point() -> None:
    # processIvStatus: on leaving WAS_PRODUCING, sendData() republishes the last values
    # (without last_success), then <name>/available changes.
    decoder = ahoy()
    repeat = [
        (f"inverter/{NAME}/ch{n}/{k}", f"{v:g}")
        for n, ch in [(1, CH1), (2, CH2), (0, CH0)]
        for k, v in ch.items()
        if k not in ("YieldDay", "YieldTotal")
    ]
    out = feed(
        decoder,
        [
            (f"inverter/{NAME}/available", "2"),
            *ahoy_cycle(T0, as_json=False),
            *repeat,
            (f"inverter/{NAME}/available", "4"),
        ],
    )
    out.extend(decoder.flush(0, force=True))
    assert out.records == [ahoy_record(T0)]
    assert out.stale == 1
    assert [s.state for s in out.statuses] == ["producing", "standby"]


def test_ahoy_zero_values_under_the_same_last_success_make_no_point() -> None:
    decoder = ahoy()
    zero = {k: (0 if k not in ("YieldDay", "YieldTotal") else v) for k, v in CH0.items()}
    out = feed(decoder, ahoy_cycle(T0, as_json=False) + ahoy_cycle(T0, as_json=False, ch0=zero))
    assert len(out.records) == 1
    assert out.stale == 1


def test_ahoy_records_without_readings_do_not_hide_later_readings() -> None:
    # last_success is also sent for SystemConfigPara / device information records.
    decoder = ahoy()
    p = f"inverter/{NAME}"
    config = [
        (f"{p}/last_success", str(T0 + 3)),
        (f"{p}/rssi", "-70"),
        (f"{p}/ch0/active_PowerLimit", "100"),
        (f"{p}/radio_stat", "{}"),
    ]
    got = records(decoder, config + ahoy_cycle(T0, as_json=False))
    assert [r.ts_ns for r in got] == [T0 * S]


def test_ahoy_json_new_ts_starts_a_new_reading() -> None:
    decoder = ahoy()
    p = f"inverter/{NAME}"
    got = records(
        decoder,
        [
            (f"{p}/ch0", json.dumps({"P_AC": 1, "ts": T0})),
            (f"{p}/ch0", json.dumps({"P_AC": 2, "ts": T0 + 5})),
        ],
    )
    assert [(r.ts_ns, r.ac_power_w) for r in got] == [(T0 * S, 1.0), ((T0 + 5) * S, 2.0)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{", "bad_schema"),
        (b'{"P_AC": "x"}', "bad_schema"),
        (b'{"P_AC": 1e999}', "non_finite"),
        (b'{"P_AC": 1, "ts": 3}', "out_of_range"),
        (b"[1]", "bad_schema"),
    ],
)
def test_ahoy_json_bad(payload: bytes, reason: str) -> None:
    out = ahoy().decode(f"inverter/{NAME}/ch0", payload, "t", NOW)
    assert out.records == []
    assert out.tokens == ["t"]
    assert [r.reason for r in out.rejections] == [reason]
    assert isinstance(out.rejections[0], Rejection)


def test_ahoy_available_is_sticky_and_reported() -> None:
    decoder = ahoy()
    p = f"inverter/{NAME}"
    out = feed(decoder, [(f"{p}/available", "0")])
    assert out.statuses == [GatewayStatus(PLANT, NAME, "off", True)]
    got = records(decoder, [(f"{p}/available", "1"), *ahoy_cycle(T0, as_json=False)])
    assert [r.status for r in got] == ["starting"]


def test_ahoy_retained_replay_after_a_bridge_restart() -> None:
    decoder = ahoy()
    p = f"inverter/{NAME}"
    replay = [
        (f"{p}/available", "3"),
        (f"{p}/last_success", str(T0)),
        (f"{p}/ch0/YieldTotal", "1.005"),
        (f"{p}/ch0/YieldDay", "300"),
    ]
    out = feed(decoder, replay, retained=True)
    assert out.records == []
    assert out.stale == 4
    assert out.statuses == [GatewayStatus(PLANT, NAME, "standby", False)]
    # The zeroed values AhoyDTU republishes later under the same last_success: no point.
    assert records(decoder, ahoy_cycle(T0, as_json=False)) == []


def test_ahoy_inverter_named_like_its_plant() -> None:
    decoder = Decoder(plants=FLEET)
    got = records(decoder, ahoy_cycle(T0, as_json=True, name=PLANT))
    assert [r.plant_id for r in got] == [PLANT]


def test_ahoy_unknown_name_is_quarantined_once_naming_the_column() -> None:
    decoder = ahoy()
    cycle = ahoy_cycle(T0, as_json=False, name="garage, left")
    out = feed(decoder, cycle + cycle)
    assert [r.reason for r in out.rejections] == ["unknown_plant"]
    assert "inverter_name" in out.rejections[0].detail
    assert "'garage, left'" in out.rejections[0].detail
    assert out.rejections[0].plant_id is None
    assert sorted(out.tokens) == list(range(2 * len(cycle)))


def test_ahoy_dtu_wide_topics_are_passed_over() -> None:
    decoder = ahoy()
    for topic in [
        "inverter/uptime",
        "inverter/mqtt",
        "inverter/status",
        "inverter/total",
        "inverter/total/P_AC",
        "inverter/comm_disabled",
        "inverter/ctrl/limit/0",
        f"inverter/{NAME}/alarm/cnt",
        f"inverter/{NAME}/alarm/0",
        f"inverter/{NAME}/firmware",
        f"inverter/{NAME}/hardware",
        f"inverter/{NAME}/dis_night_comm",
        f"inverter/{NAME}/ch0/Efficiency",
        f"inverter/{NAME}/ch1/YieldDay",
        f"inverter/{NAME}/ack_pwr_limit",
        "inverter/someone else/firmware",
    ]:
        out = decoder.decode(topic, b"1", topic, NOW)
        assert (out.records, out.rejections, out.tokens) == ([], [], [topic]), topic
    assert decoder.pending() == 0


def test_ahoy_available_survives_a_restart_through_the_state() -> None:
    # AhoyDTU sends available only when it changes; a resubscribing bridge is not sent the
    # retained copy again (Retain Handling 1), so the state must come from the bridge itself.
    decoder = ahoy()
    feed(decoder, [(f"inverter/{NAME}/available", "2"), *ahoy_cycle(T0, as_json=False)])
    again = ahoy()
    again.load_state(json.loads(json.dumps(decoder.state())))
    got = records(again, ahoy_cycle(T0 + 30, as_json=False))
    assert [(r.ts_ns, r.status) for r in got] == [((T0 + 30) * S, "producing")]
    assert again.load_state({"x": 1, "OpenDTU/1": {"ts_ns": "no"}, 3: {}}) == 0


def test_a_gateway_clock_far_ahead_does_not_hide_later_readings() -> None:
    # The validator refuses the reading from the future; once NTP fixes the clock, the
    # readings at the right time are new readings.
    decoder = opendtu()
    ahead = NOW // S + 7200
    got = records(decoder, opendtu_cycle(ahead, 10.0) + opendtu_cycle(T0, 20.0))
    assert [r.ts_ns for r in got] == [ahead * S, T0 * S]


def test_ahoy_inverter_named_like_its_serial() -> None:
    decoder = Decoder(serials={"116180000001": PLANT}, plants=FLEET)
    got = records(decoder, ahoy_cycle(T0, as_json=False, name="116180000001"))
    assert [r.plant_id for r in got] == [PLANT]
