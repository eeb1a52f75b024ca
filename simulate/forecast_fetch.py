"""``simulate forecast --fetch``: ask Open-Meteo for the forecast of the fleet's weather cells.

One request per :data:`CHUNK_LOCATIONS` cells (the API takes comma-separated coordinate lists
and answers a JSON list, one object per location), for the hourly variables
:data:`simulate.forecast.OPEN_METEO_HOURLY` in UTC (``timezone=GMT``, ``timeformat=unixtime``)
and m/s (``wind_speed_unit=ms``). The answers are saved as one JSON list — a file
:func:`simulate.forecast.read_forecast` reads like any saved response, so a fetched run can be
repeated offline — and parsed by the same code as saved files.

Endpoints and parameters as Open-Meteo's OpenAPI files (``openapi/forecast.yml``,
``openapi/ensemble.yml`` of open-meteo/open-meteo, read 2026-12-01): ``/v1/forecast`` on
``api.open-meteo.com``; ``/v1/ensemble`` on ``ensemble-api.open-meteo.com`` with ``models``
(default here ``ecmwf_ifs025_ensemble``: ECMWF IFS 0.25°, 51 members).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import urllib3

from simulate.forecast import OPEN_METEO_HOURLY
from telemetry.errors import InputError, ServiceError, ServiceUnreachable

__all__ = [
    "CHUNK_LOCATIONS",
    "DEFAULT_ENSEMBLE_MODEL",
    "ENSEMBLE_URL",
    "FORECAST_URL",
    "fetch_open_meteo",
]

FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
ENSEMBLE_URL = "https://ensemble-api.open-meteo.com/v1/ensemble"
DEFAULT_ENSEMBLE_MODEL = "ecmwf_ifs025_ensemble"
#: Locations per request (keeps the URL short).
CHUNK_LOCATIONS = 100


def fetch_open_meteo(
    latitude_deg: Sequence[float],
    longitude_deg: Sequence[float],
    *,
    days: int = 2,
    ensemble: bool = False,
    model: str | None = None,
    url: str | None = None,
    timeout_s: float = 60.0,
) -> list[dict]:
    """The Open-Meteo responses for some locations, as one list of location objects.

    Parameters
    ----------
    latitude_deg, longitude_deg : sequence of float
        Locations [degree].
    days : int
        ``forecast_days`` (1–16; today counts as the first). [day]
    ensemble : bool
        The ensemble API (every member) instead of the deterministic forecast.
    model : str, optional
        ``models=``; default: the API's own for a forecast, :data:`DEFAULT_ENSEMBLE_MODEL` for
        an ensemble.
    url : str, optional
        Endpoint (a mirror, a test server); default :data:`FORECAST_URL` or
        :data:`ENSEMBLE_URL`.
    timeout_s : float
        Per request. [s]

    Raises
    ------
    ServiceUnreachable
        No answer (no network, refused, timed out).
    ServiceError
        The API answered an error (its ``reason``) or something that is not its JSON.
    """
    if not 1 <= days <= 16:
        raise InputError(f"--days must lie in 1–16, not {days}")
    if len(latitude_deg) != len(longitude_deg) or not len(latitude_deg):
        raise InputError("no location to fetch a forecast for")
    endpoint = url or (ENSEMBLE_URL if ensemble else FORECAST_URL)
    chosen = model or (DEFAULT_ENSEMBLE_MODEL if ensemble else None)
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(total=timeout_s), retries=urllib3.Retry(2, backoff_factor=0.5)
    )
    out: list[dict] = []
    for a in range(0, len(latitude_deg), CHUNK_LOCATIONS):
        lat = latitude_deg[a : a + CHUNK_LOCATIONS]
        lon = longitude_deg[a : a + CHUNK_LOCATIONS]
        fields = {
            "latitude": ",".join(f"{x:.4f}" for x in lat),
            "longitude": ",".join(f"{x:.4f}" for x in lon),
            "hourly": ",".join(OPEN_METEO_HOURLY),
            "timezone": "GMT",
            "timeformat": "unixtime",
            "wind_speed_unit": "ms",
            "forecast_days": str(days),
        }
        if chosen:
            fields["models"] = chosen
        try:
            resp = http.request("GET", endpoint, fields=fields)
        except urllib3.exceptions.HTTPError as exc:
            reason = str(getattr(exc, "reason", None) or exc).split(": ")[-1]
            raise ServiceUnreachable("Open-Meteo", endpoint, reason.lower()[:120]) from None
        try:
            doc = json.loads(resp.data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ServiceError(
                f"Open-Meteo at {endpoint} answered HTTP {resp.status} that is not JSON"
            ) from None
        if resp.status != 200 or (isinstance(doc, dict) and doc.get("error")):
            reason = doc.get("reason", "") if isinstance(doc, dict) else ""
            raise ServiceError(f"Open-Meteo at {endpoint} answered HTTP {resp.status}: {reason}")
        part = doc if isinstance(doc, list) else [doc]
        if len(part) != len(lat):
            raise ServiceError(
                f"Open-Meteo answered {len(part)} location(s) for the {len(lat)} asked"
            )
        out.extend(part)
    return out
