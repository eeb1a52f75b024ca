"""Line protocol of checked records: the fast formatter writes exactly what format_point writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.points import (
    FIELD_COUNTER_RESET,
    MAX_DC_STRINGS,
    dc_field,
    record_fields,
    record_line,
)
from firmware_bridge.validate import Checked
from telemetry.lineprotocol import INT64_MAX, INT64_MIN, format_point, parse_line
from telemetry.record import STATUSES, DcString, TelemetryRecord
from telemetry.schema import INVERTER_FIELDS, MEASUREMENT_INVERTER

NOW = 1_782_896_400_000_000_000


def test_canonical_example_line() -> None:
    record = TelemetryRecord(
        plant_id="ZNJ-000123",
        ts_ns=NOW,
        seq=812,
        ac_power_w=3200.5,
        ac_voltage_v=228.1,
        ac_current_a=14.0,
        ac_freq_hz=50.01,
        energy_total_wh=1234567.0,
        dc=(DcString(350.1, 5.2, 1820.0), DcString(None, None, 900)),
        temp_c=41.2,
        status="producing",
        alarm_code=0,
        rssi_dbm=-71.0,
    )
    checked = Checked(record, {"province": "Zanjan", "plant_id": "ZNJ-000123"}, True)
    assert record_line(checked) == (
        "inverter,plant_id=ZNJ-000123,province=Zanjan ac_power_w=3200.5,ac_voltage_v=228.1,"
        "ac_current_a=14.0,ac_freq_hz=50.01,energy_total_wh=1234567.0,temp_c=41.2,"
        'status="producing",alarm_code=0i,rssi_dbm=-71.0,seq=812i,dc1_voltage_v=350.1,'
        "dc1_current_a=5.2,dc1_power_w=1820.0,dc2_power_w=900.0,counter_reset=true "
        "1782896400000000000"
    )


def test_field_names() -> None:
    assert dc_field(1, "voltage_v") == "dc1_voltage_v"
    assert dc_field(12, "power_w") == "dc12_power_w"
    assert FIELD_COUNTER_RESET == "counter_reset"
    assert not {
        dc_field(n, q)
        for n in range(1, MAX_DC_STRINGS + 1)
        for q in ("voltage_v", "current_a", "power_w")
    } & set(INVERTER_FIELDS)


_float = st.floats(allow_nan=False, allow_infinity=False)
_opt_float = st.one_of(st.none(), _float, st.integers(-(10**6), 10**6))
_opt_int = st.one_of(st.none(), st.integers(INT64_MIN, INT64_MAX))
_label = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters='\\"'), max_size=12
)
records = st.builds(
    TelemetryRecord,
    plant_id=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    ts_ns=st.integers(0, INT64_MAX),
    seq=_opt_int,
    ac_power_w=_opt_float,
    ac_voltage_v=_opt_float,
    ac_current_a=_opt_float,
    ac_freq_hz=_opt_float,
    energy_total_wh=_opt_float,
    temp_c=_opt_float,
    status=st.one_of(st.none(), st.sampled_from(STATUSES)),
    alarm_code=_opt_int,
    rssi_dbm=_opt_float,
    dc=st.lists(
        st.builds(DcString, _opt_float, _opt_float, _opt_float), max_size=MAX_DC_STRINGS + 2
    ).map(tuple),
)


@settings(max_examples=500, deadline=None)
@given(record=records, province=_label, counter_reset=st.booleans())
def test_record_line_equals_format_point_and_parses_back(
    record: TelemetryRecord, province: str, counter_reset: bool
) -> None:
    tags = {"plant_id": record.plant_id, "province": province}
    fields = record_fields(record, counter_reset)
    if not fields:
        return  # the validator refuses readings without values
    line = record_line(Checked(record, tags, counter_reset))
    assert line == format_point(MEASUREMENT_INVERTER, tags, fields, record.ts_ns)
    point = parse_line(line)
    assert point.fields == fields
    assert point.tags == {k: v for k, v in tags.items() if v}
    assert point.time_ns == record.ts_ns
    for key, value in fields.items():
        assert type(point.fields[key]) is type(value)
