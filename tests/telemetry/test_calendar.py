"""The two calendars (:mod:`telemetry.calendar`) against jdatetime's own conversions."""

from __future__ import annotations

from datetime import date, datetime

import jdatetime
import pytest

from telemetry.calendar import (
    HIJRI_MONTHS,
    HIJRI_MONTHS_EN,
    hijri_month_of,
    hijri_month_start,
    hijri_month_tag,
    hijri_year_of,
    month_bounds,
)


def test_names_and_years() -> None:
    assert len(HIJRI_MONTHS) == 12
    assert list(HIJRI_MONTHS_EN) == jdatetime.date.j_months_en
    assert hijri_year_of(2026) == 1405
    assert hijri_month_start(1405, 1) == date(2026, 3, 21)
    assert hijri_month_tag(date(2026, 7, 1)) == "1405-04 Tir"


def test_month_of_dates_and_datetimes() -> None:
    days = [date(2026, 3, 20), date(2026, 3, 21), datetime(2026, 12, 21, 23, 0)]
    assert hijri_month_of(days).tolist() == [12, 1, 9]


def test_month_bounds_of_both_calendars() -> None:
    assert month_bounds(2026, 12) == (date(2026, 12, 1), date(2027, 1, 1))
    assert month_bounds(1405, 4) == (date(2026, 6, 22), date(2026, 7, 23))
    assert month_bounds(1404, 12) == (date(2026, 2, 20), date(2026, 3, 21))
    with pytest.raises(ValueError, match="month 13"):
        month_bounds(1405, 13)
