"""The seeded InfluxDB shared by the dashboard tests (built once per session, ~30 s)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest

from tests.dashboards.seed import Scenario, seed
from tests.servers import InfluxD, MissingBinaryError, Mosquitto


@pytest.fixture(scope="session")
def scenario(influxd: InfluxD, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """A day of a 40-plant fleet through the bridge, simulations and rollups (see seed.py)."""
    work = tmp_path_factory.mktemp("dashboards")
    try:
        broker = Mosquitto(work / "mosquitto")
    except MissingBinaryError as exc:
        pytest.fail(str(exc), pytrace=False)
    name = f"dash_{uuid.uuid4().hex[:10]}"
    influxd.create_database(name)
    try:
        with broker:
            sc = seed(influxd.url, name, broker.url, work)
        yield sc
    finally:
        with contextlib.suppress(Exception):
            influxd.drop_database(name)


@pytest.fixture
def store(scenario: Scenario):
    from telemetry.influx import InfluxStore

    with InfluxStore(scenario.url, scenario.database, timeout_s=60) as s:
        yield s
