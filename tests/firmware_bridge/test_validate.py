"""Validation: physics and fleet limits, the energy counter, and what reaches line protocol."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.decode import REASONS, Decoder, Rejection
from firmware_bridge.points import record_fields, record_line
from firmware_bridge.rejection import DETAIL_MAX_CHARS
from firmware_bridge.validate import Checked, Validator
from telemetry.lineprotocol import parse_line
from telemetry.record import DcString, TelemetryRecord
from telemetry.registry import Fleet, parse_fleet

NOW = 1_782_896_400_000_000_000  # 2026-07-01T09:00:00Z [ns]
S = 1_000_000_000
DAY = 86_400 * S

FLEET = parse_fleet("""\
plant_id,latitude,longitude,altitude_m,province,dc_kwp,ac_kw,tilt_deg,azimuth_deg
ZNJ-000123,36.67,48.48,1660,Zanjan,5.0,4.0,30,180
THR-000001,35.7,51.4,1190,"Tehran, North = 1",6.0,5.0,30,180
NOP-000001,35.7,51.4,1190,,5.0,5.0,30,180
""")
PLANT = "ZNJ-000123"


def rec(**kwargs: object) -> TelemetryRecord:
    values: dict = {"plant_id": PLANT, "ts_ns": NOW, "ac_power_w": 1000.0}
    values.update(kwargs)
    return TelemetryRecord(**values)


@pytest.fixture
def validator() -> Validator:
    return Validator(FLEET)


def rejected(result: Checked | Rejection, reason: str) -> Rejection:
    assert isinstance(result, Rejection), result
    assert result.reason == reason, result
    assert result.reason in REASONS
    assert "\n" not in result.detail
    assert len(result.detail) <= DETAIL_MAX_CHARS
    return result


def test_good_record_gets_fleet_tags(validator: Validator) -> None:
    checked = validator.check(rec(), NOW)
    assert checked == Checked(rec(), {"plant_id": PLANT, "province": "Zanjan"}, False)
    assert validator.check(rec(plant_id="NOP-000001"), NOW).tags == {"plant_id": "NOP-000001"}


def test_unknown_plant(validator: Validator) -> None:
    result = rejected(validator.check(rec(plant_id="ZNJ-999999"), NOW), "unknown_plant")
    assert result.plant_id == "ZNJ-999999"


def test_without_fleet_any_valid_id_is_accepted() -> None:
    validator = Validator(None)
    assert validator.check(rec(plant_id="anything_1"), NOW).tags == {"plant_id": "anything_1"}
    rejected(validator.check(rec(plant_id="a b"), NOW), "bad_tag")
    rejected(validator.check(rec(plant_id="x\ny"), NOW), "bad_tag")
    rejected(validator.check(rec(ac_power_w=100_001 * 1.5), NOW), "out_of_range")


@pytest.mark.parametrize(
    "field",
    [
        "ac_power_w",
        "ac_voltage_v",
        "ac_current_a",
        "ac_freq_hz",
        "energy_total_wh",
        "temp_c",
        "rssi_dbm",
    ],
)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite(validator: Validator, field: str, value: float) -> None:
    result = rejected(validator.check(rec(**{field: value}), NOW), "non_finite")
    assert field in result.detail


@pytest.mark.parametrize(
    "dc",
    [DcString(math.nan, 1.0, 1.0), DcString(1.0, math.inf, 1.0), DcString(1.0, 1.0, -math.inf)],
)
def test_non_finite_dc(validator: Validator, dc: DcString) -> None:
    rejected(validator.check(rec(dc=(DcString(300.0, 1.0, 100.0), dc)), NOW), "non_finite")


def test_non_finite_wins_over_out_of_range(validator: Validator) -> None:
    rejected(validator.check(rec(ac_power_w=1e9, temp_c=math.nan), NOW), "non_finite")


# ZNJ-000123: dc 5 kWp, ac 4 kW → ac limit 1.5 × 5000 W, dc limit 1.5 × 5000 W.
OUT_OF_RANGE = [
    ("ac_power_w", 7500.1, "7500"),
    ("ac_power_w", -50.1, "-50"),
    ("ac_voltage_v", 300.1, "300"),
    ("ac_voltage_v", -1.0, "0"),
    ("ac_current_a", 1e4, "1000"),
    ("ac_freq_hz", 44.9, "45"),
    ("ac_freq_hz", 55.1, "55"),
    ("temp_c", -40.1, "-40"),
    ("temp_c", 120.1, "120"),
    ("energy_total_wh", -1.0, "0"),
    ("energy_total_wh", 1.1e10, "1e+10"),
    ("rssi_dbm", 0.5, "0"),
    ("rssi_dbm", -151.0, "-150"),
    ("seq", 2**63, "int64"),
    ("alarm_code", -(2**63) - 1, "int64"),
]


@pytest.mark.parametrize(("field", "value", "limit"), OUT_OF_RANGE)
def test_out_of_range(validator: Validator, field: str, value: float, limit: str) -> None:
    result = rejected(validator.check(rec(**{field: value}), NOW), "out_of_range")
    assert field in result.detail
    assert repr(value) in result.detail
    assert limit in result.detail


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ac_power_w", 7500.0),
        ("ac_power_w", -50.0),
        ("ac_freq_hz", 0.0),
        ("ac_freq_hz", 45.0),
        ("ac_voltage_v", 0.0),
        ("ac_voltage_v", 300.0),
        ("temp_c", -40.0),
        ("rssi_dbm", 0.0),
        ("energy_total_wh", 0.0),
        ("seq", 2**63 - 1),
        ("alarm_code", 0),
    ],
)
def test_limits_inclusive(validator: Validator, field: str, value: float) -> None:
    assert isinstance(validator.check(rec(**{field: value}), NOW), Checked)


def test_power_limit_uses_larger_rating_and_margin() -> None:
    # THR-000001: dc 6 kWp, ac 5 kW → 1.5 × 6000 W.
    assert isinstance(
        Validator(FLEET).check(rec(plant_id="THR-000001", ac_power_w=9000.0), NOW), Checked
    )
    rejected(
        Validator(FLEET, power_margin=1.2).check(
            rec(plant_id="THR-000001", ac_power_w=9000.0), NOW
        ),
        "out_of_range",
    )


@pytest.mark.parametrize(
    ("dc", "words"),
    [
        ((DcString(1000.1, 1.0, 100.0),), "dc[1].voltage_v"),
        ((DcString(300.0, 1.0, 100.0), DcString(-0.1, 1.0, 100.0)), "dc[2].voltage_v"),
        ((DcString(300.0, 1.0, 7500.1),), "dc[1].power_w"),
        ((DcString(300.0, 1.0, -51.0),), "dc[1].power_w"),
        ((DcString(300.0, 1.0, 4000.0), DcString(300.0, 1.0, 4000.0)), "sum"),
    ],
)
def test_dc_out_of_range(validator: Validator, dc: tuple[DcString, ...], words: str) -> None:
    result = rejected(validator.check(rec(dc=dc), NOW), "out_of_range")
    assert words in result.detail


def test_future_and_past(validator: Validator) -> None:
    assert isinstance(validator.check(rec(ts_ns=NOW + 600 * S), NOW), Checked)
    result = rejected(validator.check(rec(ts_ns=NOW + 601 * S), NOW), "future_ts")
    assert "2026-07-01T09:10:01" in result.detail
    assert isinstance(validator.check(rec(ts_ns=NOW - 400 * DAY), NOW), Checked)
    rejected(validator.check(rec(ts_ns=NOW - 400 * DAY - 1), NOW), "out_of_range")
    rejected(Validator(FLEET, max_future_s=0).check(rec(ts_ns=NOW + 1), NOW), "future_ts")


@pytest.mark.parametrize(
    "record",
    [
        rec(status="exploded"),
        rec(status="producing\n"),
        rec(ac_power_w=None),
        rec(ac_power_w=None, dc=(DcString(),)),
        rec(dc=(DcString(1.0, 1.0, 1.0),) * 17),
        rec(seq=1.5),
        rec(ac_power_w="1000"),
        rec(ts_ns=float(NOW)),
    ],
)
def test_bad_schema(validator: Validator, record: TelemetryRecord) -> None:
    rejected(validator.check(record, NOW), "bad_schema")


# -- energy counter -----------------------------------------------------------------------------


def energies(validator: Validator, readings: list[tuple[int, float]]) -> list[bool]:
    out = []
    for minute, energy in readings:
        checked = validator.check(
            rec(ts_ns=NOW - DAY + minute * 60 * S, energy_total_wh=energy), NOW
        )
        assert isinstance(checked, Checked)
        out.append(checked.counter_reset)
    return out


def test_counter_forward_is_not_flagged(validator: Validator) -> None:
    assert energies(validator, [(0, 100.0), (1, 100.0), (2, 101.0), (3, 150.0)]) == [False] * 4


def test_counter_backwards_kept_and_flagged(validator: Validator) -> None:
    assert energies(validator, [(0, 1000.0), (1, 1010.0), (2, 5.0), (3, 6.0)]) == [
        False,
        False,
        True,
        False,
    ]


def test_backfill_with_older_ts_is_not_a_reset(validator: Validator) -> None:
    # Live readings after a power cut arrive first, then the gateway's buffered six hours.
    live = [(400, 2000.0), (401, 2001.0)]
    backfill = [(m, 1000.0 + m) for m in range(10, 370)]
    assert energies(validator, live + backfill + [(402, 2002.0)]) == [False] * 363


def test_reset_inside_a_backfill_is_flagged(validator: Validator) -> None:
    flags = energies(validator, [(400, 60.0), (10, 1000.0), (11, 1001.0), (12, 3.0), (13, 4.0)])
    assert flags == [False, False, False, True, False]


def test_redelivery_is_not_a_reset(validator: Validator) -> None:
    assert (
        energies(validator, [(0, 10.0), (1, 20.0), (0, 10.0), (1, 20.0), (2, 30.0)]) == [False] * 5
    )


def test_rejected_readings_do_not_move_the_counter(validator: Validator) -> None:
    energies(validator, [(0, 100.0)])
    rejected(
        validator.check(rec(ts_ns=NOW - DAY + 60 * S, energy_total_wh=5.0, temp_c=500.0), NOW),
        "out_of_range",
    )
    assert energies(validator, [(2, 101.0)]) == [False]


def test_counter_state_round_trip(validator: Validator) -> None:
    energies(validator, [(0, 100.0), (5, 200.0)])
    state = json.loads(json.dumps(validator.counter_state()))
    restored = Validator(FLEET)
    assert (
        restored.load_counter_state(
            state | {"bad": [1], "worse": "x", "nan": [1, math.nan, 1, 1.0]}
        )
        == 1
    )
    assert energies(restored, [(6, 150.0)]) == [True]
    assert restored.load_counter_state([]) == 0  # type: ignore[arg-type]


# -- tags and lines -----------------------------------------------------------------------------


def test_registry_tag_values_are_sanitised() -> None:
    plants = FLEET.plants.copy()
    plants["province"] = ["Zan\njan", 'Teh"ran\\', math.nan]
    validator = Validator(Fleet(plants, "test"))
    for plant_id, province in [("ZNJ-000123", "Zan_jan"), ("THR-000001", "Teh_ran_")]:
        checked = validator.check(rec(plant_id=plant_id), NOW)
        assert checked.tags["province"] == province
        assert parse_line(record_line(checked)).tags["province"] == province
    assert validator.check(rec(plant_id="NOP-000001"), NOW).tags == {"plant_id": "NOP-000001"}


def test_tags_with_line_protocol_specials_round_trip(validator: Validator) -> None:
    checked = validator.check(rec(plant_id="THR-000001"), NOW)
    line = record_line(checked)
    assert line.startswith(r"inverter,plant_id=THR-000001,province=Tehran\,\ North\ \=\ 1 ")
    point = parse_line(line)
    assert point.tags == {"plant_id": "THR-000001", "province": "Tehran, North = 1"}


def test_tags_are_a_fresh_dict(validator: Validator) -> None:
    first = validator.check(rec(), NOW)
    first.tags["province"] = "changed"
    assert validator.check(rec(), NOW).tags["province"] == "Zanjan"


def _number(low: float, high: float) -> st.SearchStrategy[float]:
    """Mostly plausible values (so most readings pass), sometimes any finite float."""
    return st.one_of(
        st.floats(low, high), st.floats(low, high), st.floats(allow_nan=False, allow_infinity=False)
    )


readings = st.fixed_dictionaries(
    {"ts": st.integers(NOW // 1_000_000 - 86_400_000, NOW // 1_000_000)},
    optional={
        "seq": st.one_of(st.integers(0, 2**63 - 1), st.integers(-(2**70), 2**70)),
        "ac_power_w": _number(-50, 7500),
        "ac_voltage_v": _number(0, 300),
        "ac_current_a": _number(-1000, 1000),
        "ac_freq_hz": st.one_of(st.just(0.0), _number(45, 55)),
        "energy_total_wh": _number(0, 1e10),
        "temp_c": _number(-40, 120),
        "rssi_dbm": _number(-150, 0),
        "alarm_code": st.integers(-(2**64), 2**64),
        "status": st.sampled_from(
            ["producing", "standby", "off", "fault", "starting", "unknown", "x"]
        ),
        "dc": st.lists(
            st.fixed_dictionaries(
                {}, optional={"v": _number(0, 1000), "a": _number(-20, 20), "w": _number(-50, 2000)}
            ),
            max_size=3,
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    batch=st.lists(readings, min_size=1, max_size=5),
    plant_id=st.sampled_from(["ZNJ-000123", "THR-000001", "NOP-000001"]),
)
def test_every_line_parses_back_to_the_record(batch: list[dict], plant_id: str) -> None:
    """decode → validate → line: one point per line, fields equal to the record's."""
    validator = Validator(FLEET)
    out = Decoder().decode(
        f"roshanai/v1/{plant_id}/telemetry",
        json.dumps({"v": 1, "readings": batch}).encode(),
        "t",
        NOW,
    )
    assert len(out.records) + len(out.rejections) == len(batch)
    for record in out.records:
        checked = validator.check(record, NOW)
        if isinstance(checked, Rejection):
            assert checked.reason in ("out_of_range", "bad_schema")
            continue
        point = parse_line(record_line(checked))
        assert point.measurement == "inverter"
        assert point.tags == checked.tags
        assert point.time_ns == record.ts_ns
        assert point.fields == record_fields(record, checked.counter_reset)
        assert pd.Series(point.fields).notna().all()
