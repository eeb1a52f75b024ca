"""Fleet file contract: defaults, and one clear message naming the line and column."""

from __future__ import annotations

import numpy as np
import pytest

from telemetry.errors import FleetFileError
from telemetry.registry import (
    DEFAULT_LOSSES_PCT,
    load_sample_fleet,
    lookup_altitude_m,
    parse_fleet,
    read_fleet,
)

HEADER = "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg"
GOOD = "THR-000001,35.70,51.40,5,5,30,180"


def fleet(*rows: str, header: str = HEADER):
    return parse_fleet("\n".join([header, *rows]) + "\n", source="f.csv")


def test_defaults_applied():
    f = fleet(GOOD)
    p = f.plants.iloc[0]
    assert p.racking == "open_rack"
    assert p.inverter_type == "grid_tied"
    assert p.gamma_pdc_per_c == -0.004
    assert p.losses_pct == pytest.approx(DEFAULT_LOSSES_PCT)
    assert p.battery_kwh == 0
    assert np.isnan(p.essential_load_w)
    assert 1000 < p.altitude_m < 1400  # Tehran, from pvlib's map


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("A,95,51,5,5,30,180", "f.csv line 2, column latitude: 95 is outside [-90, 90]"),
        ("A,35,51,-5,5,30,180", "line 2, column dc_kwp: -5 is outside (0,"),
        ("A,35,51,5,5,120,180", "line 2, column tilt_deg: 120 is outside [0, 90]"),
        ("A,35,51,5,5,30,abc", "line 2, column azimuth_deg: 'abc' is not a number"),
        ("A,35,51,5,5,30,inf", "line 2, column azimuth_deg: 'inf' is not a finite number"),
        ("A B,35,51,5,5,30,180", "line 2, column plant_id: 'A B' is not a plant_id"),
        (",35,51,5,5,30,180", "line 2, column plant_id: required value is empty"),
        ("A,35,51,5,5,30", "line 2: 6 fields, the header has 7"),
    ],
)
def test_bad_values_named_by_line_and_column(row, expected):
    with pytest.raises(FleetFileError) as exc:
        fleet(row)
    assert expected in str(exc.value)
    assert "\n" not in str(exc.value)


def test_duplicate_plant_id():
    with pytest.raises(
        FleetFileError,
        match=r"line 3, column plant_id: duplicate plant_id 'A' "
        r"\(first on line 2\)",
    ):
        fleet("A,35,51,5,5,30,180", "A,36,51,5,5,30,180")


def test_counts_the_other_problems():
    with pytest.raises(FleetFileError, match=r"\(and 2 more problems\)"):
        fleet("A,95,51,5,5,30,180", "B,35,51,5,5,120,180", "C,35,51,5,5,30,400")


def test_line_numbers_skip_blank_and_comment_lines():
    with pytest.raises(FleetFileError, match="line 4, column tilt_deg"):
        fleet("# a comment", "", "A,35,51,5,5,120,180")


def test_missing_column_and_separator_hint():
    with pytest.raises(FleetFileError, match=r"missing required column.*tilt_deg"):
        fleet("A,35,51,5,5,180", header="plant_id,latitude,longitude,dc_kwp,ac_kw,azimuth_deg")
    with pytest.raises(FleetFileError, match="separated by ';'"):
        fleet("A;35;51;5;5;30;180", header=HEADER.replace(",", ";"))


def test_enums_and_labels():
    h = HEADER + ",racking,inverter_type,province"
    with pytest.raises(FleetFileError, match="column racking: 'roof' is not one of"):
        fleet(GOOD + ",roof,grid_tied,Tehran", header=h)
    with pytest.raises(FleetFileError, match="column province"):
        fleet(GOOD + ',open_rack,hybrid,"Teh""ran"', header=h)
    f = fleet(GOOD + ",close_mount,hybrid,Tehran", header=h)
    assert f.plants.racking[0] == "close_mount"


def test_extra_columns_kept_as_text():
    f = fleet(GOOD + ",note", header=HEADER + ",remark")
    assert f.plants.remark[0] == "note"


def test_file_errors(tmp_path):
    with pytest.raises(FleetFileError, match="not found"):
        read_fleet(tmp_path / "nope.csv")
    bad = tmp_path / "latin1.csv"
    bad.write_bytes((HEADER + "\n" + GOOD + ",\xe9\n").encode("latin-1"))
    with pytest.raises(FleetFileError, match="line 2: not UTF-8"):
        read_fleet(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FleetFileError, match="empty file"):
        read_fleet(empty)
    only_header = tmp_path / "h.csv"
    only_header.write_text(HEADER + "\n")
    with pytest.raises(FleetFileError, match="no plants"):
        read_fleet(only_header)


def test_bom_accepted(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n" + GOOD + "\n").encode())
    assert read_fleet(p).plant_ids == ["THR-000001"]


def test_altitude_lookup_equals_pvlib():
    import pvlib

    rng = np.random.default_rng(1)
    lat = rng.uniform(-89.9, 89.9, 200)
    lon = rng.uniform(-179.9, 179.9, 200)
    ours = lookup_altitude_m(lat, lon)
    ref = [pvlib.location.lookup_altitude(a, o) for a, o in zip(lat, lon, strict=True)]
    np.testing.assert_array_equal(ours, ref)


def test_sample_fleet_is_valid_and_iranian():
    f = load_sample_fleet()
    p = f.plants
    assert 24 <= len(f) <= 100
    assert p.province.nunique() >= 8
    assert p.latitude.between(25, 40).all()
    assert p.longitude.between(44, 64).all()
    assert p.tilt_deg.between(20, 35).all()
    assert p.azimuth_deg.between(150, 210).all()


def test_fleet_from_records() -> None:
    from telemetry.registry import Fleet

    fleet = Fleet.from_records(
        [
            {
                "plant_id": "A-1",
                "latitude": 35.7,
                "longitude": 51.4,
                "dc_kwp": 5,
                "ac_kw": 5,
                "tilt_deg": 30,
                "azimuth_deg": 180,
                "province": "Tehran",
                "losses_pct": None,
            },
            {
                "plant_id": "A-2",
                "latitude": 35.7,
                "longitude": 51.4,
                "dc_kwp": 5,
                "ac_kw": 4.6,
                "tilt_deg": 25,
                "azimuth_deg": 175,
                "outage_zone": "Z1, east",
            },
        ],
        source="site options",
    )
    assert fleet.plant_ids == ["A-1", "A-2"]
    assert fleet.plants["outage_zone"].tolist() == ["", "Z1, east"]  # a comma stays a value
    assert fleet.plants["losses_pct"].iloc[0] == pytest.approx(14.075660688264469)
    with pytest.raises(FleetFileError, match="site options line 2, column tilt_deg"):
        Fleet.from_records(
            [
                {
                    "plant_id": "A",
                    "latitude": 1,
                    "longitude": 1,
                    "dc_kwp": 1,
                    "ac_kw": 1,
                    "tilt_deg": 120,
                    "azimuth_deg": 180,
                }
            ],
            source="site options",
        )
