"""Shared fixtures: real mosquitto, influxd and VictoriaMetrics servers on free loopback ports.

- ``mosquitto``: a fresh broker per test (persistence on; ``.stop()``/``.start()`` restarts it
  on the same port and data); ``make_mosquitto(**kwargs)`` for more, or from a config file.
- ``influxd``: one influxd 1.6.7 for the session; ``influx_db`` a fresh database per test on it.
  Tests that stop, kill or reconfigure influxd take their own from ``make_influxd(**kwargs)``.
- ``victoria_metrics``: one VictoriaMetrics for the session.

Every server is stopped at the end, also when the test fails. A missing binary fails the test
(it does not skip it) with the hint to run ``bin/bootstrap --services``. Tests using any of
these fixtures get the ``services`` marker automatically, so ``-m "not services"`` leaves them
out.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.servers import (
    InfluxD,
    MissingBinaryError,
    Mosquitto,
    ServerProcess,
    VictoriaMetrics,
)

SERVICE_FIXTURES = frozenset(
    {
        "mosquitto",
        "make_mosquitto",
        "influxd",
        "influx_db",
        "make_influxd",
        "victoria_metrics",
    }
)

S = TypeVar("S", bound=ServerProcess)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)


def _create(cls: type[S], workdir: Path, **kwargs: Any) -> S:
    try:
        return cls(workdir, **kwargs)
    except MissingBinaryError as exc:
        pytest.fail(str(exc), pytrace=False)


@contextlib.contextmanager
def _running(server: S) -> Iterator[S]:
    try:
        server.start()
        yield server
    finally:
        server.stop(timeout_s=15)


@contextlib.contextmanager
def _factory(cls: type[S], base: Path) -> Iterator[Callable[..., S]]:
    servers: list[S] = []

    def make(**kwargs: Any) -> S:
        server = _create(cls, base / f"{cls.name}-{len(servers)}", **kwargs)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop(timeout_s=15)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh, empty mosquitto broker (anonymous, persistent) for this test."""
    with _running(_create(Mosquitto, tmp_path / "mosquitto")) as server:
        yield server


@pytest.fixture
def make_mosquitto(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """``make_mosquitto(config_file=..., options=..., extra_lines=...)`` -> a started broker."""
    with _factory(Mosquitto, tmp_path) as make:
        yield make


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxD]:
    """The session's influxd 1.6.7; do not stop it (use ``make_influxd`` for that)."""
    with _running(_create(InfluxD, tmp_path_factory.mktemp("influxd"))) as server:
        yield server


@pytest.fixture
def influx_db(influxd: InfluxD) -> Iterator[str]:
    """The name of a new, empty database on the session's influxd; dropped afterwards."""
    if not influxd.running:  # a test stopped the shared server after all: bring it back
        influxd.start()
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxd.create_database(name)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            influxd.drop_database(name)


@pytest.fixture
def make_influxd(tmp_path: Path) -> Iterator[Callable[..., InfluxD]]:
    """``make_influxd(http_options=..., extra_config=...)`` -> a private, started influxd."""
    with _factory(InfluxD, tmp_path) as make:
        yield make


@pytest.fixture(scope="session")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """The session's VictoriaMetrics (series are ``<measurement>_<field>``)."""
    with _running(_create(VictoriaMetrics, tmp_path_factory.mktemp("victoria-metrics"))) as vm:
        yield vm
