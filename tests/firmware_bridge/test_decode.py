"""Decoders: canonical JSON (and, in the property tests, every layout) → records; every
bad-input class → a reason. The OpenDTU/AhoyDTU semantics are in ``test_dtu.py``.

Golden cases name the reason code each kind of bad input gets; property tests feed arbitrary
topics and bytes and check the decoder never raises and accounts for every message once.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_bridge.decode import DEFAULT_MAX_PAYLOAD_BYTES, REASONS, Decoded, Decoder, Rejection
from firmware_bridge.rejection import DETAIL_MAX_CHARS
from telemetry.errors import ConfigError
from telemetry.record import DcString, TelemetryRecord

NOW = 1_782_896_400_000_000_000  # 2026-07-01T09:00:00Z [ns]
TS_MS = NOW // 1_000_000
PLANT = "ZNJ-000123"
TOPIC = f"roshanai/v1/{PLANT}/telemetry"

CANONICAL = {
    "v": 1,
    "plant_id": PLANT,
    "ts": "2026-07-01T09:00:00Z",
    "seq": 812,
    "ac_power_w": 3200.5,
    "ac_voltage_v": 228.1,
    "ac_current_a": 14.0,
    "ac_freq_hz": 50.01,
    "energy_total_wh": 1234567,
    "dc": [{"v": 350.1, "a": 5.2, "w": 1820.0}],
    "temp_c": 41.2,
    "status": "producing",
    "alarm_code": 0,
    "rssi_dbm": -71,
}
EXPECTED = TelemetryRecord(
    plant_id=PLANT,
    ts_ns=NOW,
    seq=812,
    ac_power_w=3200.5,
    ac_voltage_v=228.1,
    ac_current_a=14.0,
    ac_freq_hz=50.01,
    energy_total_wh=1234567.0,
    dc=(DcString(350.1, 5.2, 1820.0),),
    temp_c=41.2,
    status="producing",
    alarm_code=0,
    rssi_dbm=-71.0,
)


def js(obj: object) -> bytes:
    return json.dumps(obj).encode()


def decode(
    payload: bytes, topic: str = TOPIC, decoder: Decoder | None = None, token: object = "t"
) -> Decoded:
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


@pytest.mark.parametrize(
    "ts", [TS_MS, float(TS_MS), "2026-07-01T12:30:00+03:30", "2026-07-01T09:00:00.000Z"]
)
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
    readings = [
        {"ts": TS_MS + i * 60_000, "ac_power_w": float(i), "energy_total_wh": 1000 + i}
        for i in range(360)
    ]
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
        ("bad_schema", "reading 1"),
        ("bad_schema", "reading 2"),
        ("bad_schema", "reading 3"),
        ("bad_schema", "reading 4"),
        ("plant_mismatch", "reading 5"),
    ]
    assert out.tokens == ["t"]
    for r in out.rejections:
        well_formed(r)
        assert r.plant_id == PLANT


@pytest.mark.parametrize("bad", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"])
def test_batch_non_finite_reading_rejected_alone(bad: bytes) -> None:
    payload = (
        b'{"v": 1, "readings": [{"ts": %d, "ac_power_w": 1.0}, '
        b'{"ts": %d, "dc": [{"v": 300, "w": %s}]}]}' % (TS_MS, TS_MS + 1, bad)
    )
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
    (
        "string instead of number",
        TOPIC,
        js(GOOD | {"ac_power_w": "3200"}),
        "bad_schema",
        "ac_power_w",
    ),
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
    (
        "NaN token",
        TOPIC,
        b'{"v": 1, "ts": %d, "ac_power_w": NaN}' % TS_MS,
        "non_finite",
        "ac_power_w",
    ),
    (
        "Infinity token",
        TOPIC,
        b'{"v": 1, "ts": %d, "temp_c": Infinity}' % TS_MS,
        "non_finite",
        "temp_c",
    ),
    (
        "-Infinity token",
        TOPIC,
        b'{"v": 1, "ts": %d, "rssi_dbm": -Infinity}' % TS_MS,
        "non_finite",
        "rssi_dbm",
    ),
    (
        "1e999",
        TOPIC,
        b'{"v": 1, "ts": %d, "energy_total_wh": 1e999}' % TS_MS,
        "non_finite",
        "energy_total_wh",
    ),
    (
        "NaN in a DC string",
        TOPIC,
        b'{"v": 1, "ts": %d, "dc": [{"v": NaN}]}' % TS_MS,
        "non_finite",
        "dc[0].v",
    ),
    (
        "payload/topic plant_id mismatch",
        TOPIC,
        js(GOOD | {"plant_id": "ZNJ-000999"}),
        "plant_mismatch",
        "ZNJ-000999",
    ),
    (
        "payload plant_id injection",
        TOPIC,
        js(GOOD | {"plant_id": "x\nevil=1"}),
        "plant_mismatch",
        "\\n",
    ),
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
    (
        "non-UTF-8 inside a string",
        TOPIC,
        b'{"v": 1, "ts": %d, "status": "\xc3("}' % TS_MS,
        "non_utf8",
        "byte",
    ),
    (
        "oversized payload",
        TOPIC,
        b" " * (DEFAULT_MAX_PAYLOAD_BYTES + 1),
        "oversized",
        str(DEFAULT_MAX_PAYLOAD_BYTES + 1),
    ),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "words"),
    [case[1:] for case in GOLDEN],
    ids=[case[0] for case in GOLDEN],
)
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
    assert (
        decode(
            js({"v": 1, "readings": [GOOD] * 3}), decoder=Decoder(max_batch_readings=3)
        ).rejections
        == []
    )


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
        "roshanai/v1/+/telemetry",
        "home/dtu/#",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"opendtu_prefix": "x", "ahoy_prefix": "x/"},
        {"opendtu_prefix": "solar/+"},
        {"ahoy_prefix": "roshanai/dtu"},
        {"serials": {"1234": "bad id"}},
    ],
)
def test_configuration_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Decoder(**kwargs)


# -- properties ---------------------------------------------------------------------------------

_topic_parts = st.sampled_from(
    [
        "roshanai",
        "v1",
        "v2",
        "telemetry",
        PLANT,
        "solar",
        "inverter",
        "status",
        "last_update",
        "reachable",
        "0",
        "1",
        "17",
        "ch0",
        "ch1",
        "power",
        "P_AC",
        "U_DC",
        "last_success",
        "radio_stat",
        "available",
        "rssi",
        "",
        "+",
        "a b",
        "x\n",
        "é",
    ]
)
topics = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(_topic_parts, st.text(max_size=6)), min_size=1, max_size=6).map("/".join),
)
_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
    st.sampled_from([TS_MS, "2026-07-01T09:00:00Z", "producing"]),
)
_json_value = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from([*CANONICAL, "readings", "x"]), inner, max_size=6),
    ),
    max_leaves=20,
)
payloads = st.one_of(
    st.binary(max_size=200),
    _json_value.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from([*CANONICAL, "readings"]), _json_value, max_size=8).map(
        lambda d: json.dumps({"v": 1} | d).encode()
    ),
    st.sampled_from([b"NaN", b"1e999", b"-1", b"0", b"1782896400", b"{}", b'{"ts": 1}']),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(st.tuples(topics, payloads), min_size=1, max_size=8))
def test_decode_never_raises_and_accounts_for_every_message(
    messages: list[tuple[str, bytes]],
) -> None:
    decoder = Decoder(max_payload_bytes=1024)
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


def test_retained_canonical_message_is_not_history() -> None:
    # A gateway's retained message replayed at (re)subscription: status only, never a point.
    out = Decoder().decode(TOPIC, js(CANONICAL), "t", NOW, retained=True)
    assert (out.records, out.rejections, out.tokens, out.stale) == ([], [], ["t"], 1)
