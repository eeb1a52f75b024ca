"""A fleet with personal columns, its deployed broker files, and helpers to speak to the broker.

The fleet file carries what a real registry might: household name, national id, street address.
Their values are distinctive strings so any test can grep for them anywhere they must not be.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from roshanai.cli import main
from tests.servers import MissingBinaryError, Mosquitto, free_port

PERSONAL = {
    "name": ["Zahra QXNAME-A", "Reza QXNAME-B", "Maryam QXNAME-C"],
    "national_id": ["QXNID-0012345678", "QXNID-0087654321", "QXNID-0011122233"],
    "address": ["QXADDR Kuche Golha 17", "QXADDR Khiaban Azadi 4", "QXADDR Shahrak 9"],
}
PERSONAL_VALUES = [v for values in PERSONAL.values() for v in values]
PLANTS = ["THR-000001", "THR-000002", "ISF-000001"]
DTU_SERIAL = "114182345678"  # OpenDTU serial of the third plant
GATEWAYS: dict[str, tuple[str, str]] = {"ISF-000001": (DTU_SERIAL, "")}
"""plant_id → (its ``inverter_serial`` cell, its ``inverter_name`` cell) in :func:`write_fleet`."""


def write_fleet(
    path: Path, plants: list[str] = PLANTS, gateways: Mapping[str, tuple[str, str]] = GATEWAYS
) -> Path:
    """A small valid fleet whose extra columns are personal data."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "plant_id",
                "latitude",
                "longitude",
                "altitude_m",
                "province",
                "dc_kwp",
                "ac_kw",
                "tilt_deg",
                "azimuth_deg",
                "name",
                "national_id",
                "address",
                "inverter_serial",
                "inverter_name",
            ]
        )
        for i, plant in enumerate(plants):
            k = i % 3
            serials, names = gateways.get(plant, ("", ""))
            w.writerow(
                [
                    plant,
                    35.7 - i * 0.01,
                    51.4,
                    1190,
                    "Tehran" if k < 2 else "Isfahan",
                    5.0,
                    5.0,
                    30,
                    180,
                    PERSONAL["name"][k],
                    PERSONAL["national_id"][k],
                    PERSONAL["address"][k],
                    serials,
                    names,
                ]
            )
    return path


@dataclass
class Deployed:
    """A deployment directory and what tests need from it."""

    out: Path
    fleet: Path
    port: int
    passwords: dict[str, str]

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    @property
    def ca(self) -> str:
        return str(self.out / "ca.crt")


def deploy(
    out: Path, fleet: Path, *extra: str, port: int | None = None, data_dir: Path | None = None
) -> Deployed:
    """Run ``roshanai deploy mosquitto`` (exit code 0 asserted) and read its credentials."""
    port = port or free_port()
    data_dir = data_dir or out.parent / f"{out.name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "deploy",
        "mosquitto",
        "--fleet",
        str(fleet),
        "--out",
        str(out),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--data-dir",
        str(data_dir),
        "--key-type",
        "ec",
        "--tls-hostname",
        "127.0.0.1",
        *extra,
    ]
    assert main(args) == 0
    with (out / "credentials.csv").open(newline="") as f:
        passwords = {row["username"]: row["password"] for row in csv.DictReader(f)}
    return Deployed(out, fleet, port, passwords)


def start_broker(d: Deployed, workdir: Path) -> Mosquitto:
    """A real mosquitto from the generated configuration (fails the test if not installed)."""
    try:
        return Mosquitto(workdir, config_file=d.out / "mosquitto.conf").start()
    except MissingBinaryError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    base = tmp_path_factory.mktemp("deploy")
    return deploy(base / "broker", write_fleet(base / "fleet.csv"), "--bridges", "2")


@pytest.fixture(scope="module")
def broker(deployed: Deployed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One broker from ``deployed`` for the module (tests use clean sessions)."""
    server = start_broker(deployed, tmp_path_factory.mktemp("broker-run"))
    try:
        yield server
    finally:
        server.stop(timeout_s=15)
        shutil.rmtree(server.workdir, ignore_errors=True)
