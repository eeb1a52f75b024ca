"""The purchase contract in ``roshanai simulate fleet`` and ``outage``, as a user runs them
(real subprocesses): categories, contract starts, tariff tables, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from telemetry.registry import sample_fleet_path
from tests.roshanai.test_cli import assert_one_line_error, cache_dir, roshanai

__all__ = ["cache_dir"]  # the session fixture, shared with test_cli

SHAPED = (
    "category,first_year,last_year,toman_per_kwh,source,date\n"
    "household,1,7,2500,test,2025\n"
    "household,8,20,1500,test,2025\n"
)


def _fleet(tmp_path: Path, category: str = "relief_committee", start: str = "2023-03-21") -> str:
    lines = [
        line
        for line in sample_fleet_path().read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    rows = [f"{lines[0]},tariff_category,contract_start"]
    rows += [
        f"{r},{category if i == 1 else ''},{start if i == 2 else ''}"
        for i, r in enumerate(lines[1:4])
    ]
    (tmp_path / "fleet.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return "fleet.csv"


def test_fleet_projects_the_contract(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "t.csv").write_text(SHAPED, encoding="utf-8")
    args = ("simulate", "fleet", _fleet(tmp_path), "--no-plot", "--summary", "out/s.csv")
    proc = roshanai(*args, "--tariff-table", "t.csv", cwd=tmp_path, cache=cache_dir)
    assert proc.returncode == 0, proc.stderr
    assert "20 years" in proc.stdout
    assert "billion rial" in proc.stdout
    s = pd.read_csv(tmp_path / "out" / "s.csv").set_index("plant_id")
    assert s.tariff_category.tolist() == ["household", "relief_committee", "household"]
    assert s.contract_start.tolist() == ["2025-01-01", "2025-01-01", "2023-03-21"]
    want = (s.ac_energy_kwh * [2500, 4580, 2500]).tolist()
    assert s.income_year1_toman.tolist() == pytest.approx(want)
    plants = pd.read_csv(tmp_path / "out" / "s_contract.csv")
    assert len(plants) == 60
    first = plants[plants.plant_id == s.index[0]].set_index("contract_year")
    assert first.tariff_toman_per_kwh[7] == 2500
    assert first.tariff_toman_per_kwh[8] == 1500
    assert first.energy_kwh[20] == pytest.approx(s.ac_energy_kwh.iloc[0] * 0.995**19)
    third = plants[plants.plant_id == s.index[2]].set_index("contract_year")
    assert third.year_start[3] == "2025-03-21"
    regions = pd.read_csv(tmp_path / "out" / "s_contract_regions.csv")
    fleet = regions[regions.region == "(fleet)"]
    assert fleet.income_toman.sum() == pytest.approx(s.income_lifetime_toman.sum())
    assert regions.income_rial.tolist() == pytest.approx((10 * regions.income_toman).tolist())


def test_flat_tariff_and_degradation(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate", "fleet", _fleet(tmp_path), "--no-plot", "--summary", "s.csv",
        "--tariff", "1000", "--degradation-pct", "0", cwd=tmp_path, cache=cache_dir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    s = pd.read_csv(tmp_path / "s.csv")
    assert s.income_lifetime_toman.tolist() == pytest.approx((20_000 * s.ac_energy_kwh).tolist())


def test_outage_projects_the_exported_energy(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate", "outage", _fleet(tmp_path), "--scenario", "summer", "--no-plot",
        "--summary", "o.csv", cwd=tmp_path, cache=cache_dir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "20 years" in proc.stdout
    assert "gas margin" in proc.stdout
    s = pd.read_csv(tmp_path / "o.csv")
    want = (s.exported_kwh * [2500, 4580, 2500]).tolist()
    assert s.income_toman.tolist() == pytest.approx(want)
    assert s.co2_avoided_grid_kg.tolist() == pytest.approx((0.655 * s.exported_kwh).tolist())
    regions = pd.read_csv(tmp_path / "o_regions.csv")
    year = regions[(regions.calendar == "year") & (regions.region == "(fleet)")].iloc[0]
    assert year.income_toman == pytest.approx(s.income_toman.sum())
    contract = pd.read_csv(tmp_path / "o_contract_regions.csv")
    assert contract[contract.region == "(fleet)"].income_toman.sum() == pytest.approx(
        s.income_lifetime_toman.sum()
    )


@pytest.mark.parametrize("command", ["fleet", "outage"])
@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("category", "tariff_category 'widow' is not in the tariff table"),
        ("date", "column contract_start: '21/03/2023' is not a date"),
        ("table", "t.csv: category 'household' has no rate for contract year 8"),
    ],
)
def test_bad_contract_input_is_one_line_and_writes_nothing(
    command: str, case: str, needle: str, tmp_path: Path, cache_dir: Path
) -> None:
    fleet = _fleet(
        tmp_path,
        category="widow" if case == "category" else "",
        start="21/03/2023" if case == "date" else "",
    )
    (tmp_path / "t.csv").write_text(SHAPED.splitlines()[0] + "\nhousehold,1,7,2500,x,y\n")
    extra = ["--tariff-table", "t.csv"] if case == "table" else []
    scenario = ["--scenario", "summer"] if command == "outage" else []
    proc = roshanai(
        "simulate", command, fleet, *scenario, *extra, "--out-dir", "out",
        cwd=tmp_path, cache=cache_dir,
    )  # fmt: skip
    assert_one_line_error(proc, 2, needle)
    assert not (tmp_path / "out").exists()
