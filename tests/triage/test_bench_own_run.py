"""``benchmarks/bench_triage.py`` measures detection on a fleet, faults and cuts of the
reader's own (``--fleet``, ``--faults``, ``--cuts FILE``), as an outside check would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from telemetry.registry import sample_fleet_path

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_triage.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_own_fleet_faults_and_schedule(tmp_path: Path) -> None:
    (tmp_path / "faults.csv").write_text(
        "plant_id,kind,start,end,severity\n"
        "THR-000001,inverter_fault,2025-07-01T10:00+03:30,,1\n"
        "THR-000002,string_fault,2025-07-01T16:30+03:30,,0.5\n"
    )
    # A feeder of the sample fleet cut twice a day at hours of our own.
    rows = ["start,end,zone"]
    for day in (1, 2):
        rows.append(f"2025-07-0{day}T11:00+03:30,2025-07-0{day}T13:00+03:30,THR-Z1")
        rows.append(f"2025-07-0{day}T19:00+03:30,2025-07-0{day}T21:00+03:30,THR-Z1")
    (tmp_path / "cuts.csv").write_text("\n".join(rows) + "\n")
    proc = _bench(
        "--fleet",
        str(sample_fleet_path()),
        "--faults",
        "faults.csv",
        "--cuts",
        "cuts.csv",
        "--days",
        "2",
        "--speed-plants",
        "",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())  # rich wraps long lines
    assert "39 plants of" in out
    assert "faults of faults.csv" in out
    assert "2 faults, 4 cuts (cuts.csv)" in out
    assert "inverter_fault" in out
    assert "string_fault" in out
    assert "0 findings on fault-free plants start in a cut hour" in out


def test_a_bad_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "faults.csv").write_text("plant_id,kind,start,end,severity\nNOPE,offline,x,,1\n")
    proc = _bench(
        "--fleet",
        str(sample_fleet_path()),
        "--faults",
        "faults.csv",
        "--days",
        "1",
        "--speed-plants",
        "",
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stdout
    assert "faults.csv" in errors[0]
    assert "Traceback" not in proc.stderr
