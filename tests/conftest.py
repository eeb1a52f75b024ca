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

No test sees the developer's own configuration: every test runs with ``HOME`` (and
``XDG_CONFIG_HOME``) in a fresh temporary directory, from a fresh temporary working directory
(so neither ``~/.config/roshanai/config.toml`` nor a ``./roshanai.toml`` is found), without the
``ROSHANAI_*`` settings variables of the calling shell, and with the caches (``XDG_CACHE_HOME``;
``MPLCONFIGDIR``, so no personal ``matplotlibrc`` either) in a directory of the test session.
Subprocesses inherit all of it. Only the variables that locate the server binaries
(``HARNESS_VARIABLES``) are kept.
"""

from __future__ import annotations

import contextlib
import os
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

HARNESS_VARIABLES = frozenset(
    {"ROSHANAI_MOSQUITTO", "ROSHANAI_INFLUXD", "ROSHANAI_VICTORIA_METRICS"}
)
"""``ROSHANAI_*`` variables kept for the tests: where the server binaries are
(``tests/servers.py``), not settings of the code under test."""


@pytest.fixture(scope="session")
def _session_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches shared by the session's tests (generated weather cells, matplotlib's font list)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    _session_cache_dir: Path,
) -> Path:
    """Every test: a fresh empty ``HOME`` (returned) and working directory, no ambient
    ``ROSHANAI_*`` settings. A directory apart from ``tmp_path``, so files a test writes there are
    not picked up as ``./roshanai.toml`` and a listing of ``tmp_path`` shows only the test's own."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("ROSHANAI_") and name not in HARNESS_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache_dir))
    monkeypatch.setenv("MPLCONFIGDIR", str(_session_cache_dir / "matplotlib"))  # no matplotlibrc
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    return home


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
