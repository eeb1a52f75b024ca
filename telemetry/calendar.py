"""The two calendars of the program's reports: Gregorian and Solar Hijri (jdatetime), spelled
once — month names, the month of a day, the Hijri year of a Gregorian year, month ranges.

A Solar Hijri year begins at Nowruz (the March equinox, 20 or 21 March); "the Hijri year of
Gregorian year Y" is the one whose Nowruz falls in Y (1405 for 2026).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Final

import jdatetime
import numpy as np

__all__ = [
    "GREGORIAN_MONTHS",
    "HIJRI_MONTHS",
    "HIJRI_MONTHS_EN",
    "hijri_month_of",
    "hijri_month_start",
    "hijri_month_tag",
    "hijri_year_of",
    "month_bounds",
]

#: Gregorian month keys (summary columns ``ac_energy_kwh_<key>``).
GREGORIAN_MONTHS: Final = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
#: Solar Hijri month keys, 1 = Farvardin (starts at the March equinox) … 12 = Esfand.
HIJRI_MONTHS: Final = (
    "farvardin", "ordibehesht", "khordad", "tir", "mordad", "shahrivar", "mehr", "aban",
    "azar", "dey", "bahman", "esfand",
)  # fmt: skip
#: Solar Hijri month names in English.
HIJRI_MONTHS_EN: Final = tuple(m.capitalize() for m in HIJRI_MONTHS)


def hijri_month_of(days: Iterable[date]) -> np.ndarray:
    """Solar Hijri month number (1–12) of each date (datetimes count by their date)."""
    out = []
    for d in days:
        day = d.date() if hasattr(d, "date") and callable(d.date) else d
        out.append(jdatetime.date.fromgregorian(date=day).month)
    return np.array(out, dtype=np.int64)


def hijri_year_of(gregorian_year: int) -> int:
    """The Solar Hijri year whose Nowruz falls in ``gregorian_year`` (2026 → 1405)."""
    return int(jdatetime.date.fromgregorian(date=date(gregorian_year, 7, 1)).year)


def hijri_month_start(hijri_year: int, month: int) -> date:
    """The Gregorian date Solar Hijri month ``month`` of ``hijri_year`` starts on."""
    return jdatetime.date(hijri_year, month, 1).togregorian()


def hijri_month_tag(day: date) -> str:
    """``1405-04 Tir``: the Solar Hijri month of a Gregorian date, as the rollups tag it."""
    j = jdatetime.date.fromgregorian(date=day)
    return f"{j.year:04d}-{j.month:02d} {HIJRI_MONTHS_EN[j.month - 1]}"


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """A month's first day and the next month's first day (Gregorian dates); ``year`` below
    1700 is a Solar Hijri year (``1405, 4`` is Tir 1405).

    Raises
    ------
    ValueError
        No such month.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1–12")
    if year < 1700:
        return (
            hijri_month_start(year, month),
            hijri_month_start(year + (month == 12), month % 12 + 1),
        )
    return date(year, month, 1), date(year + (month == 12), month % 12 + 1, 1)
