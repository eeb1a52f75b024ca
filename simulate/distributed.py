"""The fleet run split into plant chunks on a Dask cluster (``roshanai simulate fleet --dask``).

Each chunk is an ordinary :func:`simulate.fleet.run_fleet` call on a slice of the fleet, with the
weather scattered once to every worker; the chunks' results are stitched back in fleet order.
Plants are independent in the kernel, so the result equals the single-process run exactly.

``--dask local`` starts a :class:`distributed.LocalCluster` on this machine (one single-threaded
worker process per core) — the same code path as a remote ``tcp://scheduler:8786``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from simulate.fleet import FleetRun, default_fleet_weather, run_fleet
from simulate.weather import Weather
from telemetry.errors import InputError, ServiceError
from telemetry.registry import Fleet

__all__ = ["DEFAULT_CHUNK_PLANTS", "dask_client", "run_fleet_dask"]

DEFAULT_CHUNK_PLANTS = 2000
"""Plants per Dask task: large enough that scheduling costs little beside the kernel."""


@contextlib.contextmanager
def dask_client(address: str, timeout_s: float = 15.0) -> Iterator[object]:
    """A ``distributed.Client`` for ``address`` (``tcp://host:port``) or ``"local"``.

    Raises
    ------
    InputError
        Dask is not installed (``pip install roshanai[dask]``).
    ServiceError
        The scheduler cannot be reached within ``timeout_s``.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is in the lock file
        raise InputError(
            "--dask needs the optional dependency: pip install 'roshanai[dask]'"
        ) from exc
    if address == "local":
        cluster = LocalCluster(
            n_workers=max(1, min(os.cpu_count() or 1, 4)),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    if "://" not in address:
        raise InputError(f"--dask: expected tcp://host:port or 'local', got {address!r}")
    try:
        client = Client(address, timeout=timeout_s)
    except (OSError, TimeoutError) as exc:
        raise ServiceError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    try:
        yield client
    finally:
        client.close()


def _run_chunk(
    fleet: Fleet,
    weather: Weather,
    weather_index: np.ndarray,
    transposition: str,
    hourly: bool,
    timezone: str,
) -> FleetRun:
    return run_fleet(
        fleet,
        weather,
        transposition=transposition,
        hourly=hourly,
        timezone=timezone,
        weather_index=weather_index,
    )


def run_fleet_dask(
    fleet: Fleet,
    weather: Weather | None,
    address: str,
    *,
    transposition: str = "haydavies",
    hourly: bool = False,
    timezone: str = "Asia/Tehran",
    chunk_plants: int = DEFAULT_CHUNK_PLANTS,
    progress: Callable[[int], None] | None = None,
    weather_progress: Callable[[int, int], None] | None = None,
) -> FleetRun:
    """Like :func:`simulate.fleet.run_fleet`, with plant chunks run as Dask tasks.

    Parameters
    ----------
    fleet, weather, transposition, hourly, timezone
        As for :func:`simulate.fleet.run_fleet`.
    address : str
        Scheduler address (``tcp://scheduler:8786``) or ``"local"`` for a local cluster.
    chunk_plants : int
        Plants per task.
    progress : callable, optional
        Called with the number of plants done as chunks complete.
    weather_progress : callable, optional
        Called as ``(cells_done, cells_total)`` while the embedded weather is generated.

    Returns
    -------
    FleetRun
        Equal to the single-process result, plants in fleet order.
    """
    if not isinstance(chunk_plants, int) or chunk_plants < 1:
        raise InputError(f"chunk_plants must be a positive integer, not {chunk_plants!r}")
    if weather is None:
        weather, weather_index = default_fleet_weather(fleet, weather_progress)
    else:
        weather_index = np.zeros(len(fleet), dtype=np.int64)
    from distributed import as_completed

    bounds = [(a, min(a + chunk_plants, len(fleet))) for a in range(0, len(fleet), chunk_plants)]
    parts: dict[int, FleetRun] = {}
    with dask_client(address) as client:
        shared = client.scatter(weather, broadcast=True)  # type: ignore[attr-defined]
        futures = {
            client.submit(  # type: ignore[attr-defined]
                _run_chunk,
                fleet.subset(a, b),
                shared,  # type: ignore[attr-defined]
                weather_index[a:b],
                transposition,
                hourly,
                timezone,
                pure=False,
            ): i
            for i, (a, b) in enumerate(bounds)
        }
        done = 0
        for future in as_completed(futures):
            i = futures[future]
            parts[i] = future.result()
            done += bounds[i][1] - bounds[i][0]
            if progress is not None:
                progress(done)
    runs = [parts[i] for i in range(len(bounds))]
    first = runs[0]
    return FleetRun(
        summary=pd.concat([r.summary for r in runs], ignore_index=True),
        days=first.days,
        daily_ac_energy_kwh=np.concatenate([r.daily_ac_energy_kwh for r in runs]),
        hour_of_day_ac_energy_kwh=np.concatenate([r.hour_of_day_ac_energy_kwh for r in runs]),
        labels=first.labels,
        ac_power_w=(
            np.concatenate([r.ac_power_w for r in runs])  # type: ignore[misc]
            if hourly
            else None
        ),
        weather_source=first.weather_source,
        timezone=timezone,
        estimate=first.estimate,
    )
