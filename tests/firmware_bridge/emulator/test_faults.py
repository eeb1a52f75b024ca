"""Fault file, fault checks and random faults."""

from __future__ import annotations

import pandas as pd
import pytest

from firmware_bridge.emulator import synthetic_fleet
from firmware_bridge.emulator.faults import (
    DEFAULT_FAULT_RATES,
    FAULT_KINDS,
    Fault,
    parse_fault_rates,
    parse_faults,
    random_faults,
    read_faults,
    write_faults,
)
from telemetry.errors import InputError

HEAD = "plant_id,kind,start,end,severity,hours,alarm_code\n"


def test_fault_file_round_trip(tmp_path):
    text = HEAD + (
        "# a comment\n"
        "THR-000001,string_fault,2025-07-03T10:00+03:30,,0.5,,\n"
        "THR-000002,shading,2025-07-01T00:00Z,,0.6,15-18,\n"
        "THR-000003,inverter_fault,2025-07-05T09:30+03:30,2025-07-06T12:00+03:30,1,,301\n"
    )
    faults = parse_faults(text)
    assert [f.kind for f in faults] == ["string_fault", "shading", "inverter_fault"]
    assert faults[0].start == pd.Timestamp("2025-07-03T06:30Z")
    assert faults[0].end is None
    assert faults[1].hours == (15, 18)
    assert faults[2].alarm_code == 301
    lost = {faults[0]: 9.5}
    path = write_faults(faults, tmp_path / "truth.csv", lost_kwh_per_day=lost)
    back = read_faults(path)
    assert back == faults
    frame = pd.read_csv(path)
    assert frame["lost_kwh_per_day"].tolist()[0] == 9.5
    assert frame["lost_kwh_per_day"].isna().tolist()[1:] == [True, True]


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ("THR-1,dusty,2025-07-01T00:00Z,,0.5,,", "line 2, column kind"),
        ("THR 1,soiling,2025-07-01T00:00Z,,0.5,,", "line 2, column plant_id"),
        ("THR-1,soiling,2025-07-01T00:00,,0.01,,", "line 2, column start"),
        ("THR-1,soiling,2025-07-01T00:00Z,2025-06-01T00:00Z,0.01,,", "line 2, column end"),
        ("THR-1,soiling,2025-07-01T00:00Z,,lots,,", "line 2, column severity"),
        ("THR-1,string_fault,2025-07-01T00:00Z,,1.5,,", "line 2, column severity"),
        ("THR-1,offline,2025-07-01T00:00Z,,0.5,,", "line 2, column severity"),
        ("THR-1,shading,2025-07-01T00:00Z,,0.5,,", "line 2, column hours"),
        ("THR-1,shading,2025-07-01T00:00Z,,0.5,18-15,", "line 2, column hours"),
        ("THR-1,shading,2025-07-01T00:00Z,,0.5,morning,", "line 2, column hours"),
        ("THR-1,inverter_fault,2025-07-01T00:00Z,,1,,x", "line 2, column alarm_code"),
        ("THR-1,soiling,2025-07-01T00:00Z,,0.01,,301", "line 2, column alarm_code"),
        ("THR-1,soiling,2025-07-01T00:00Z,,0.01", "line 2: 5 fields, the header has 7"),
    ],
)
def test_bad_fault_rows_name_line_and_column(row, where):
    with pytest.raises(InputError) as exc:
        parse_faults(HEAD + row + "\n", source="f.csv")
    message = str(exc.value)
    assert message.startswith("f.csv " + where), message
    assert "\n" not in message


def test_bad_fault_files():
    with pytest.raises(InputError, match="line 1: missing column"):
        parse_faults("plant_id,kind,start\n", source="f.csv")
    with pytest.raises(InputError, match="unknown column 'colour'"):
        parse_faults("plant_id,kind,start,end,severity,colour\n", source="f.csv")
    with pytest.raises(InputError, match="empty file"):
        parse_faults("# nothing\n", source="f.csv")
    overlap = (
        "THR-1,offline,2025-07-01T00:00Z,2025-07-03T00:00Z,1,,\n"
        "THR-1,offline,2025-07-02T00:00Z,,1,,\n"
    )
    with pytest.raises(InputError, match="line 3, column start: overlaps the offline of THR-1"):
        parse_faults(HEAD + overlap, source="f.csv")


def test_read_faults_refuses_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read the fault file"):
        read_faults(tmp_path / "nope.csv")


def test_fault_checks_itself():
    t = pd.Timestamp("2025-07-01", tz="UTC")
    with pytest.raises(InputError, match="needs a UTC offset"):
        Fault("A", "offline", pd.Timestamp("2025-07-01"), None, 1.0)
    with pytest.raises(InputError, match="kind must be one of"):
        Fault("A", "fire", t, None, 1.0)
    f = Fault("A", "soiling", pd.Timestamp("2025-07-01T03:30+03:30"), None, 0.01)
    assert f.start == t
    assert str(f.start.tz) == "UTC"


def test_fault_rates_option():
    rates = parse_fault_rates("offline=0.02, string_fault=0.03")
    assert rates["offline"] == 0.02
    assert rates["string_fault"] == 0.03
    assert rates["soiling"] == 0
    for bad, why in [
        ("fire=0.1", "not one of"),
        ("offline", "not KIND=RATE"),
        ("offline=x", "not a number"),
        ("offline=1.5", r"in \[0, 1\]"),
        ("offline=0.6,soiling=0.6", "sum to 1.2"),
    ]:
        with pytest.raises(InputError, match=why):
            parse_fault_rates(bad)


def test_random_faults_deterministic_at_their_rates():
    fleet = synthetic_fleet(2000, seed=3)
    start, end = pd.Timestamp("2025-07-01", tz="UTC"), pd.Timestamp("2025-07-15", tz="UTC")
    a = random_faults(fleet, start, end, seed=5)
    assert a == random_faults(fleet, start, end, seed=5)
    assert a != random_faults(fleet, start, end, seed=6)
    ids = [f.plant_id for f in a]
    assert len(ids) == len(set(ids))  # one fault a plant at most
    counts = pd.Series([f.kind for f in a]).value_counts()
    for kind, rate in DEFAULT_FAULT_RATES.items():
        assert abs(counts.get(kind, 0) - rate * 2000) < 4 * (rate * 2000) ** 0.5 + 3, kind
    for f in a:
        assert start <= f.start < end
        assert f.end is None or f.start < f.end < end
        assert f.start == f.start.floor("30min")
        if f.kind == "inverter_fault":
            assert 8 <= f.start.tz_convert("Asia/Tehran").hour < 15
            assert f.alarm_code
        if f.kind == "shading":
            assert f.hours is not None
            assert f.hours[1] - f.hours[0] in (2, 3)
    only = random_faults(fleet, start, end, rates={"offline": 0.5}, seed=5)
    assert {f.kind for f in only} == {"offline"}
    assert 850 < len(only) < 1150
    assert set(FAULT_KINDS) == set(DEFAULT_FAULT_RATES)
