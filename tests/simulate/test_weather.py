"""Weather files (``simulate.weather``): every format reads to the same shape — UTC labels at the
END of each interval, pvlib column names, SI units — with the values pvlib.iotools itself reads,
and every broken file is refused in one line that says where.

pvlib ships TMY3 and TMY2 files; EPW and PVGIS TMY (JSON and CSV) files are written here from
a TMY3's values, so the expected labels and values are known exactly.
"""

from __future__ import annotations

import calendar
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pvlib
import pytest

from simulate.weather import COLUMNS, check_weather, read_weather
from telemetry.errors import InputError, WeatherFileError

PVLIB_DATA = Path(pvlib.__file__).parent / "data"
TMY3_FILES = ("723170TYA.CSV", "703165TY.csv")
TMY2_FILE = "12839.tm2"
GREENSBORO = "723170TYA.CSV"  # the TMY3 whose values the generated EPW/PVGIS files carry
YEAR_UTC = pd.date_range("1990-01-01 01:00", periods=8760, freq="h", tz="UTC", unit="ns")
"""End-of-interval labels of a typical year kept in UTC (PVGIS). [UTC]"""


def local_year_labels(utc_offset_h: float) -> pd.DatetimeIndex:
    """1990-01-01 01:00 … 1991-01-01 00:00 local standard time, as UTC."""
    tz = f"{'+' if utc_offset_h >= 0 else '-'}{int(abs(utc_offset_h)):02d}:00"
    return pd.date_range("1990-01-01 01:00", periods=8760, freq="h", tz=tz).tz_convert("UTC")


def assert_typical_year(data: pd.DataFrame, labels: pd.DatetimeIndex) -> None:
    assert list(data.columns) == list(COLUMNS)
    assert len(data) == 8760
    assert str(data.index.tz) == "UTC"
    assert data.index.equals(labels), (data.index[:2], labels[:2])
    assert (data.dtypes == "float64").all()


def assert_plausible(data: pd.DataFrame, temp_mean_c: tuple[float, float]) -> None:
    """Units, not climate: W/m², °C and m/s in their usual ranges (not tenths, not kW)."""
    assert 800 < data["ghi"].max() < 1300
    assert 700 < data["dni"].max() < 1200
    assert 200 < data["dhi"].max() < 800
    assert 80 < data["ghi"].mean() < 300
    assert temp_mean_c[0] < data["temp_air"].mean() < temp_mean_c[1]
    assert data["temp_air"].min() > -40
    assert data["temp_air"].max() < 50
    assert 0.5 < data["wind_speed"].mean() < 10
    assert data["wind_speed"].max() < 40
    assert (data[["ghi", "dni", "dhi", "wind_speed"]] >= 0).all().all()
    # Irradiance at night (label at local 01:00-04:00) is zero: the labels are not shifted by
    # a day-scale error. Summer noon carries the day's largest GHI.
    assert data["ghi"].iloc[:4].sum() == 0


# --------------------------------------------------------------------------- TMY3 / TMY2


@pytest.mark.parametrize("name", TMY3_FILES)
def test_tmy3_reads_end_labels_in_utc_with_pvlib_values(name: str) -> None:
    wx = read_weather(PVLIB_DATA / name)
    ref, meta = pvlib.iotools.read_tmy3(PVLIB_DATA / name, coerce_year=1990, map_variables=True)

    assert_typical_year(wx.data, local_year_labels(meta["TZ"]))
    # pvlib labels TMY3 rows at the end of the hour already: same instants, same values.
    assert wx.data.index.equals(ref.index.tz_convert("UTC"))
    for col in COLUMNS:
        np.testing.assert_array_equal(wx.data[col].to_numpy(), ref[col].to_numpy(float), col)
    assert wx.utc_offset_h == meta["TZ"]
    assert (wx.latitude_deg, wx.longitude_deg) == (meta["latitude"], meta["longitude"])
    assert wx.step_hours == 1.0
    assert "tmy3" in wx.source
    assert not wx.estimate
    assert_plausible(wx.data, (0.0, 20.0))


def test_tmy2_is_moved_to_end_labels_and_si_units() -> None:
    wx = read_weather(PVLIB_DATA / TMY2_FILE)
    ref, meta = pvlib.iotools.read_tmy2(PVLIB_DATA / TMY2_FILE)

    assert meta["TZ"] == -5
    assert_typical_year(wx.data, local_year_labels(-5))
    assert wx.data.index[0] == pd.Timestamp("1990-01-01 06:00", tz="UTC")
    # pvlib labels TMY2 hour h as h-1 (the start): ours are one hour later, in 1990.
    assert ref.index[0].hour == 0
    assert ref.index[0].day == 1
    assert ref.index[0].year == 1962
    shifted = (ref.index + pd.Timedelta(hours=1)).tz_convert("UTC")
    for part in ("month", "day", "hour"):  # the same instants but for the year (→ 1990)
        np.testing.assert_array_equal(getattr(wx.data.index, part), getattr(shifted, part))
    np.testing.assert_array_equal(wx.data["ghi"], ref["GHI"].to_numpy(float))
    np.testing.assert_array_equal(wx.data["dni"], ref["DNI"].to_numpy(float))
    np.testing.assert_array_equal(wx.data["dhi"], ref["DHI"].to_numpy(float))
    # TMY2 stores tenths of °C and of m/s.
    np.testing.assert_allclose(wx.data["temp_air"], ref["DryBulb"].to_numpy(float) / 10)
    np.testing.assert_allclose(wx.data["wind_speed"], ref["Wspd"].to_numpy(float) / 10)
    assert_plausible(wx.data, (20.0, 28.0))  # Miami
    assert wx.data["temp_air"].max() < 40


@pytest.fixture(scope="module")
def greensboro() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The TMY3 as read by ``read_weather`` and its raw table (file's own dates and hours)."""
    raw = pd.read_csv(PVLIB_DATA / GREENSBORO, header=1)
    return read_weather(PVLIB_DATA / GREENSBORO).data, raw


# --------------------------------------------------------------------------- EPW

EPW_HEADER = """\
LOCATION,Greensboro,NC,USA,TMY3,723170,36.10,-79.95,-5.0,273.0
DESIGN CONDITIONS,0
TYPICAL/EXTREME PERIODS,0
GROUND TEMPERATURES,0
HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0
COMMENTS 1,written by roshanai's tests from pvlib's 723170TYA.CSV
COMMENTS 2,
DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31
"""


def write_epw(path: Path, raw: pd.DataFrame, n_rows: int = 8760) -> Path:
    """An EPW (35 fields a line; hour 1 = 00:00-01:00 local standard time) from TMY3 rows."""
    lines = []
    for r in raw.head(n_rows).itertuples(index=False):
        month, day, year = (int(x) for x in r[0].split("/"))
        hour = int(r[1].split(":")[0])  # TMY3 and EPW both count 1..24 (end of the hour)
        fields = [
            year,
            month,
            day,
            hour,
            60,
            "?9?9?9?9E0?9?9?9?9?9?9?9?9?9?9?9?9?9?9?9*9*9?9*9*9",
            r[31],
            r[34],
            r[37],
            r[40] * 100,  # temp_air, dew point, RH, pressure [Pa]
            r[2],
            r[3],
            300,  # ETR, ETRN, horizontal infrared
            r[4],
            r[7],
            r[10],  # GHI, DNI, DHI
            0,
            0,
            0,
            0,  # illuminances, zenith luminance
            r[43],
            r[46],  # wind direction, wind speed
            r[25],
            r[28],
            16.1,
            77777,
            9,
            999999999,
            r[55],
            0.1,
            0,
            88,
            0.2,
            0,
            0,
        ]
        assert len(fields) == 35
        lines.append(",".join(str(f) for f in fields))
    path.write_text(EPW_HEADER + "\n".join(lines) + "\n")
    return path


def test_epw_reads_end_labels_like_the_tmy3_it_came_from(
    tmp_path: Path, greensboro: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    tmy3, raw = greensboro
    path = write_epw(tmp_path / "greensboro.epw", raw)
    assert len(path.read_text().splitlines()) == 8 + 8760

    wx = read_weather(path)
    assert_typical_year(wx.data, local_year_labels(-5))
    assert wx.data.index[0] == pd.Timestamp("1990-01-01 06:00", tz="UTC")
    assert wx.data.index[-1] == pd.Timestamp("1991-01-01 05:00", tz="UTC")
    pd.testing.assert_frame_equal(wx.data, tmy3, check_names=False, check_freq=False)
    assert "epw" in wx.source
    assert wx.utc_offset_h == -5.0

    # pvlib labels EPW hour h as h-1 (start of the interval): ours are exactly one hour later.
    ref, _ = pvlib.iotools.read_epw(path, coerce_year=1990)
    assert wx.data.index.equals((ref.index + pd.Timedelta(hours=1)).tz_convert("UTC"))
    for col in COLUMNS:
        np.testing.assert_array_equal(wx.data[col].to_numpy(), ref[col].to_numpy(float), col)


def test_epw_detected_by_content_whatever_the_extension(
    tmp_path: Path, greensboro: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    tmy3, raw = greensboro
    wx = read_weather(write_epw(tmp_path / "weather.txt", raw))
    assert wx.data.index.equals(tmy3.index)


# --------------------------------------------------------------------------- PVGIS TMY

PVGIS_MONTH_YEARS = {
    1: 2007,
    2: 2012,
    3: 2019,
    4: 2011,
    5: 2016,
    6: 2009,
    7: 2014,
    8: 2020,
    9: 2006,
    10: 2013,
    11: 2018,
    12: 2010,
}
"""Year of each month picked for the TMY (a leap year's February included: 28 days used)."""


def pvgis_hours(raw: pd.DataFrame) -> list[dict]:
    """8760 PVGIS rows: "time(UTC)" = start of the hour (HH:00), each month from its year."""
    stamps = [
        f"{PVGIS_MONTH_YEARS[m]}{m:02d}{d:02d}:{h:02d}00"
        for m in range(1, 13)
        for d in range(1, calendar.monthrange(1990, m)[1] + 1)
        for h in range(24)
    ]
    assert len(stamps) == 8760
    return [
        {
            "time(UTC)": t,
            "T2m": float(r[31]),
            "RH": float(r[37]),
            "G(h)": float(r[4]),
            "Gb(n)": float(r[7]),
            "Gd(h)": float(r[10]),
            "IR(h)": 300.0,
            "WS10m": float(r[46]),
            "WD10m": float(r[43]),
            "SP": float(r[40]) * 100,
        }
        for t, r in zip(stamps, raw.itertuples(index=False), strict=True)
    ]


def expected_pvgis(raw: pd.DataFrame) -> pd.DataFrame:
    return (
        pd.DataFrame(
            {
                "ghi": raw.iloc[:, 4],
                "dni": raw.iloc[:, 7],
                "dhi": raw.iloc[:, 10],
                "temp_air": raw.iloc[:, 31],
                "wind_speed": raw.iloc[:, 46],
            },
        )
        .astype(float)
        .set_axis(YEAR_UTC)
    )


def write_pvgis_json(path: Path, raw: pd.DataFrame) -> Path:
    doc = {
        "inputs": {
            "location": {"latitude": 35.689, "longitude": 51.389, "elevation": 1190.0},
            "meteo_data": {
                "radiation_db": "PVGIS-SARAH3",
                "meteo_db": "ERA5",
                "year_min": 2005,
                "year_max": 2020,
                "use_horizon": True,
            },
        },
        "outputs": {
            "months_selected": [{"month": m, "year": y} for m, y in PVGIS_MONTH_YEARS.items()],
            "tmy_hourly": pvgis_hours(raw),
        },
        # pvlib's parser copies meta and meta["inputs"]: a real PVGIS file always has them.
        "meta": {
            "inputs": {"location": {"description": "Selected location"}},
            "outputs": {"tmy_hourly": {"type": "time series"}},
        },
    }
    path.write_text(json.dumps(doc))
    return path


def write_pvgis_csv(path: Path, raw: pd.DataFrame) -> Path:
    head = [
        "Latitude (decimal degrees): 35.689",
        "Longitude (decimal degrees): 51.389",
        "Elevation (m): 1190",
        "Irradiance Time Offset (h): 0.1761",
        "month,year",
        *(f"{m},{y}" for m, y in PVGIS_MONTH_YEARS.items()),
        "time(UTC),T2m,RH,G(h),Gb(n),Gd(h),IR(h),WS10m,WD10m,SP",
    ]
    rows = [",".join(str(v) for v in h.values()) for h in pvgis_hours(raw)]
    foot = [
        "T2m: 2-m air temperature (degree Celsius)",
        "G(h): Global irradiance on the horizontal plane (W/m2)",
        "",
        "PVGIS (c) European Union, 2001-2024",
    ]
    path.write_bytes("\r\n".join([*head, *rows, *foot]).encode() + b"\r\n")
    return path


@pytest.mark.parametrize("writer", [write_pvgis_json, write_pvgis_csv], ids=["json", "csv"])
def test_pvgis_tmy_hour_start_labels_move_to_the_end_in_1990(
    tmp_path: Path,
    greensboro: tuple[pd.DataFrame, pd.DataFrame],
    writer: Callable[[Path, pd.DataFrame], Path],
) -> None:
    _, raw = greensboro
    suffix = "json" if writer is write_pvgis_json else "csv"
    path = writer(tmp_path / f"tmy_35.689_51.389_2005_2020.{suffix}", raw)

    wx = read_weather(path)
    # "20070101:0000" (the hour 00:00-01:00 UTC) → 1990-01-01 01:00 UTC, and so on to
    # "20101231:2300" → 1991-01-01 00:00 UTC.
    assert_typical_year(wx.data, YEAR_UTC)
    pd.testing.assert_frame_equal(wx.data, expected_pvgis(raw), check_names=False, check_freq=False)
    assert "pvgis" in wx.source
    assert (wx.latitude_deg, wx.longitude_deg) == (35.689, 51.389)

    ref, _ = pvlib.iotools.read_pvgis_tmy(path, map_variables=True)
    assert ref.index[0] == pd.Timestamp("2007-01-01 00:00", tz="UTC")
    ref_1990 = pd.DatetimeIndex([t.replace(year=1990) for t in ref.index])
    assert wx.data.index.equals(ref_1990 + pd.Timedelta(hours=1))
    for col in COLUMNS:
        np.testing.assert_array_equal(wx.data[col].to_numpy(), ref[col].to_numpy(float), col)


# --------------------------------------------------------------------------- plain CSV

LOCAL_LABELS = pd.date_range("2026-03-01 01:00", periods=48, freq="h", tz="+03:30")
"""Two days of hourly labels (end of interval) in Iran standard time."""


def plain_frame() -> pd.DataFrame:
    hour = np.arange(48) % 24
    day = np.clip(np.sin(np.pi * (hour - 6.5) / 12), 0, None)
    return pd.DataFrame(
        {
            "time": [t.isoformat() for t in LOCAL_LABELS],
            "ghi": np.round(700 * day, 1),
            "dni": np.round(800 * day, 1),
            "dhi": np.round(120 * day, 1),
            "temp_air": 10.0 + hour / 4,
            "wind_speed": 2.5,
        }
    )


def write_plain(path: Path, frame: pd.DataFrame | None = None, prefix: str = "") -> Path:
    frame = plain_frame() if frame is None else frame
    path.write_text(prefix + frame.to_csv(index=False))
    return path


def test_plain_csv_with_offset_reads_to_utc_instants(tmp_path: Path) -> None:
    frame = plain_frame()
    wx = read_weather(write_plain(tmp_path / "site.csv", frame))

    # 2026-03-01T01:00:00+03:30 is 2026-02-28T21:30Z; labels keep their meaning (interval end).
    assert wx.data.index[0] == pd.Timestamp("2026-02-28 21:30", tz="UTC")
    assert wx.data.index.equals(LOCAL_LABELS.tz_convert("UTC"))
    assert str(wx.data.index.tz) == "UTC"
    assert list(wx.data.columns) == list(COLUMNS)
    np.testing.assert_array_equal(wx.data.to_numpy(), frame[list(COLUMNS)].to_numpy(float))
    assert wx.utc_offset_h == 3.5
    assert wx.step_hours == 1.0
    assert "csv" in wx.source
    assert not wx.estimate


def test_plain_csv_in_utc_with_comments_and_column_order_free(tmp_path: Path) -> None:
    frame = plain_frame()
    frame["time"] = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in LOCAL_LABELS.tz_convert("UTC")]
    frame = frame[["wind_speed", "temp_air", "time", "dhi", "dni", "ghi"]]
    # Comments may mention PVGIS: the "time" header still makes it a plain CSV.
    path = write_plain(
        tmp_path / "site.csv", frame, prefix="# converted from PVGIS hourly data\n\n# units: SI\n"
    )
    wx = read_weather(path)
    assert wx.data.index.equals(LOCAL_LABELS.tz_convert("UTC"))
    assert wx.utc_offset_h == 0.0
    assert "csv" in wx.source
    np.testing.assert_array_equal(wx.data["ghi"], frame["ghi"].to_numpy(float))


def test_plain_csv_line_numbers_count_comment_and_blank_lines(tmp_path: Path) -> None:
    frame = plain_frame()
    frame.loc[10, "ghi"] = 5000.0
    path = write_plain(tmp_path / "site.csv", frame, prefix="# one\n\n# three\n")
    with pytest.raises(WeatherFileError, match=r"^site\.csv line 15: ghi = 5000 at "):
        read_weather(path)


def test_plain_csv_small_negative_night_irradiance_is_clipped_to_zero(tmp_path: Path) -> None:
    frame = plain_frame()
    frame.loc[0, "ghi"] = -3.0  # instrument offset at night: not an error
    wx = read_weather(write_plain(tmp_path / "site.csv", frame))
    assert wx.data["ghi"].iloc[0] == 0.0


def test_generated_weather_passes_the_same_checks() -> None:
    from simulate.climatology import default_weather

    data = default_weather(35.689, 51.389, 1190)
    checked = check_weather(data, "generated", typical_year=True)
    assert checked.index.equals(data.index)
    np.testing.assert_array_equal(checked.to_numpy(), data[list(COLUMNS)].to_numpy())


# --------------------------------------------------------------------------- refusals


def _plain(mutate: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], Path]:
    return lambda d: write_plain(d / "bad.csv", mutate(plain_frame()))


def _set(col: str, row: int, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def mutate(df: pd.DataFrame) -> pd.DataFrame:
        df[col] = df[col].astype(object)
        df.loc[row, col] = value
        return df

    return mutate


def _tmy3_cut(d: Path) -> Path:
    lines = (PVLIB_DATA / GREENSBORO).read_text().splitlines(keepends=True)
    path = d / "cut_tmy3.csv"
    path.write_text("".join(lines[:-100]))
    return path


def _epw_cut(d: Path) -> Path:
    return write_epw(d / "cut.epw", pd.read_csv(PVLIB_DATA / GREENSBORO, header=1), 8000)


def _garbage(d: Path) -> Path:
    path = d / "weather.csv"
    path.write_bytes(bytes(range(256)) * 64)
    return path


def _empty(d: Path) -> Path:
    path = d / "empty.csv"
    path.write_text("")
    return path


def _directory(d: Path) -> Path:
    path = d / "weather_dir"
    path.mkdir()
    return path


# Data row k (0-based) of a plain CSV is on line k + 2. Row 10 is 2026-03-01T11:00+03:30,
# i.e. 07:30Z; row 9 is 06:30Z.
BAD_FILES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "gap": (_plain(lambda df: df.drop(index=10)), ("line 12", "gap of 2 h", "06:30Z")),
    "duplicate": (
        _plain(lambda df: df.assign(time=df["time"].where(df.index != 10, df["time"][9]))),
        ("line 12", "duplicate", "2026-03-01T06:30Z"),
    ),
    "nan": (_plain(_set("dni", 10, np.nan)), ("line 12", "dni", "2026-03-01T07:30Z")),
    "ghi_negative": (_plain(_set("ghi", 10, -50.0)), ("line 12", "ghi = -50", "07:30Z")),
    "ghi_too_high": (_plain(_set("ghi", 10, 2500.0)), ("line 12", "ghi = 2500", "07:30Z")),
    "non_numeric": (_plain(_set("temp_air", 10, "warm")), ("line 12", "temp_air", "non-numeric")),
    "missing_column": (_plain(lambda df: df.drop(columns="dhi")), ("missing column", "dhi")),
    "no_offset": (
        _plain(lambda df: df.assign(time=df["time"].str[:19])),
        ("line 2", "no UTC offset"),
    ),
    "one_time_without_offset": (
        _plain(_set("time", 10, "2026-03-01T11:00:00")),
        ("line 12", "no UTC offset"),
    ),
    "not_a_time": (_plain(_set("time", 10, "yesterday")), ("line 12", "yesterday")),
    "unsorted": (
        _plain(lambda df: df.iloc[[*range(10), 11, 10, *range(12, 48)]]),
        ("line 13", "backwards", "2026-03-01T07:30Z"),
    ),
    "empty": (_empty, ("is empty",)),
    "tmy3_short": (_tmy3_cut, ("8660", "8760")),
    "epw_short": (_epw_cut, ("8000", "8760")),
    "garbage": (_garbage, ("unknown weather format",)),
    "directory": (_directory, ("directory",)),
    "missing": (lambda d: d / "no_such_file.csv", ("not found",)),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_refused_in_one_line_saying_where(tmp_path: Path, case: str) -> None:
    make, needles = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(WeatherFileError) as info:
        read_weather(path)
    msg = str(info.value)
    assert isinstance(info.value, InputError)  # the CLI's exit code 2
    assert msg
    assert "\n" not in msg, msg
    assert "\r" not in msg, msg
    assert len(msg) < 300, msg
    assert path.name in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_refusal_names_the_first_bad_row_and_counts_the_rest(tmp_path: Path) -> None:
    frame = plain_frame()
    frame.loc[[20, 30, 31], "wind_speed"] = np.nan
    with pytest.raises(WeatherFileError, match=r"line 22: .*wind_speed.*\(3 row\(s\) affected\)"):
        read_weather(write_plain(tmp_path / "bad.csv", frame))


# --------------------------------------------------------------------------- CLI

CLI_CASES = ("gap", "missing_column", "tmy3_short", "missing")


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_refuses_bad_weather_in_one_line_and_writes_nothing(tmp_path: Path, case: str) -> None:
    make, needles = BAD_FILES[case]
    bad = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    env.update(ROSHANAI_CACHE_DIR=str(tmp_path / "cache"), COLUMNS="80")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "roshanai",
            "simulate",
            "fleet",
            "--weather",
            str(bad),
            "--out-dir",
            str(out),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not out.exists() or not any(out.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing else written either


def test_timing_offset_tells_a_shifted_file(tmp_path) -> None:
    """The sun of a correctly labelled typical year peaks at solar noon; the same data with
    local clock times labelled +00:00 peaks 5 h early (the eastern US)."""
    import os

    import pvlib

    from simulate.weather import SHIFT_WARN_H, read_weather, timing_offset_h

    path = os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")
    good = read_weather(path)
    assert abs(timing_offset_h(good, 36.1, -79.95)) < 0.1
    df = good.data.copy()
    df.index = (df.index - pd.Timedelta(hours=5)).tz_localize(None).tz_localize("UTC")
    times = df.index.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    shifted = tmp_path / "shifted.csv"
    df.assign(time=times).to_csv(shifted, index=False)
    offset = timing_offset_h(read_weather(shifted), 36.1, -79.95)
    assert offset == pytest.approx(-5.0, abs=0.2)
    assert abs(offset) > SHIFT_WARN_H


def _csv_of(path: str, tmp_path, name: str, shift_h: float = 0.0):
    """A plain CSV (no location) of a weather file's data, its instants moved by ``shift_h``."""
    from simulate.weather import read_weather

    df = read_weather(path).data.copy()
    df.index = df.index + pd.Timedelta(hours=shift_h)
    out = tmp_path / name
    df.assign(time=df.index.strftime("%Y-%m-%dT%H:%M:%S+00:00")).to_csv(out, index=False)
    return out


@pytest.mark.parametrize(
    ("name", "latitude_deg", "longitude_deg"),
    [("723170TYA.CSV", 36.1, -79.95), ("703165TY.csv", 55.317, -160.517)],
)
def test_day_lengths_place_a_file_without_location(
    tmp_path, name: str, latitude_deg: float, longitude_deg: float
) -> None:
    """The latitude read from the day lengths of a CSV (which carries no location) is the
    station's, to half a degree: Greensboro 36.1° N gives 36.5, Sand Point 55.3° N 55.25."""
    import os

    import pvlib

    from simulate.weather import daylight_latitude_deg, read_weather

    csv = _csv_of(os.path.join(os.path.dirname(pvlib.__file__), "data", name), tmp_path, "w.csv")
    wx = read_weather(csv)
    assert wx.latitude_deg is None
    found = daylight_latitude_deg(wx, longitude_deg)
    assert found == pytest.approx(latitude_deg, abs=0.5)


def test_day_lengths_need_whole_days_of_sunlit_data() -> None:
    """Too little data, or a series no sky lights like that (sunlight all night), gives None."""
    from simulate.weather import Weather, daylight_latitude_deg

    index = pd.date_range("2025-01-01 01:00", periods=24 * 10, freq="h", tz="UTC")
    frame = pd.DataFrame(
        {c: 1.0 for c in ("ghi", "dni", "dhi", "temp_air", "wind_speed")}, index=index
    )
    assert daylight_latitude_deg(Weather(data=frame, source="ten days"), 51.4) is None
    index = pd.date_range("2025-01-01 01:00", periods=8760, freq="h", tz="UTC")
    frame = pd.DataFrame(
        {c: 1.0 for c in ("ghi", "dni", "dhi", "temp_air", "wind_speed")}, index=index
    )
    assert daylight_latitude_deg(Weather(data=frame, source="always lit"), 51.4) is None


def _site_warnings(csv, latitude_deg: float, longitude_deg: float, tmp_path) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "roshanai", "simulate", "site", "--lat", str(latitude_deg),
         "--lon", str(longitude_deg), "--weather", str(csv)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return " ".join(proc.stderr.split())


def test_a_csv_from_2000_km_north_is_warned_about(tmp_path) -> None:
    """Sand Point, Alaska (55.3° N) moved in time onto Tehran's solar noon, so that only its
    day lengths give it away: used for a plant in Tehran (35.7° N), it is said to be weather
    of latitude ~55°, about 2,200 km away. Greensboro's CSV for a plant at Greensboro is not."""
    import os

    import pvlib

    data = os.path.join(os.path.dirname(pvlib.__file__), "data")
    # Solar noon moves by (51.4 − (−160.5)) / 15 h; a day later is the same weather.
    moved = _csv_of(os.path.join(data, "703165TY.csv"), tmp_path, "far.csv", -14.13 + 24)
    said = _site_warnings(moved, 35.69, 51.39, tmp_path)
    assert "day lengths are those of latitude 55" in said, said
    assert "sunlight peaks" not in said  # the timing agrees: only the day lengths tell
    near = _csv_of(os.path.join(data, "723170TYA.CSV"), tmp_path, "near.csv")
    said = _site_warnings(near, 36.1, -79.95, tmp_path)
    assert "warning" not in said, said
