"""The purchase contract as it is written: a tariff table (category × contract year, each rate
with its source and date), and the 20-year projection of a plant's energy and income.

The table (:data:`DEFAULT_TARIFFS`; a CSV given with ``--tariff-table`` replaces the categories
it names, :func:`read_tariff_table`):

=================== ===== ================ ==================================================
category            years toman/kWh        source, date
=================== ===== ================ ==================================================
``household``       1–20  2,500            IRIB News Hamedan, 2025-10-03: ordinary households
``supported``       1–20  3,000            IRIB News Hamedan, 2025-10-03: households under
                                           support institutions
``relief_committee`` 1–20 4,580            IRIB News Isfahan, 2025-10-11: Imam Khomeini Relief
                                           Committee plants ("about 4,580", as forecast)
``satba_base``      1–20  1,456            SATBA, guaranteed feed-in tariffs (English page,
                                           undated): PV of 20 kW and less, 14,560 rial/kWh
=================== ===== ================ ==================================================

A plant without ``tariff_category`` is ``household`` (:data:`DEFAULT_CATEGORY`).

**The year shape is not yet sourced: every category is flat over its 20 years.** What was found:
SATBA's English tariff page says the decree's tariffs (all but wind) are "subject to the
application of a three-step reduction rate (after applying all coefficients) at the beginning of
the eighth, twelfth and sixteenth years. This coefficient is equal to 60%" — which can be read as
×0.6 at each step, ×0.4 at each step, or a fall to 60 % in three steps; and the 2016 SUNA tariffs
multiplied years 11–20 by 0.7 (Lexology summary of SUNA's table, undated). The 2025 household
reports give one rate "for 20 years", and a Relief Committee official reports that incomes grow
with a yearly adjustment coefficient (YJC, 2025-08-28) whose formula was not found. Searched
(pages corpus, Persian and English): "ساتبا ضریب تعدیل سال های قرارداد", "ضریب کاهشی سه
مرحله‌ای ابتدای سال‌های هشتم، دوازدهم و شانزدهم", "second 10 years 0.7 SATBA". Until the
decree's text settles it, enter the shape in a CSV (rows ``first_year``–``last_year``).

The projection (:func:`project`) is nominal, at the contract's rates: no indexation, no
discounting. Year ``n`` yields the first year's energy × (1 − degradation)^(n − 1), the
degradation defaulting to :data:`telemetry.factors.DEGRADATION_PER_YEAR` (0.5 %/year).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from telemetry.errors import InputError
from telemetry.factors import DEGRADATION_PER_YEAR, RIAL_PER_TOMAN

__all__ = [
    "CONTRACT_YEARS",
    "DEFAULT_CATEGORY",
    "DEFAULT_TARIFFS",
    "FLEET_REGION",
    "NO_PROVINCE",
    "Projection",
    "TariffRow",
    "TariffTable",
    "contract_starts",
    "plant_categories",
    "project",
    "read_tariff_table",
]

#: Length of the guaranteed-purchase contract. [year]
CONTRACT_YEARS = 20
#: Category of a plant whose fleet row leaves ``tariff_category`` empty.
DEFAULT_CATEGORY = "household"
FLEET_REGION = "(fleet)"
NO_PROVINCE = "(none)"
_CATEGORY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CSV_COLUMNS = ("category", "first_year", "last_year", "toman_per_kwh", "source", "date")


@dataclass(frozen=True)
class TariffRow:
    """One rate of the table: a category's contract years ``first_year``–``last_year``.

    Attributes
    ----------
    category : str
    first_year, last_year : int
        Contract years, 1-based, inclusive.
    toman_per_kwh : float
        Purchase price. [toman/kWh]
    source, date : str
        Where the rate is published, and when.
    """

    category: str
    first_year: int
    last_year: int
    toman_per_kwh: float
    source: str
    date: str


_IRIB_HAMEDAN = "IRIB News Hamedan, iribnews.ir/fa/news/5585575 (20 years)"
#: The built-in table (module docstring). Flat: the year shape is not yet sourced.
DEFAULT_TARIFFS: tuple[TariffRow, ...] = (
    TariffRow("household", 1, 20, 2500.0, _IRIB_HAMEDAN + ", ordinary households", "2025-10-03"),
    TariffRow(
        "supported", 1, 20, 3000.0, _IRIB_HAMEDAN + ", households of support bodies", "2025-10-03"
    ),
    TariffRow(
        "relief_committee",
        1,
        20,
        4580.0,
        "IRIB News Isfahan, iribnews.ir/fa/news/5593090, Relief Committee plants (forecast)",
        "2025-10-11",
    ),
    TariffRow(
        "satba_base",
        1,
        20,
        1456.0,
        "SATBA guaranteed feed-in tariffs (satba.gov.ir/en), PV <= 20 kW: 14,560 rial/kWh",
        "undated",
    ),
)


@dataclass(frozen=True)
class TariffTable:
    """Rates by category and contract year (every category covers years 1–20 once).

    Attributes
    ----------
    rows : tuple of TariffRow
    """

    rows: tuple[TariffRow, ...] = DEFAULT_TARIFFS

    @property
    def categories(self) -> list[str]:
        """Categories in table order."""
        return list(dict.fromkeys(r.category for r in self.rows))

    def rates(self, category: str) -> np.ndarray:
        """The category's rate for each contract year, shape (20,). [toman/kWh]"""
        out = np.full(CONTRACT_YEARS, np.nan)
        for r in self.rows:
            if r.category == category:
                out[r.first_year - 1 : r.last_year] = r.toman_per_kwh
        return out

    def merged(self, other: TariffTable) -> TariffTable:
        """This table with the categories of ``other`` replaced (or added) by ``other``'s rows."""
        replaced = set(other.categories)
        return TariffTable(
            tuple(r for r in self.rows if r.category not in replaced) + tuple(other.rows)
        )

    @classmethod
    def flat(cls, toman_per_kwh: float, categories: Sequence[str]) -> TariffTable:
        """One rate for every category and year (the ``--tariff`` override)."""
        return cls(
            tuple(
                TariffRow(c, 1, CONTRACT_YEARS, toman_per_kwh, "--tariff (flat override)", "-")
                for c in categories
            )
        )

    def plant_rates(self, categories: Sequence[str], plant_ids: Sequence[str]) -> np.ndarray:
        """Each plant's rates, shape (n_plants, 20). [toman/kWh]

        Raises
        ------
        InputError
            A plant's category is not in the table (the message names the plant).
        """
        known = {c: self.rates(c) for c in self.categories}
        out = np.empty((len(categories), CONTRACT_YEARS))
        for i, c in enumerate(categories):
            got = known.get(c)
            if got is None:
                raise InputError(
                    f"plant {plant_ids[i]}: tariff_category {c!r} is not in the tariff table "
                    f"({', '.join(self.categories)}); add it with --tariff-table FILE"
                )
            out[i] = got
        return out


def read_tariff_table(path: str | Path) -> TariffTable:
    """Read a tariff CSV: ``category,first_year,last_year,toman_per_kwh[,source][,date]``.

    Each category must cover contract years 1–20 exactly once. The result replaces the built-in
    table's categories of the same names (:meth:`TariffTable.merged`).

    Raises
    ------
    InputError
        Unreadable or malformed file; the message names the line.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"tariff table not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read tariff table {p}: {exc}") from None
    return parse_tariff_table(text, p.name)


def parse_tariff_table(text: str, source: str = "tariffs") -> TariffTable:
    """Validate tariff CSV text (see :func:`read_tariff_table`)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        lines = [(reader.line_num, [c.strip() for c in row]) for row in reader]
    except csv.Error as exc:
        raise InputError(f"{source} line {reader.line_num}: not valid CSV ({exc})") from None
    lines = [(n, r) for n, r in lines if r and any(r) and not r[0].startswith("#")]
    if not lines:
        raise InputError(f"{source}: empty (expected a header {','.join(CSV_COLUMNS[:4])})")
    head_line, header = lines[0]
    missing = [c for c in CSV_COLUMNS[:4] if c not in header]
    if missing:
        raise InputError(f"{source} line {head_line}: missing column(s) {', '.join(missing)}")
    col = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    rows: list[TariffRow] = []
    for n, r in lines[1:]:
        if len(r) != len(header):
            raise InputError(f"{source} line {n}: {len(r)} fields, the header has {len(header)}")
        where = f"{source} line {n}"
        category = r[col["category"]]
        if not _CATEGORY_RE.fullmatch(category):
            raise InputError(f"{where}: category {category!r} (letters, digits, '-', '_')")
        try:
            first, last = int(r[col["first_year"]]), int(r[col["last_year"]])
        except ValueError:
            raise InputError(f"{where}: first_year and last_year must be whole years") from None
        if not 1 <= first <= last <= CONTRACT_YEARS:
            raise InputError(
                f"{where}: years {first}–{last} must lie within 1–{CONTRACT_YEARS}, first <= last"
            )
        try:
            rate = float(r[col["toman_per_kwh"]])
        except ValueError:
            value = r[col["toman_per_kwh"]]
            raise InputError(f"{where}: toman_per_kwh {value!r} is not a number") from None
        if not math.isfinite(rate) or rate < 0:
            raise InputError(f"{where}: toman_per_kwh must be a finite number >= 0")
        src = r[col["source"]] if "source" in col else ""
        date = r[col["date"]] if "date" in col else ""
        rows.append(TariffRow(category, first, last, rate, src or source, date))
    if not rows:
        raise InputError(f"{source}: no rates (a header but no rows)")
    table = TariffTable(tuple(rows))
    for category in table.categories:
        years = np.zeros(CONTRACT_YEARS, dtype=int)
        for row in table.rows:
            if row.category == category:
                years[row.first_year - 1 : row.last_year] += 1
        bad = np.flatnonzero(years != 1)
        if bad.size:
            y = int(bad[0]) + 1
            what = "no rate" if years[bad[0]] == 0 else "more than one rate"
            raise InputError(f"{source}: category {category!r} has {what} for contract year {y}")
    return table


def plant_categories(plants: pd.DataFrame) -> list[str]:
    """Each plant's tariff category (``tariff_category``, else :data:`DEFAULT_CATEGORY`)."""
    if "tariff_category" not in plants:
        return [DEFAULT_CATEGORY] * len(plants)
    return [c if c else DEFAULT_CATEGORY for c in plants["tariff_category"].astype(str)]


def contract_starts(plants: pd.DataFrame, default_year: int) -> np.ndarray:
    """Each plant's contract start (``contract_start``, else 1 January of ``default_year``).

    Returns
    -------
    numpy.ndarray of datetime64[D]
    """
    default = np.datetime64(f"{default_year:04d}-01-01", "D")
    if "contract_start" not in plants:
        return np.full(len(plants), default)
    cells = plants["contract_start"].astype(str).to_numpy()
    out = np.full(len(plants), default)
    given = cells != ""
    out[given] = cells[given].astype("datetime64[D]")
    return out


@dataclass(frozen=True)
class Projection:
    """The 20 contract years of each plant.

    Attributes
    ----------
    energy_kwh : numpy.ndarray
        (n_plants, 20) energy sold in each contract year. [kWh]
    tariff_toman_per_kwh : numpy.ndarray
        (n_plants, 20) the contract's rate. [toman/kWh]
    """

    energy_kwh: np.ndarray
    tariff_toman_per_kwh: np.ndarray

    @property
    def income_toman(self) -> np.ndarray:
        """(n_plants, 20) income of each contract year. [toman]"""
        return self.energy_kwh * self.tariff_toman_per_kwh

    def totals(self) -> dict[str, np.ndarray]:
        """Per plant: ``income_year1_toman``, ``income_lifetime_toman``,
        ``income_lifetime_rial``, ``energy_lifetime_kwh``."""
        income = self.income_toman
        return {
            "income_year1_toman": income[:, 0],
            "income_lifetime_toman": income.sum(axis=1),
            "income_lifetime_rial": income.sum(axis=1) * RIAL_PER_TOMAN,
            "energy_lifetime_kwh": self.energy_kwh.sum(axis=1),
        }

    def plant_table(
        self,
        plant_ids: Sequence[str],
        provinces: Sequence[str],
        categories: Sequence[str],
        starts: np.ndarray,
    ) -> pd.DataFrame:
        """Long table, one row per plant and contract year: ``plant_id``, ``province``,
        ``tariff_category``, ``contract_year`` (1–20), ``year_start`` (date the contract year
        begins), ``energy_kwh``, ``tariff_toman_per_kwh``, ``income_toman``, ``income_rial``."""
        n, years = self.energy_kwh.shape
        k = np.tile(np.arange(years), n)
        rep = np.repeat(np.arange(n), years)
        income = self.income_toman.reshape(-1)
        return pd.DataFrame(
            {
                "plant_id": np.asarray(plant_ids, dtype=object)[rep],
                "province": np.asarray(provinces, dtype=object)[rep],
                "tariff_category": np.asarray(categories, dtype=object)[rep],
                "contract_year": k + 1,
                "year_start": _add_years(np.asarray(starts, "datetime64[D]")[rep], k),
                "energy_kwh": self.energy_kwh.reshape(-1),
                "tariff_toman_per_kwh": self.tariff_toman_per_kwh.reshape(-1),
                "income_toman": income,
                "income_rial": income * RIAL_PER_TOMAN,
            }
        )

    def region_table(self, provinces: Sequence[str]) -> pd.DataFrame:
        """One row per region (each province, ``(none)`` for plants without one, and
        ``(fleet)``) and contract year: ``region``, ``contract_year``, ``plants``,
        ``energy_kwh``, ``income_toman``, ``income_rial``."""
        names = np.array([p if p else NO_PROVINCE for p in provinces], dtype=object)
        income = self.income_toman
        groups = [(r, names == r) for r in sorted(set(names.tolist()))]
        groups.append((FLEET_REGION, np.ones(len(names), dtype=bool)))
        rows = []
        for region, members in groups:
            e = self.energy_kwh[members].sum(axis=0)
            m = income[members].sum(axis=0)
            for y in range(self.energy_kwh.shape[1]):
                rows.append(
                    {
                        "region": region,
                        "contract_year": y + 1,
                        "plants": int(members.sum()),
                        "energy_kwh": float(e[y]),
                        "income_toman": float(m[y]),
                        "income_rial": float(m[y]) * RIAL_PER_TOMAN,
                    }
                )
        return pd.DataFrame(rows)


def project(
    energy_year1_kwh: np.ndarray,
    rates_toman_per_kwh: np.ndarray,
    degradation_per_year: float = DEGRADATION_PER_YEAR,
) -> Projection:
    """Energy and income of each contract year.

    Parameters
    ----------
    energy_year1_kwh : numpy.ndarray
        (n_plants,) energy sold in the first contract year. [kWh]
    rates_toman_per_kwh : numpy.ndarray
        (n_plants, n_years) the contract's rate of each year (:meth:`TariffTable.plant_rates`).
        [toman/kWh]
    degradation_per_year : float
        Yearly loss of output; year ``n`` yields ``(1 - d)**(n - 1)`` of the first. [1/year]

    Returns
    -------
    Projection
    """
    if not 0.0 <= degradation_per_year < 1.0:
        raise InputError(f"degradation must lie in [0, 100) %/year, not {degradation_per_year:g}")
    e1 = np.asarray(energy_year1_kwh, dtype=float)
    rates = np.asarray(rates_toman_per_kwh, dtype=float)
    keep = (1.0 - degradation_per_year) ** np.arange(rates.shape[1])
    return Projection(e1[:, None] * keep[None, :], rates)


def _add_years(start: np.ndarray, years: np.ndarray) -> np.ndarray:
    """``start`` + ``years`` calendar years (29 February → 28 February). [datetime64[D]]"""
    month = start.astype("datetime64[M]")
    day = (start - month.astype("datetime64[D]")).astype(int)
    target = month + 12 * years
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(int)
    return target.astype("datetime64[D]") + np.minimum(day, length - 1)
