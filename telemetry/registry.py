"""The plant registry: reading and validating the fleet file (CSV, one row per plant).

The contract is in docs/contracts.md ("Fleet file"). Every problem is reported with the file,
the line and the column, e.g. ``fleet.csv line 8, column tilt_deg: 120 is outside [0, 90]``;
the first problems are named and the rest counted, so one run tells the user everything.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from telemetry.errors import FleetFileError

__all__ = [
    "COLUMNS",
    "DEFAULT_LOSSES_PCT",
    "INVERTER_NAME_RE",
    "SERIAL_RE",
    "Fleet",
    "load_sample_fleet",
    "lookup_altitude_m",
    "parse_fleet",
    "read_fleet",
    "sample_fleet_path",
]

#: pvlib ``pvwatts_losses()`` with its default parameters [%].
DEFAULT_LOSSES_PCT = 14.075660688264469

PLANT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: One inverter serial of ``inverter_serial`` (OpenDTU topics: one topic level).
SERIAL_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: One AhoyDTU inverter name of ``inverter_name``: one topic level (no ``/``, ``+``, ``#``),
#: printable, no ``;`` (the separator), quotes or backslashes; inner spaces allowed.
# C0/C1 controls and Unicode non-characters are refused too: mosquitto drops topics with them
# (lib/utf8_mosq.c), so such a name could never be delivered.
INVERTER_NAME_RE = re.compile('^[^\x00-\x1f\x7f-\x9f/+#;"\\\\\ufdd0-\ufdef\ufffe\uffff]{1,64}$')
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")
#: Zones and provinces become InfluxDB tag values: keep them printable and single-line.
_LABEL_RE = re.compile(r"^[^\x00-\x1f\x7f\"\\]{1,128}$")

RACKING = ("open_rack", "close_mount")
INVERTER_TYPES = ("grid_tied", "hybrid")


@dataclass(frozen=True)
class _Column:
    name: str
    kind: str  # "float", "id", "label", "enum", "serials", "names", "date"
    required: bool = False
    default: float | str | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low bound excluded
    choices: tuple[str, ...] = ()
    unit: str = ""


#: The columns of the contract, in order. Columns not listed are kept as they are (text).
COLUMNS: tuple[_Column, ...] = (
    _Column("plant_id", "id", required=True),
    _Column("latitude", "float", required=True, low=-90, high=90, unit="degrees"),
    _Column("longitude", "float", required=True, low=-180, high=180, unit="degrees"),
    _Column("dc_kwp", "float", required=True, low=0, high=100_000, low_open=True, unit="kWp"),
    _Column("ac_kw", "float", required=True, low=0, high=100_000, low_open=True, unit="kW"),
    _Column("tilt_deg", "float", required=True, low=0, high=90, unit="degrees"),
    _Column("azimuth_deg", "float", required=True, low=0, high=360, unit="degrees"),
    _Column("altitude_m", "float", low=-500, high=9000, unit="m"),
    _Column("province", "label", default=""),
    _Column("racking", "enum", default="open_rack", choices=RACKING),
    _Column("gamma_pdc_per_c", "float", default=-0.004, low=-0.02, high=0.0, unit="1/°C"),
    _Column("losses_pct", "float", default=DEFAULT_LOSSES_PCT, low=0, high=99, unit="%"),
    _Column("inverter_type", "enum", default="grid_tied", choices=INVERTER_TYPES),
    _Column("battery_kwh", "float", default=0.0, low=0, high=10_000, unit="kWh"),
    _Column("outage_zone", "label", default=""),
    _Column("essential_load_w", "float", low=0, high=1_000_000, unit="W"),
    _Column("inverter_serial", "serials", default=""),
    _Column("inverter_name", "names", default=""),
    _Column("tariff_category", "label", default=""),
    _Column("contract_start", "date", default=""),
)
_BY_NAME = {c.name: c for c in COLUMNS}
REQUIRED = tuple(c.name for c in COLUMNS if c.required)


@dataclass(frozen=True)
class Fleet:
    """A validated fleet: one row per plant, every contract column present, defaults applied.

    Attributes
    ----------
    plants : pandas.DataFrame
        Indexed 0..n-1; ``plant_id`` unique. Numeric columns float64, text columns str.
        ``altitude_m`` filled from pvlib's bundled altitude map where the file left it empty;
        ``essential_load_w`` is NaN where not given (the simulator picks its default).
    source : str
        Where the fleet came from (path or ``<sample>``), for messages.
    """

    plants: pd.DataFrame
    source: str

    def __len__(self) -> int:
        return len(self.plants)

    @property
    def plant_ids(self) -> list[str]:
        """Plant identifiers in file order."""
        return self.plants["plant_id"].tolist()

    @classmethod
    def from_records(
        cls, records: Sequence[Mapping[str, object]], source: str = "records"
    ) -> Fleet:
        """A fleet from rows as mappings (column → value; None or missing = empty), checked
        exactly as a fleet file is (errors name the record as "line 2" onwards).

        Raises
        ------
        FleetFileError
            A value breaks the contract.
        """
        columns = list(dict.fromkeys(key for record in records for key in record))
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow(["" if record.get(c) is None else record.get(c) for c in columns])
        return parse_fleet(buf.getvalue(), source=source)

    def inverter_serials(self) -> dict[str, str]:
        """Inverter serial as OpenDTU spells it in its topics → plant_id.

        OpenDTU prints serials in lower-case hexadecimal (``InverterAbstract`` uses
        ``PRIx32``), so a hexadecimal serial is keyed in lower case whatever the fleet file's
        case; other serials are kept as written.
        """
        return {
            topic_serial(s): pid for pid, items in self._lists("inverter_serial") for s in items
        }

    def inverter_names(self) -> dict[str, str]:
        """AhoyDTU inverter name (as in its topics) → plant_id, from ``inverter_name``."""
        return {name: pid for pid, items in self._lists("inverter_name") for name in items}

    def gateway_inverters(self) -> dict[str, tuple[list[str], list[str]]]:
        """plant_id → (its OpenDTU serials in topic form, its AhoyDTU names), for the plants
        that list any."""
        serials = dict(self._lists("inverter_serial"))
        names = dict(self._lists("inverter_name"))
        return {
            pid: ([topic_serial(s) for s in serials.get(pid, [])], names.get(pid, []))
            for pid in self.plant_ids
            if serials.get(pid) or names.get(pid)
        }

    def _lists(self, column: str) -> list[tuple[str, list[str]]]:
        if column not in self.plants:
            return []
        out = []
        for pid, cell in zip(
            self.plants["plant_id"].tolist(), self.plants[column].tolist(), strict=True
        ):
            items = split_list(cell)
            if items:
                out.append((pid, items))
        return out

    def subset(self, start: int, stop: int) -> Fleet:
        """Plants ``start:stop`` as a fleet of their own (for chunked or distributed runs)."""
        return Fleet(self.plants.iloc[start:stop].reset_index(drop=True), self.source)


def split_list(cell: object) -> list[str]:
    """A ``;``-separated cell (``inverter_serial``, ``inverter_name``) → its stripped items."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return []
    return [item.strip() for item in str(cell).split(";") if item.strip()]


def topic_serial(serial: str) -> str:
    """A serial as OpenDTU writes it in topics: hexadecimal in lower case, others unchanged."""
    return serial.lower() if _HEX_RE.fullmatch(serial) else serial


def sample_fleet_path() -> Path:
    """Path of the sample fleet shipped with the package (a few dozen Iranian households)."""
    return Path(str(resources.files("telemetry") / "data" / "sample_fleet.csv"))


def load_sample_fleet() -> Fleet:
    """The sample fleet shipped with the package, validated."""
    fleet = read_fleet(sample_fleet_path())
    return Fleet(fleet.plants, "<sample fleet>")


def read_fleet(path: str | Path) -> Fleet:
    """Read and validate a fleet file.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV file, UTF-8 (a byte-order mark is accepted), header on the first line.

    Returns
    -------
    Fleet

    Raises
    ------
    FleetFileError
        The file is missing or unreadable, or a value breaks the contract; the message names
        the line and column.
    """
    p = Path(path)
    name = p.name
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FleetFileError(f"fleet file not found: {p}") from None
    except IsADirectoryError:
        raise FleetFileError(f"fleet file is a directory, not a CSV file: {p}") from None
    except OSError as exc:
        raise FleetFileError(f"cannot read fleet file {p}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FleetFileError(f"{name} line {line}: not UTF-8 text") from None
    return parse_fleet(text, source=name)


def parse_fleet(text: str, source: str = "fleet") -> Fleet:
    """Validate fleet CSV text (see :func:`read_fleet`)."""
    # Keep the physical line of each record for messages; drop blank lines and comments.
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        parsed = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise FleetFileError(f"{source} line {reader.line_num}: not valid CSV ({exc})") from None
    header_line = 0
    for line, row in parsed:
        if not row or all(not c.strip() for c in row):
            continue
        if row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip() for c in row]
            header_line = line
            continue
        records.append((line, [c.strip() for c in row]))
    if header is None:
        raise FleetFileError(
            f"{source}: empty file (expected a header line with {', '.join(REQUIRED)})"
        )
    _check_header(header, source, header_line)
    if not records:
        raise FleetFileError(f"{source}: no plants (the file has a header but no rows)")

    problems: list[str] = []
    width = len(header)
    for line, row in records:
        if len(row) != width:
            problems.append(f"{source} line {line}: {len(row)} fields, the header has {width}")
    if problems:
        _raise(problems)
    lines = np.array([line for line, _ in records])
    frame = pd.DataFrame([row for _, row in records], columns=header, dtype=object)

    out: dict[str, pd.Series] = {}
    for col in COLUMNS:
        values = (
            frame[col.name] if col.name in frame else pd.Series([""] * len(frame), dtype=object)
        )
        out[col.name] = _convert(col, values.astype(str), lines, source, problems)
    extra = [c for c in header if c not in _BY_NAME]
    for name in extra:
        out[name] = frame[name].astype(str)

    ids = out["plant_id"]
    dup = ids[ids.duplicated(keep=False) & (ids != "")]
    if len(dup):
        first = dup.iloc[0]
        where = lines[(ids == first).to_numpy()]
        problems.append(
            f"{source} line {where[1]}, column plant_id: duplicate plant_id {first!r} "
            f"(first on line {where[0]})"
        )
    # An AhoyDTU inverter named like a plant is taken for that plant (see
    # firmware_bridge.dtu): naming it like another plant would send its readings there.
    owner = dict(zip(ids.tolist(), range(len(ids)), strict=True))
    for i, cell in enumerate(out["inverter_name"].tolist()):
        for name in split_list(cell):
            j = owner.get(name)
            if j is not None and j != i:
                problems.append(
                    f"{source} line {lines[i]}, column inverter_name: {name!r} is "
                    f"the plant_id of the plant on line {lines[j]}"
                )
    if problems:
        _raise(problems)

    plants = pd.DataFrame(out)
    missing_alt = plants["altitude_m"].isna().to_numpy()
    if missing_alt.any():
        plants.loc[missing_alt, "altitude_m"] = lookup_altitude_m(
            plants.loc[missing_alt, "latitude"].to_numpy(),
            plants.loc[missing_alt, "longitude"].to_numpy(),
        )
    return Fleet(plants, source)


def _check_header(header: list[str], source: str, line: int) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise FleetFileError(f"{source} line {line}: column {name!r} appears twice")
        seen.add(name)
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        hint = ""
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            hint = " (the file looks separated by ';' or tabs; use commas)"
        raise FleetFileError(
            f"{source} line {line}: missing required column(s) {', '.join(missing)}{hint}"
        )


def _convert(
    col: _Column, values: pd.Series, lines: np.ndarray, source: str, problems: list[str]
) -> pd.Series:
    """Convert one column, appending a message per bad cell to ``problems``."""
    empty = (values == "").to_numpy()

    def bad(mask: np.ndarray, why: Callable[[str], str]) -> None:
        for i in np.flatnonzero(mask)[:5]:
            problems.append(f"{source} line {lines[i]}, column {col.name}: {why(values.iloc[i])}")
        if mask.sum() > 5:
            problems.append(f"{source}: {mask.sum() - 5} more bad values in column {col.name}")

    if col.required:
        bad(empty, lambda v: "required value is empty")

    if col.kind == "float":
        num = pd.to_numeric(values.where(~empty, None), errors="coerce").astype(float)
        arr = num.to_numpy()
        bad(~empty & np.isnan(arr), lambda v: f"{v!r} is not a number")
        finite = np.isfinite(arr)
        bad(~empty & ~np.isnan(arr) & ~finite, lambda v: f"{v!r} is not a finite number")
        ok = finite.copy()
        if col.low is not None and col.high is not None:
            below = arr <= col.low if col.low_open else arr < col.low
            rng = f"{'(' if col.low_open else '['}{col.low:g}, {col.high:g}]"
            outside = ok & (below | (arr > col.high))
            unit = f" {col.unit}" if col.unit else ""
            bad(outside, lambda v: f"{v} is outside {rng}{unit}")
        if col.default is not None:
            num = num.fillna(float(col.default))
        return num
    if col.kind == "id":
        ok = values.str.fullmatch(PLANT_ID_RE.pattern).to_numpy(dtype=bool)
        bad(
            ~empty & ~ok,
            lambda v: f"{v!r} is not a plant_id (letters, digits, '-', '_'; at most 64)",
        )
        return values
    if col.kind in ("serials", "names"):
        return _convert_list(col, values, lines, source, problems)
    if col.kind == "date":
        # An ISO calendar date (YYYY-MM-DD), kept as that text; empty = the default.
        parsed = pd.to_datetime(values.where(~empty, None), format="%Y-%m-%d", errors="coerce")
        ok = parsed.notna().to_numpy() & values.str.fullmatch(r"\d{4}-\d{2}-\d{2}").to_numpy(
            dtype=bool
        )
        bad(~empty & ~ok, lambda v: f"{v!r} is not a date (YYYY-MM-DD)")
        return values
    if col.kind == "enum":
        ok = values.isin(col.choices).to_numpy() | empty
        bad(~ok, lambda v: f"{v!r} is not one of {', '.join(col.choices)}")
        return values.where(~empty, str(col.default))
    # label
    ok = values.str.fullmatch(_LABEL_RE.pattern).to_numpy(dtype=bool) | empty
    bad(~ok, lambda v: f"{v!r} has control characters, quotes or backslashes, or is too long")
    return values


def _convert_list(
    col: _Column, values: pd.Series, lines: np.ndarray, source: str, problems: list[str]
) -> pd.Series:
    """``inverter_serial`` / ``inverter_name``: ``;``-separated items, each one MQTT topic level,
    none listed twice in the fleet (a serial or name names exactly one plant's inverter)."""
    serials = col.kind == "serials"
    pattern = SERIAL_RE if serials else INVERTER_NAME_RE
    what = (
        "letters, digits, '.', '-', '_', at most 64"
        if serials
        else "one MQTT topic level: no '/', '+', '#', ';', quotes or control characters, at most 64"
    )
    seen: dict[str, int] = {}
    out = []
    bad = 0
    for i, cell in enumerate(values.tolist()):
        items = split_list(cell)
        for item in items:
            if not pattern.fullmatch(item):
                bad += 1
                if bad <= 5:
                    problems.append(
                        f"{source} line {lines[i]}, column {col.name}: {item!r} is "
                        f"not an inverter {'serial' if serials else 'name'} ({what})"
                    )
                continue
            key = topic_serial(item) if serials else item
            if key in seen:
                bad += 1
                if bad <= 5:
                    problems.append(
                        f"{source} line {lines[i]}, column {col.name}: {item!r} is "
                        f"already listed on line {seen[key]} (each inverter belongs "
                        f"to one plant)"
                    )
                continue
            seen[key] = int(lines[i])
        out.append(";".join(items))
    if bad > 5:
        problems.append(f"{source}: {bad - 5} more bad values in column {col.name}")
    return pd.Series(out, index=values.index, dtype=object)


def _raise(problems: list[str]) -> None:
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
    error = FleetFileError(problems[0] + (more if len(problems) > 1 else ""))
    error.problems = list(problems)
    raise error


@functools.cache
def _altitude_map() -> np.ndarray:
    import h5py
    import pvlib

    path = Path(pvlib.__file__).parent / "data" / "Altitude.h5"
    with h5py.File(path, "r") as f:
        return np.asarray(f["Altitude"][:])


def lookup_altitude_m(latitude_deg: np.ndarray, longitude_deg: np.ndarray) -> np.ndarray:
    """Vectorised :func:`pvlib.location.lookup_altitude` (same map, same rounding).

    Parameters
    ----------
    latitude_deg, longitude_deg : numpy.ndarray
        Coordinates [degree].

    Returns
    -------
    numpy.ndarray
        Altitude [m]; 0 where the map has no data (as pvlib).
    """
    lat = np.asarray(latitude_deg, dtype=float)
    lon = np.asarray(longitude_deg, dtype=float)
    alt = _altitude_map()

    def index(deg: np.ndarray, inputmin: float, inputmax: float, outputmax: int) -> np.ndarray:
        scale = outputmax / (inputmax - inputmin)
        center = inputmin + 1 / scale / 2
        idx = np.around((deg - center) * scale)
        return np.clip(idx, 0, outputmax - 1).astype(np.int64)

    raw = alt[index(lat, 90, -90, 2160), index(lon, -180, 180, 4320)].astype(float)
    return np.where(raw == 255, 0.0, raw * 28 - 450)
