"""Decoders: canonical JSON, OpenDTU and AhoyDTU → records; every bad-input class → a reason.

Golden cases name the reason code each kind of bad input gets; property tests feed arbitrary
topics and bytes and check the decoder never raises and accounts for every message once.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.decode import REASONS, Decoded, Decoder, Rejection, serials_from_fleet
from firmware_bridge.rejection import DETAIL_MAX_CHARS
from telemetry.errors import ConfigError
from telemetry.record import DcString, TelemetryRecord
from telemetry.registry import parse_fleet

NOW = 1_782_896_400_000_000_000  # 2026-07-01T09:00:00Z [ns]
TS_MS = NOW // 1_000_000
PLANT = "ZNJ-000123"
TOPIC = f"roshanai/v1/{PLANT}/telemetry"

CANONICAL = {
    "v": 1, "plant_id": PLANT, "ts": "2026-07-01T09:00:00Z", "seq": 812,
    "ac_power_w": 3200.5, "ac_voltage_v": 228.1, "ac_current_a": 14.0, "ac_freq_hz": 50.01,
    "energy_total_wh": 1234567, "dc": [{"v": 350.1, "a": 5.2, "w": 1820.0}],
    "temp_c": 41.2, "status": "producing", "alarm_code": 0, "rssi_dbm": -71,
}
EXPECTED = TelemetryRecord(
    plant_id=PLANT, ts_ns=NOW, seq=812, ac_power_w=3200.5, ac_voltage_v=228.1,
    ac_current_a=14.0, ac_freq_hz=50.01, energy_total_wh=1234567.0,
    dc=(DcString(350.1, 5.2, 1820.0),), temp_c=41.2, status="producing", alarm_code=0,
    rssi_dbm=-71.0,
)


def js(obj: object) -> bytes:
    return json.dumps(obj).encode()


def decode(payload: bytes, topic: str = TOPIC, decoder: Decoder | None = None,
           token: object = "t") -> Decoded:
    return (decoder or Decoder()).decode(topic, payload, token, NOW)


def only_rejection(out: Decoded, token: object = "t") -> Rejection:
    assert out.records == []
    assert out.tokens == [token]
    assert len(out.rejections) == 1
    return out.rejections[0]


def well_formed(rejection: Rejection) -> None:
    assert rejection.reason in REASONS
    assert rejection.reason != "decoder_error", rejection.detail
    assert "\n" not in rejection.detail
    assert "\r" not in rejection.detail
    assert len(rejection.detail) <= DETAIL_MAX_CHARS


# -- canonical: good input ---------------------------------------------------------------------


def test_canonical_single_reading() -> None:
    out = decode(js(CANONICAL), token=42)
    assert out == Decoded([EXPECTED], [], [42])


@pytest.mark.parametrize("ts", [TS_MS, float(TS_MS), "2026-07-01T12:30:00+03:30",
                                "2026-07-01T09:00:00.000Z"])
def test_canonical_timestamps(ts: object) -> None:
    out = decode(js({"v": 1, "ts": ts, "ac_power_w": 1.0}))
    assert [r.ts_ns for r in out.records] == [NOW]


def test_unknown_keys_ignored_and_plant_id_optional() -> None:
    payload = {k: v for k, v in CANONICAL.items() if k != "plant_id"}
    payload |= {"fw": "1.2.3", "extra": {"nested": [1, 2]}}
    assert decode(js(payload)).records == [EXPECTED]


def test_integer_values_become_floats() -> None:
    out = decode(js({"v": 1, "ts": TS_MS, "ac_power_w": 3000, "dc": [{"w": 7}]}))
    record = out.records[0]
    assert type(record.ac_power_w) is float
    assert record.dc == (DcString(None, None, 7.0),)


def test_batch_backfill_keeps_timestamps() -> None:
    readings = [{"ts": TS_MS + i * 60_000, "ac_power_w": float(i), "energy_total_wh": 1000 + i}
                for i in range(360)]
    out = decode(js({"v": 1, "plant_id": PLANT, "readings": readings}))
    assert out.rejections == []
    assert out.tokens == ["t"]
    assert [r.ts_ns for r in out.records] == [NOW + i * 60_000_000_000 for i in range(360)]
    assert all(r.plant_id == PLANT for r in out.records)


def test_batch_mixed_good_and_bad_keeps_the_good() -> None:
    readings = [
        {"ts": TS_MS, "ac_power_w": 1.0},
        {"ts": "not a time", "ac_power_w": 2.0},
        {"ts": TS_MS + 1000, "ac_power_w": "three"},
        7,
        {"ac_power_w": 5.0},
        {"ts": TS_MS + 2000, "plant_id": "OTHER-1", "ac_power_w": 6.0},
        {"ts": TS_MS + 3000, "ac_power_w": 7.0},
    ]
    out = decode(js({"v": 1, "plant_id": PLANT, "readings": readings}))
    assert [r.ac_power_w for r in out.records] == [1.0, 7.0]
    assert [(r.reason, r.detail.split(":")[0]) for r in out.rejections] == [
        ("bad_schema", "reading 1"), ("bad_schema", "reading 2"), ("bad_schema", "reading 3"),
        ("bad_schema", "reading 4"), ("plant_mismatch", "reading 5"),
    ]
    assert out.tokens == ["t"]
    for r in out.rejections:
        well_formed(r)
        assert r.plant_id == PLANT


@pytest.mark.parametrize("bad", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"])
def test_batch_non_finite_reading_rejected_alone(bad: bytes) -> None:
    payload = (b'{"v": 1, "readings": [{"ts": %d, "ac_power_w": 1.0}, '
               b'{"ts": %d, "dc": [{"v": 300, "w": %s}]}]}' % (TS_MS, TS_MS + 1, bad))
    out = decode(payload)
    assert [r.ac_power_w for r in out.records] == [1.0]
    assert [r.reason for r in out.rejections] == ["non_finite"]
    assert "reading 1" in out.rejections[0].detail
    assert "dc[0].w" in out.rejections[0].detail


# -- canonical: every bad-input class has its reason ----------------------------------------------

GOOD = {"v": 1, "ts": TS_MS, "ac_power_w": 1.0}

GOLDEN = [
    # (case, topic, payload, reason, words in the detail)
    ("malformed JSON", TOPIC, b'{"v": 1, "ts": ', "malformed_json", "Expecting value"),
    ("not JSON at all", TOPIC, b"hello\nworld", "malformed_json", "hello\\nworld"),
    ("empty payload", TOPIC, b"", "malformed_json", ""),
    ("JSON array", TOPIC, b"[1, 2]", "bad_schema", "list"),
    ("string instead of number", TOPIC, js(GOOD | {"ac_power_w": "3200"}), "bad_schema",
     "ac_power_w"),
    ("boolean instead of number", TOPIC, js(GOOD | {"temp_c": True}), "bad_schema", "temp_c"),
    ("dc not a list", TOPIC, js(GOOD | {"dc": {"v": 1}}), "bad_schema", "dc"),
    ("status not a string", TOPIC, js(GOOD | {"status": 3}), "bad_schema", "status"),
    ("missing ts", TOPIC, js({"v": 1, "ac_power_w": 1.0}), "bad_schema", "missing ts"),
    ("naive ts", TOPIC, js(GOOD | {"ts": "2026-07-01T09:00:00"}), "bad_schema", "offset"),
    ("ts out of 2000-2100", TOPIC, js(GOOD | {"ts": 5}), "bad_schema", "2000"),
    ("ts overflowing", TOPIC, js(GOOD | {"ts": 1e303}), "bad_schema", ""),
    ("batch readings not a list", TOPIC, js({"v": 1, "readings": {}}), "bad_schema", "list"),
    ("missing v", TOPIC, js({"ts": TS_MS, "ac_power_w": 1.0}), "bad_schema", "v"),
    ("v as string", TOPIC, js(GOOD | {"v": "1"}), "bad_schema", "'1'"),
    ("v = 2", TOPIC, js(GOOD | {"v": 2}), "unsupported_version", "v=2"),
    ("topic v2", f"roshanai/v2/{PLANT}/telemetry", js(GOOD), "unsupported_version", "v1"),
    ("NaN token", TOPIC, b'{"v": 1, "ts": %d, "ac_power_w": NaN}' % TS_MS, "non_finite",
     "ac_power_w"),
    ("Infinity token", TOPIC, b'{"v": 1, "ts": %d, "temp_c": Infinity}' % TS_MS, "non_finite",
     "temp_c"),
    ("-Infinity token", TOPIC, b'{"v": 1, "ts": %d, "rssi_dbm": -Infinity}' % TS_MS,
     "non_finite", "rssi_dbm"),
    ("1e999", TOPIC, b'{"v": 1, "ts": %d, "energy_total_wh": 1e999}' % TS_MS, "non_finite",
     "energy_total_wh"),
    ("NaN in a DC string", TOPIC, b'{"v": 1, "ts": %d, "dc": [{"v": NaN}]}' % TS_MS,
     "non_finite", "dc[0].v"),
    ("payload/topic plant_id mismatch", TOPIC, js(GOOD | {"plant_id": "ZNJ-000999"}),
     "plant_mismatch", "ZNJ-000999"),
    ("payload plant_id injection", TOPIC, js(GOOD | {"plant_id": "x\nevil=1"}),
     "plant_mismatch", "\\n"),
    ("bad topic", "some/where/else", js(GOOD), "bad_topic", "some/where/else"),
    ("status topic", f"roshanai/v1/{PLANT}/status", js(GOOD), "bad_topic", "status"),
    ("deep topic", f"roshanai/v1/{PLANT}/x/telemetry", js(GOOD), "bad_topic", ""),
    ("tag with newline", "roshanai/v1/ZNJ\n1/telemetry", js(GOOD), "bad_tag", "ZNJ\\n1"),
    ("tag with comma", "roshanai/v1/ZNJ,a=b/telemetry", js(GOOD), "bad_tag", "ZNJ,a=b"),
    ("tag with space", "roshanai/v1/ZNJ 1/telemetry", js(GOOD), "bad_tag", "ZNJ 1"),
    ("tag with equals", "roshanai/v1/ZNJ=1/telemetry", js(GOOD), "bad_tag", "ZNJ=1"),
    ("tag with quotes", 'roshanai/v1/"ZNJ"/telemetry', js(GOOD), "bad_tag", "ZNJ"),
    ("tag with backslash", "roshanai/v1/ZNJ\\/telemetry", js(GOOD), "bad_tag", "ZNJ"),
    ("tag too long", f"roshanai/v1/{'A' * 65}/telemetry", js(GOOD), "bad_tag", "AAAA"),
    ("empty tag", "roshanai/v1//telemetry", js(GOOD), "bad_tag", "''"),
    ("non-UTF-8 payload", TOPIC, b"\xff\xfe{}", "non_utf8", "\\xff"),
    ("non-UTF-8 inside a string", TOPIC, b'{"v": 1, "ts": %d, "status": "\xc3("}' % TS_MS,
     "non_utf8", "byte"),
    ("oversized payload", TOPIC, b" " * (64 * 1024 + 1), "oversized", "65537"),
]


@pytest.mark.parametrize(("topic", "payload", "reason", "words"),
                         [case[1:] for case in GOLDEN], ids=[case[0] for case in GOLDEN])
def test_golden_rejections(topic: str, payload: bytes, reason: str, words: str) -> None:
    rejection = only_rejection(decode(payload, topic))
    well_formed(rejection)
    assert rejection.reason == reason, rejection
    assert words in rejection.detail


def test_every_reason_but_the_store_and_validation_ones_has_a_golden_case() -> None:
    later = {"rejected_by_store", "decoder_error", "unknown_plant", "out_of_range", "future_ts"}
    assert {case[3] for case in GOLDEN} == set(REASONS) - later


def test_rejection_plant_id_only_when_valid() -> None:
    assert only_rejection(decode(b"{", TOPIC)).plant_id == PLANT
    assert only_rejection(decode(b"{", "roshanai/v1/a b/telemetry")).plant_id is None
    assert only_rejection(decode(b" " * 70_000, "roshanai/v1/a,b/telemetry")).plant_id is None


def test_batch_too_large() -> None:
    out = decode(js({"v": 1, "readings": [GOOD] * 4}), decoder=Decoder(max_batch_readings=3))
    assert only_rejection(out).reason == "oversized"
    assert decode(js({"v": 1, "readings": [GOOD] * 3}),
                  decoder=Decoder(max_batch_readings=3)).rejections == []


def test_detail_bounded_and_escaped() -> None:
    rejection = only_rejection(decode(b'{"v": 1, "ts": "' + b"\n\r\x00" * 5000 + b'"}'))
    well_formed(rejection)
    assert Rejection("bad_schema", "a\nb" * 500).detail.startswith("a\\nb")
    with pytest.raises(ValueError, match="reason"):
        Rejection("no_such_reason", "")


# -- configuration ------------------------------------------------------------------------------


def test_subscriptions() -> None:
    assert Decoder().subscriptions() == ["roshanai/v1/+/telemetry", "solar/#", "inverter/#"]
    assert Decoder(opendtu_prefix="home/dtu/", ahoy_prefix=None).subscriptions() == [
        "roshanai/v1/+/telemetry", "home/dtu/#"]


@pytest.mark.parametrize("kwargs", [
    {"opendtu_prefix": "x", "ahoy_prefix": "x/"},
    {"opendtu_prefix": "solar/+"},
    {"ahoy_prefix": "roshanai/dtu"},
    {"serials": {"1234": "bad id"}},
])
def test_configuration_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Decoder(**kwargs)


FLEET_CSV = """\
plant_id,latitude,longitude,altitude_m,province,dc_kwp,ac_kw,tilt_deg,azimuth_deg,inverter_serial
ZNJ-000123,36.67,48.48,1660,Zanjan,5.0,5.0,30,180,114190641177
ZNJ-000124,36.67,48.48,1660,Zanjan,5.0,5.0,30,180,
THR-000001,35.7,51.4,1190,Tehran,5.0,5.0,30,180,116180000001;116180000002
"""


def test_serials_from_fleet() -> None:
    assert serials_from_fleet(parse_fleet(FLEET_CSV)) == {
        "114190641177": "ZNJ-000123", "116180000001": "THR-000001",
        "116180000002": "THR-000001"}
    with pytest.raises(ConfigError, match="114190641177"):
        serials_from_fleet(parse_fleet(FLEET_CSV.replace("116180000001", "114190641177")))


# -- OpenDTU ------------------------------------------------------------------------------------

SERIAL = "114190641177"
S = 1_000_000_000


def feed(decoder: Decoder, messages: list[tuple[str, str]], start_ns: int = NOW) -> Decoded:
    """Feed messages 1 ms apart, token = index; return everything decoded."""
    total = Decoded([], [], [])
    for i, (topic, payload) in enumerate(messages):
        total.extend(decoder.decode(topic, payload.encode(), i, start_ns + i * 1_000_000))
    return total


def opendtu_cycle(last_update_s: int, power_w: float, *, values: bool = True,
                  serial: str = SERIAL) -> list[tuple[str, str]]:
    """One publish interval of OpenDTU (MqttHandleInverter::loop order)."""
    p = f"solar/{serial}"
    head = [(f"{p}/name", "HM-800"), (f"{p}/status/limit_relative", "100.00"),
            (f"{p}/status/reachable", "1"), (f"{p}/status/producing", "1"),
            (f"{p}/status/last_update", str(last_update_s))]
    if not values:
        return head
    return [
        *head,
        (f"{p}/0/current", "2.66"), (f"{p}/0/efficiency", "95.1"), (f"{p}/0/frequency", "50.01"),
        (f"{p}/0/power", str(power_w)), (f"{p}/0/powerdc", "640"),
        (f"{p}/0/temperature", "41.5"), (f"{p}/0/voltage", "229.1"),
        (f"{p}/0/yieldday", "216"), (f"{p}/0/yieldtotal", "1234.567"),
        (f"{p}/1/name", "east"), (f"{p}/1/current", "9.1"), (f"{p}/1/power", "330.2"),
        (f"{p}/1/voltage", "36.3"), (f"{p}/1/yieldtotal", "600.1"), (f"{p}/2/current", "8.5"),
        (f"{p}/2/power", "310.0"), (f"{p}/2/voltage", "36.5"), (f"{p}/2/irradiation", "70"),
        ("solar/dtu/uptime", "1234"), ("solar/ac/power", "612"),
    ]


def test_opendtu_cycle_to_one_record() -> None:
    decoder = Decoder(serials={SERIAL: PLANT})
    ts0 = NOW // S - 5
    messages = opendtu_cycle(ts0, 612.3) + opendtu_cycle(ts0 + 5, 700.0)
    first_len = len(opendtu_cycle(ts0, 612.3))
    out = feed(decoder, messages)
    assert out.rejections == []
    assert out.records == [TelemetryRecord(
        plant_id=PLANT, ts_ns=ts0 * S, ac_power_w=612.3, ac_voltage_v=229.1,
        ac_current_a=2.66, ac_freq_hz=50.01, energy_total_wh=1234567.0,
        dc=(DcString(36.3, 9.1, 330.2), DcString(36.5, 8.5, 310.0)), temp_c=41.5,
        status="producing")]
    # Everything of the first cycle is accounted for; the second cycle's values are held.
    assert set(range(first_len)) <= set(out.tokens)
    held = [i for i in range(len(messages)) if i not in out.tokens]
    assert held
    assert min(held) >= first_len
    second = decoder.flush(NOW + 60 * S)
    assert [r.ts_ns for r in second.records] == [(ts0 + 5) * S]
    assert sorted(out.tokens + second.tokens) == list(range(len(messages)))
    assert decoder.pending() == 0


def test_opendtu_tokens_held_until_the_reading_completes() -> None:
    decoder = Decoder()
    p = f"solar/{PLANT}"
    assert decoder.decode(f"{p}/status/last_update", str(NOW // S).encode(), "a", NOW).tokens == []
    assert decoder.decode(f"{p}/0/power", b"100", "b", NOW).tokens == []
    assert decoder.decode(f"{p}/name", b"x", "c", NOW).tokens == ["c"]  # not part of a reading
    assert decoder.flush(NOW + 4 * S).tokens == []  # not old enough yet
    done = decoder.flush(NOW + 5 * S)
    assert done.tokens == ["a", "b"]
    assert [(r.plant_id, r.ts_ns, r.ac_power_w) for r in done.records] == [(PLANT, NOW, 100.0)]


def test_opendtu_without_last_update_uses_receive_time() -> None:
    decoder = Decoder()
    decoder.decode(f"solar/{PLANT}/0/power", b"5", 0, NOW + 987_654_321)
    out = decoder.flush(0, force=True)
    assert [r.ts_ns for r in out.records] == [NOW]


def test_opendtu_repeated_field_starts_a_new_reading() -> None:
    decoder = Decoder()
    out = feed(decoder, [(f"solar/{PLANT}/0/power", "1"), (f"solar/{PLANT}/0/voltage", "230"),
                         (f"solar/{PLANT}/0/power", "2")])
    assert [(r.ac_power_w, r.ac_voltage_v) for r in out.records] == [(1.0, 230.0)]
    assert out.tokens == [0, 1]


def test_opendtu_night_status_only_is_released_without_record() -> None:
    decoder = Decoder(serials={SERIAL: PLANT})
    out = feed(decoder, opendtu_cycle(NOW // S, 0, values=False)
               + opendtu_cycle(NOW // S, 0, values=False))
    flushed = decoder.flush(NOW + 10 * S)
    assert out.records == flushed.records == []
    assert sorted(out.tokens + flushed.tokens) == list(range(10))


def test_opendtu_status_mapping() -> None:
    decoder = Decoder()
    p = f"solar/{PLANT}"
    feed(decoder, [(f"{p}/status/reachable", "0"), (f"{p}/status/producing", "0"),
                   (f"{p}/0/power", "0")])
    assert decoder.flush(0, force=True).records[0].status == "off"
    feed(decoder, [(f"{p}/status/reachable", "1"), (f"{p}/status/producing", "0"),
                   (f"{p}/0/power", "0")])
    assert decoder.flush(0, force=True).records[0].status == "standby"


def test_opendtu_unmapped_serial_is_taken_as_plant_id() -> None:
    # The validator then refuses it as unknown_plant unless the fleet has such a plant.
    decoder = Decoder(serials={SERIAL: PLANT})
    out = feed(decoder, opendtu_cycle(NOW // S, 10, serial="999999999999"))
    out.extend(decoder.flush(0, force=True))
    assert [r.plant_id for r in out.records] == ["999999999999"]


def test_dtu_name_that_is_no_plant_id() -> None:
    decoder = Decoder(serials={SERIAL: PLANT})
    messages = ahoy_cycle("garage, left", NOW // S, 10, as_json=False)
    out = feed(decoder, messages)
    assert out.records == []
    assert [r.reason for r in out.rejections] == ["unknown_plant"]
    assert "'garage, left'" in out.rejections[0].detail
    assert out.rejections[0].plant_id is None
    assert sorted(out.tokens) == list(range(len(messages)))


@pytest.mark.parametrize(("value", "reason"), [
    ("abc", "bad_schema"), ("nan", "non_finite"), ("inf", "non_finite"), ("-Infinity",
                                                                         "non_finite"),
    ("1e999", "non_finite"), ("1_000", "bad_schema"), ("", "bad_schema"), ("\xff", "bad_schema"),
])
def test_opendtu_bad_value(value: str, reason: str) -> None:
    decoder = Decoder(serials={SERIAL: PLANT})
    rejection = only_rejection(decoder.decode(f"solar/{SERIAL}/0/power", value.encode(), "t",
                                              NOW))
    well_formed(rejection)
    assert (rejection.reason, rejection.plant_id) == (reason, PLANT)
    assert decoder.pending() == 0


def test_opendtu_last_update_zero_means_no_statistics() -> None:
    decoder = Decoder()
    assert decoder.decode(f"solar/{PLANT}/status/last_update", b"0", "t", NOW).tokens == ["t"]
    assert decoder.pending() == 0


# -- AhoyDTU ------------------------------------------------------------------------------------


def ahoy_cycle(name: str, ts_s: int, power_w: float, *, as_json: bool) -> list[tuple[str, str]]:
    """One publish of AhoyDTU (pubMqttIvData order), topic-per-value or JSON per channel."""
    p = f"inverter/{name}"
    head = [(f"{p}/available", "2"), (f"{p}/last_success", str(ts_s))]
    tail = [(f"{p}/radio_stat", '{"tx":1,"success":1}'), ("inverter/total/P_AC", str(power_w))]
    ch0 = {"U_AC": 229.5, "I_AC": 2.1, "P_AC": power_w, "F_AC": 49.98, "PF_AC": 1,
           "Temp": 35.2, "YieldTotal": 1.005, "YieldDay": 300, "P_DC": 500, "Efficiency": 95}
    ch1 = {"U_DC": 33.1, "I_DC": 7.7, "P_DC": 255.1, "YieldDay": 150, "Irradiation": 60}
    ch2 = {"U_DC": 33.4, "I_DC": 7.5, "P_DC": 250.5}
    if as_json:
        body = [(f"{p}/ch{n}", json.dumps(ch | {"ts": ts_s})) for n, ch in enumerate([ch0, ch1,
                                                                                     ch2])]
    else:
        body = [(f"{p}/ch{n}/{k}", str(v)) for n, ch in enumerate([ch0, ch1, ch2])
                for k, v in ch.items()]
    return head + body + tail


@pytest.mark.parametrize("as_json", [False, True])
def test_ahoy_cycle_to_one_record(as_json: bool) -> None:
    decoder = Decoder(serials={"HM-600 roof": PLANT})
    ts0 = NOW // S
    messages = ahoy_cycle("HM-600 roof", ts0, 480.0, as_json=as_json)
    out = feed(decoder, messages)
    assert out.rejections == []
    assert out.records == [TelemetryRecord(
        plant_id=PLANT, ts_ns=NOW, ac_power_w=480.0, ac_voltage_v=229.5, ac_current_a=2.1,
        ac_freq_hz=49.98, energy_total_wh=1005.0, temp_c=35.2, status="producing",
        dc=(DcString(33.1, 7.7, 255.1), DcString(33.4, 7.5, 250.5)))]
    assert sorted(out.tokens) == list(range(len(messages)))  # radio_stat completes it
    assert decoder.pending() == 0


def test_ahoy_json_new_ts_starts_a_new_reading() -> None:
    decoder = Decoder()
    out = feed(decoder, [(f"inverter/{PLANT}/ch0", json.dumps({"P_AC": 1, "ts": NOW // S})),
                         (f"inverter/{PLANT}/ch0", json.dumps({"P_AC": 2, "ts": NOW // S + 5}))])
    out.extend(decoder.flush(0, force=True))
    assert [(r.ts_ns, r.ac_power_w) for r in out.records] == [(NOW, 1.0), (NOW + 5 * S, 2.0)]


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{", "bad_schema"), (b'{"P_AC": "x"}', "bad_schema"), (b'{"P_AC": 1e999}', "non_finite"),
    (b'{"P_AC": 1, "ts": 3}', "bad_schema"), (b"[1]", "bad_schema"),
])
def test_ahoy_json_bad(payload: bytes, reason: str) -> None:
    rejection = only_rejection(Decoder().decode(f"inverter/{PLANT}/ch0", payload, "t", NOW))
    well_formed(rejection)
    assert rejection.reason == reason


def test_ahoy_status_mapping_is_sticky() -> None:
    decoder = Decoder()
    p = f"inverter/{PLANT}"
    feed(decoder, [(f"{p}/available", "0"), (f"{p}/ch0/P_AC", "0"), (f"{p}/radio_stat", "{}"),
                   (f"{p}/ch0/P_AC", "0"), (f"{p}/radio_stat", "{}")])
    assert decoder.pending() == 0
    out = feed(decoder, [(f"{p}/available", "4"), (f"{p}/ch0/P_AC", "1"),
                         (f"{p}/radio_stat", "{}")])
    assert [r.status for r in out.records] == ["standby"]


def test_ignored_topics_are_acknowledged_at_once() -> None:
    decoder = Decoder()
    for topic in ["solar/dtu/ip", "solar/ac/yieldtotal", "solar/123/device/hwversion",
                  "solar/123/cmd/limit_persistent_relative", "inverter/uptime",
                  "inverter/total/P_AC", "inverter/x/alarm/cnt", "inverter/x/firmware",
                  "inverter/x/ch0/YieldDay", "inverter/x/ch0/ALARM_MES_ID", "solar/123/0/yieldday"]:
        out = decoder.decode(topic, b"1", topic, NOW)
        assert out == Decoded([], [], [topic]), topic
    assert decoder.pending() == 0


# -- properties ---------------------------------------------------------------------------------

_topic_parts = st.sampled_from(["roshanai", "v1", "v2", "telemetry", PLANT, "solar", "inverter",
                                "status", "last_update", "reachable", "0", "1", "17", "ch0",
                                "ch1", "power", "P_AC", "U_DC", "last_success", "radio_stat",
                                "available", "rssi", "", "+", "a b", "x\n", "é"])
topics = st.one_of(st.text(max_size=40), st.lists(st.one_of(_topic_parts, st.text(max_size=6)),
                                                  min_size=1, max_size=6).map("/".join))
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                       st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10),
                       st.sampled_from([TS_MS, "2026-07-01T09:00:00Z", "producing"]))
_json_value = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from([*CANONICAL, "readings", "x"]), inner, max_size=6)),
    max_leaves=20)
payloads = st.one_of(
    st.binary(max_size=200),
    _json_value.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from([*CANONICAL, "readings"]), _json_value, max_size=8).map(
        lambda d: json.dumps({"v": 1} | d).encode()),
    st.sampled_from([b"NaN", b"1e999", b"-1", b"0", b"1782896400", b"{}", b'{"ts": 1}']),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(st.tuples(topics, payloads), min_size=1, max_size=8))
def test_decode_never_raises_and_accounts_for_every_message(
        messages: list[tuple[str, bytes]]) -> None:
    decoder = Decoder(max_payload_bytes=150)
    tokens: list[object] = []
    for i, (topic, payload) in enumerate(messages):
        out = decoder.decode(topic, payload, i, NOW + i)
        tokens += out.tokens
        for rejection in out.rejections:
            well_formed(rejection)
        for record in out.records:
            assert isinstance(record, TelemetryRecord)
    tokens += decoder.flush(NOW, force=True).tokens
    assert sorted(tokens) == list(range(len(messages)))  # each exactly once
    assert decoder.pending() == 0


@settings(max_examples=300, deadline=None)
@given(topic=st.text(), payload=st.binary())
def test_decode_arbitrary_topic_and_bytes(topic: str, payload: bytes) -> None:
    out = Decoder().decode(topic, payload, "t", NOW)
    for rejection in out.rejections:
        well_formed(rejection)
