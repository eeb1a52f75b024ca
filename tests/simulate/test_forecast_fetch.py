"""``simulate forecast --fetch`` against a local HTTP server that replays Open-Meteo's
answer (the shape of JsonWriter.swift for several locations: a JSON list, unixtime, m/s)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from simulate.forecast import forecast_from_open_meteo
from simulate.forecast_fetch import fetch_open_meteo
from telemetry.errors import ServiceError, ServiceUnreachable
from tests.roshanai.test_cli import assert_one_line_error, cache_dir, roshanai
from tests.simulate.test_forecast import _open_meteo_json

__all__ = ["cache_dir"]


def _answer(query: dict[str, list[str]]) -> tuple[int, object]:
    lats = [float(x) for x in query["latitude"][0].split(",")]
    lons = [float(x) for x in query["longitude"][0].split(",")]
    if any(not -90 <= x <= 90 for x in lats):
        return 400, {"error": True, "reason": "Latitude must be in range of -90 to 90°."}
    members = 3 if "ensemble" in query.get("models", [""])[0] else 0
    out = []
    for k, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
        doc = _open_meteo_json(members=members)
        utc = pd.date_range("2026-07-01T00:00Z", periods=48, freq="h")
        doc["hourly"]["time"] = [int(t.timestamp()) for t in utc]
        doc["hourly_units"]["time"] = "unixtime"
        doc["utc_offset_seconds"], doc["timezone"] = 0, "GMT"
        for key in list(doc["hourly"]):
            if key.startswith("wind_speed_10m"):
                doc["hourly"][key] = [2.0] * 48
                doc["hourly_units"][key] = "m/s"
        doc.update(latitude=lat, longitude=lon, location_id=k)
        out.append(doc)
    return 200, out if len(out) > 1 else out[0]


@pytest.fixture
def replay() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A local server on 127.0.0.1 answering like Open-Meteo; yields its URL and the queries."""
    seen: list[dict[str, list[str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            seen.append(query)
            status, body = _answer(query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/forecast", seen
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_asks_for_the_variables_in_utc_and_m_per_s(replay) -> None:
    url, seen = replay
    doc = fetch_open_meteo([35.7, 29.5], [51.4, 60.9], url=url, days=2)
    q = seen[0]
    assert q["hourly"][0].split(",") == [
        "shortwave_radiation",
        "direct_normal_irradiance",
        "diffuse_radiation",
        "temperature_2m",
        "wind_speed_10m",
    ]
    assert q["timezone"] == ["GMT"]
    assert q["timeformat"] == ["unixtime"]
    assert q["wind_speed_unit"] == ["ms"]
    assert q["forecast_days"] == ["2"]
    assert "models" not in q
    fc = forecast_from_open_meteo(doc)
    assert fc.n_locations == 2
    assert fc.labels[0] == pd.Timestamp("2026-07-01T00:00Z")
    assert fc.data["wind_speed"][0, 1, 5] == pytest.approx(2.0)


def test_fetch_ensemble_names_the_model(replay) -> None:
    url, seen = replay
    doc = fetch_open_meteo([35.7], [51.4], url=url, ensemble=True)
    assert seen[0]["models"] == ["ecmwf_ifs025_ensemble"]
    assert forecast_from_open_meteo(doc).n_members == 4


def test_fetch_errors_are_said(replay) -> None:
    url, _ = replay
    with pytest.raises(ServiceError, match="HTTP 400: Latitude must be in range"):
        fetch_open_meteo([95.0], [51.4], url=url)
    with pytest.raises(ServiceUnreachable, match="cannot reach Open-Meteo"):
        fetch_open_meteo([35.7], [51.4], url="http://127.0.0.1:9/v1/forecast", timeout_s=2)


def test_cli_fetch_saves_the_answer_and_runs_on_it(replay, tmp_path: Path, cache_dir: Path) -> None:
    url, seen = replay
    proc = roshanai(
        "simulate",
        "forecast",
        "--fetch",
        "--api-url",
        url,
        "--out-dir",
        "out",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(seen) == 1  # the sample fleet's cells fit one request
    saved = tmp_path / "out" / "forecast_fetched.json"
    first = pd.read_csv(tmp_path / "out" / "forecast_plants.csv")
    # The saved answer is a forecast file: the same run offline gives the same figures.
    proc = roshanai(
        "simulate",
        "forecast",
        "--forecast",
        str(saved),
        "--out-dir",
        "again",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert proc.returncode == 0, proc.stderr
    again = pd.read_csv(tmp_path / "again" / "forecast_plants.csv")
    pd.testing.assert_frame_equal(first, again)
    assert first["plant_id"].nunique() == 39  # every plant sits on its own cell's forecast


def test_cli_fetch_without_network_is_one_line(tmp_path: Path, cache_dir: Path) -> None:
    proc = roshanai(
        "simulate",
        "forecast",
        "--fetch",
        "--api-url",
        "http://127.0.0.1:9/v1/forecast",
        "--out-dir",
        "out",
        cwd=tmp_path,
        cache=cache_dir,
    )
    assert_one_line_error(proc, 3, "cannot reach Open-Meteo")
    assert not (tmp_path / "out" / "forecast_fetched.json").exists()
    proc = roshanai(
        "simulate", "forecast", "--forecast", "x.json", "--fetch", cwd=tmp_path, cache=cache_dir
    )
    assert_one_line_error(proc, 2, "exclude each other")
