"""The named cut calendars: every default value, its source and date; the generator's rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from simulate.outages import SCENARIOS, parse_schedule, scenario_parameters, scenario_schedule
from telemetry.calendar import hijri_month_start
from telemetry.errors import InputError

# scenario, field, value, the source it rests on (key in the scenario's sources, or
# "assumption"): a change of any value must go with a fresh look at that source.
DEFAULTS = [
    ("summer-2025", "first_day", "2025-05-10", "afp-2025-05-07"),
    ("summer-2025", "last_day", "2025-09-05", "mehr-2025-09-23"),
    ("summer-2025", "months", (5, 6, 7, 8, 9), "assumption"),
    ("summer-2025", "blocks_per_day", 2, "iranintl-2025-08-06"),
    ("summer-2025", "block_hours", 2, "afp-2025-05-07"),
    ("summer-2025", "day_hours", (9, 17), "assumption"),
    ("summer-2025", "evening_hours", (17, 21), "assumption"),
    ("summer-2025", "night_hours", (22, 8), "tabnak-2025-08-25"),
    ("summer-2025", "two_block_share", 0.9, "assumption"),
    ("summer-2025", "evening_announced", False, "iranintl-2025-08-06"),
    ("winter-2024", "first_day", "2024-11-10", "entekhab-2024-11-09"),
    ("winter-2024", "last_day", "2025-02-28", "assumption"),
    ("winter-2024", "months", (11, 12, 1, 2), "assumption"),
    ("winter-2024", "blocks_per_day", 1, "entekhab-2024-11-09"),
    ("winter-2024", "block_hours", 2, "entekhab-2024-11-09"),
    ("winter-2024", "day_hours", (9, 17), "entekhab-2024-11-09"),
    ("winter-2024", "evening_hours", None, "assumption"),
    ("winter-2024", "night_hours", (17, 9), "entekhab-2024-11-09"),
    ("winter-2024", "two_block_share", 0.0, "assumption"),
    ("winter-2024", "evening_announced", True, "assumption"),
    ("summer", "first_day", None, "assumption"),
    ("summer", "months", (6, 7, 8, 9), "assumption"),
    ("summer", "blocks_per_day", 2, "assumption"),
    ("summer", "day_hours", (8, 24), "assumption"),
    ("summer", "evening_hours", None, "assumption"),
    ("summer", "two_block_share", 0.9, "assumption"),
    ("winter", "first_day", None, "assumption"),
    ("winter", "months", (12, 1, 2), "assumption"),
    ("winter", "blocks_per_day", 1, "assumption"),
    ("winter", "day_hours", (9, 17), "assumption"),
]
SOURCE_DATES = {
    "afp-2025-05-07": "2025-05-07",
    "iranintl-2025-08-06": "2025-08-06",
    "tabnak-2025-08-25": "2025-08-25",
    "mehr-2025-09-23": "2025-09-23",
    "entekhab-2024-11-09": "2024-11-09",
    "iranintl-2024-11": "2024-11-09",
    "ncri-2024-12-05": "2024-12-05",
}


@pytest.mark.parametrize(("name", "field", "value", "source"), DEFAULTS)
def test_every_default_names_its_source(name: str, field: str, value, source: str) -> None:
    s = SCENARIOS[name]
    where = s.source(field)
    assert getattr(s, field) == value, (
        f"{name}.{field} is {getattr(s, field)!r}, was {value!r}: re-check {where} before "
        f"changing this default, then this table and the README's power-cut text"
    )
    assert s.basis.get(field, "assumption") == source, (
        f"{name}.{field} now rests on {s.basis.get(field, 'assumption')!r}, not {source!r}"
    )
    if source == "assumption":
        assert s.assumptions, f"{name} has assumptions but documents none"
    else:
        assert source in {x.key for x in s.sources}


def test_sources_carry_publisher_url_and_date() -> None:
    seen = {}
    for s in SCENARIOS.values():
        for src in s.sources:
            assert src.publisher
            assert src.title
            assert src.says
            assert src.url.startswith("https://")
            date.fromisoformat(src.date)
            seen[src.key] = src.date
        for key in s.basis.values():
            assert key == "assumption" or key in {x.key for x in s.sources}
    assert seen == SOURCE_DATES, "a source was added, dropped or re-dated: update this table"


def test_every_field_of_the_calendars_as_they_happened_is_in_the_table() -> None:
    fields = {f for n, f, _, _ in DEFAULTS if n == "summer-2025"}
    assert fields == set(SCENARIOS["summer-2025"].__dataclass_fields__) - {
        "name", "description", "basis", "sources", "assumptions",
    }  # fmt: skip


def test_the_days_are_the_solar_hijri_days_the_sources_name() -> None:
    # 20 Ordibehesht 1404 (AFP: "from Saturday"), mid-Shahrivar 1404 (Tavanir, Mehr),
    # 20 Aban 1403 (Fars: "from tomorrow").
    assert date.fromisoformat(SCENARIOS["summer-2025"].first_day or "") == date(2025, 5, 10)
    assert hijri_month_start(1404, 2).toordinal() + 19 == date(2025, 5, 10).toordinal()
    assert hijri_month_start(1404, 6).toordinal() + 14 == date(2025, 9, 6).toordinal()
    assert hijri_month_start(1403, 8).toordinal() + 19 == date(2024, 11, 10).toordinal()


def _local(s) -> pd.DatetimeIndex:
    t = pd.DatetimeIndex(s.start_ns.astype("datetime64[ns]")).tz_localize("UTC")
    return t.tz_convert("Asia/Tehran")


def test_summer_2025_is_a_day_block_and_an_unannounced_evening_block() -> None:
    s = scenario_schedule("summer-2025", year=2025, zones=4, seed=3)
    start = _local(s)
    assert start.min().date() == date(2025, 5, 10)
    assert start.max().date() == date(2025, 9, 5)
    assert ((s.end_ns - s.start_ns) == 2 * 3_600_000_000_000).all()
    assert s.announced is not None
    assert set(start.hour[s.announced]) <= {9, 11, 13, 15}
    assert set(start.hour[~s.announced]) <= {17, 19}
    # No cut in the night 22–08 h; at most two a day per group; ≈ 2 × (1 + 0.9) h a day.
    assert ((start.hour >= 9) & (start.hour + 2 <= 21)).all()
    per_day = pd.Series(1, index=[start.normalize(), s.zone]).groupby(level=[0, 1]).sum()
    assert per_day.max() == 2
    days = (date(2025, 9, 5) - date(2025, 5, 10)).days + 1
    assert 3.6 <= s.hours / 4 / days <= 3.95
    # The written schedule marks the evening block and reads back the same.
    frame = s.to_frame()
    assert list(frame.columns) == ["start", "end", "zone", "announced"]
    again = parse_schedule(frame.to_csv(index=False))
    np.testing.assert_array_equal(again.start_ns, s.start_ns)
    assert again.announced is not None
    np.testing.assert_array_equal(again.announced, s.announced)
    assert again.unannounced_hours == pytest.approx(s.unannounced_hours)


def test_winter_2024_folds_november_to_february_onto_the_year() -> None:
    s = scenario_schedule("winter-2024", year=2025, zones=3, seed=1)
    start = _local(s)
    assert set(start.month) == {1, 2, 11, 12}
    assert start[start.month == 11].day.min() == 10
    assert start[start.month == 2].day.max() == 28
    assert set(start.hour) <= {9, 11, 13, 15}
    assert s.announced is None  # every block announced: the CSV keeps start,end,zone
    days = 31 + 28 + (30 - 9) + 31
    assert len(s) == days * 3


def test_the_generator_parameters_change_the_calendar() -> None:
    s = scenario_schedule(
        "summer-2025", year=2025, zones=2, months=[6], day_hours=(10, 16), evening_block=False
    )
    start = _local(s)
    assert set(start.month) == {6}
    assert set(start.hour) <= {10, 12, 14}
    assert len(s) == 30 * 2
    assert s.announced is None
    w = scenario_schedule("winter-2024", year=2025, zones=2, months=[1], blocks_per_day=2)
    assert len(w) == 31 * 2 * 2  # a second block every day, half the window after the first


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"day_hours": (6, 14)}, "night"),
        ({"day_hours": (9, 10)}, "shorter"),
        ({"day_hours": (14, 9)}, "0–24"),
        ({"evening_hours": (21, 24)}, "night"),
        ({"evening_hours": (15, 19)}, "overlaps"),
        ({"blocks_per_day": 3}, "1 or 2"),
        ({"evening_block": False, "evening_hours": (17, 21)}, "contradict"),
        ({"months": [0]}, "1–12"),
    ],
)
def test_bad_parameters_are_refused(kwargs: dict, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        scenario_parameters("summer-2025", **kwargs)


def test_winter_has_no_evening_block() -> None:
    with pytest.raises(InputError, match="night"):
        scenario_parameters("winter-2024", evening_block=True)
