"""Grafana's macro expansion, Persian formatting and the calendars (no servers)."""

from __future__ import annotations

from datetime import date

import pytest

from dashboards.labels import Labels
from dashboards.macros import (
    TimeRange,
    format_interval,
    interpolate,
    interval_ms,
    parse_duration_ms,
    relative_range,
)
from dashboards.persian import PROVINCES_FA, format_number, persian_digits
from dashboards.rollups import hijri_month_tag
from firmware_bridge.emulator import PROVINCE_CODES

DAY_MS = 86_400_000


def test_time_filter_and_range_ends_are_absolute_milliseconds():
    tr = TimeRange(1_000, 5_000)
    out = interpolate("SELECT x FROM m WHERE $timeFilter AND time <= ${__to}ms - 30m", tr)
    assert out == "SELECT x FROM m WHERE time >= 1000ms and time <= 5000ms AND time <= 5000ms - 30m"
    assert interpolate("$__timeFilter", tr) == "time >= 1000ms and time <= 5000ms"


@pytest.mark.parametrize(
    ("span_ms", "points", "minimum", "expect"),
    [
        (DAY_MS, 1000, None, "1m"),  # 86.4 s: Grafana rounds to 1m
        (DAY_MS, 1000, "5m", "5m"),  # never below the panel's minimum
        (7 * DAY_MS, 1000, "1m", "10m"),
        (365 * DAY_MS, 1000, "1h", "12h"),
        (365 * DAY_MS, 1000, "1d", "1d"),
        (3_600_000, 1000, None, "5s"),
    ],
)
def test_interval_is_rounded_as_grafana_does(span_ms, points, minimum, expect):
    tr = TimeRange(0, span_ms)
    assert format_interval(interval_ms(tr, points, minimum)) == expect
    assert (
        interpolate("GROUP BY time($__interval)", tr, max_data_points=points, min_interval=minimum)
        == f"GROUP BY time({expect})"
    )


def test_variables_in_regexes_are_escaped_and_joined():
    tr = TimeRange(0, 1)
    query = 'WHERE "province" =~ /^$province$/ AND "run_id" = \'$run_id\' AND x > $k'
    assert (
        interpolate(query, tr, variables={"province": ".*", "run_id": "r-1", "k": "3"})
        == 'WHERE "province" =~ /^.*$/ AND "run_id" = \'r-1\' AND x > 3'
    )
    two = interpolate(
        query,
        tr,
        variables={"province": ["Sistan and Baluchestan", "a.b/c"], "run_id": "r", "k": "1"},
    )
    assert r"/^(Sistan and Baluchestan|a\.b\/c)$/" in two
    assert (
        interpolate("=~ /^${plant_id}$/", tr, variables={"plant_id": ["THR-000001"]})
        == "=~ /^THR-000001$/"
    )
    with pytest.raises(KeyError):
        interpolate("$nope", tr)


def test_relative_ranges_and_durations():
    assert relative_range("now-24h", "now", 100 * DAY_MS) == TimeRange(99 * DAY_MS, 100 * DAY_MS)
    assert parse_duration_ms("7d") == 7 * DAY_MS
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_ms("7 days")
    with pytest.raises(ValueError, match="ends"):
        TimeRange(5, 5)


def test_hijri_month_tags_change_at_nowruz():
    assert hijri_month_tag(date(2026, 3, 20)) == "1404-12 Esfand"
    assert hijri_month_tag(date(2026, 3, 21)) == "1405-01 Farvardin"
    assert hijri_month_tag(date(2026, 7, 1)) == "1405-04 Tir"


def test_persian_numbers_months_and_provinces():
    assert format_number(1234567.891, 1, persian=True) == "۱٬۲۳۴٬۵۶۷٫۹"
    assert format_number(1234567.891, 1) == "1,234,567.9"
    assert format_number(None) == "–"
    assert persian_digits("1405-04") == "۱۴۰۵-۰۴"
    fa, fa_latin, en = Labels("fa"), Labels("fa", persian_digits=False), Labels("en")
    assert fa.hijri_month("1405-04 Tir") == "تیر ۱۴۰۵"
    assert fa_latin.hijri_month("1405-04 Tir") == "تیر 1405"
    assert en.hijri_month("1405-04 Tir") == "Tir 1405"
    assert fa.hijri_month("12") == "اسفند"
    assert en.month("2026-07") == "Jul 2026"
    assert fa.month("2026-07") == "ژوئیه ۲۰۲۶"
    assert fa.day(date(2026, 3, 21)) == "۱۴۰۵/۰۱/۰۱"
    assert fa.province("Kohgiluyeh and Boyer-Ahmad") == "کهگیلویه و بویراحمد"
    # Every province the emulator (and the climatology) knows has its Persian name.
    assert set(PROVINCE_CODES) <= set(PROVINCES_FA)
