"""Helpers of the bridge's end-to-end tests: a fleet, a reading stream, a paced publisher, the
bridge as a subprocess (``python -m roshanai bridge run``), and InfluxDB/spool inspection.

Every wait here is bounded in time. Readings of the stream have a unique ``(plant_id, ts)``, so
"stored exactly once" reads as: one point per published reading in ``inverter``, per plant, with
the published values, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Self

from firmware_bridge.mqtt import InboundMessage, MqttLink
from tests.servers import InfluxD
from tests.waits import wait_for

__all__ = [
    "BASE_MS",
    "PLANTS",
    "PROVINCES",
    "BridgeProcess",
    "Publisher",
    "bridge_metrics",
    "expected_per_plant",
    "points_per_plant",
    "publish_all",
    "quarantine_cli",
    "quarantine_counts",
    "query",
    "raw_publish",
    "reading",
    "retained_statuses",
    "spool_depth",
    "stored_count",
    "wait_for",
    "write_fleet",
]

PLANTS = [f"E2E-{i:04d}" for i in range(1, 21)]
"""The fleet of the tests: 20 plants of 5 kW (power limit 1.5 × 5 kW = 7,500 W)."""

PROVINCES = ["Tehran", "Khorasan Razavi, North=1", "اصفهان"]
"""Registry tag values; one has a comma, spaces and an equals sign for line protocol to escape."""

BASE_MS = (int(time.time() * 1000) - 2 * 86_400_000) // 3_600_000 * 3_600_000
"""Device time of the stream's first reading: two days ago, on the hour (always in the
validator's window: not in the future, not older than 400 days). [ms since the epoch]"""


#: OpenDTU serial of the second plant (its gateway is an OpenDTU).
DTU_SERIAL = "114190000002"


def write_fleet(path: Path, plants: Sequence[str] = PLANTS) -> Path:
    """Write the test fleet CSV (provinces cycle through :data:`PROVINCES`; the second plant
    has the OpenDTU inverter :data:`DTU_SERIAL`)."""
    rows = [
        "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province,inverter_serial"
    ]
    for k, pid in enumerate(plants):
        province = PROVINCES[k % len(PROVINCES)]
        rows.append(f'{pid},35.7,51.4,5,5,30,180,"{province}",{DTU_SERIAL if k == 1 else ""}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def reading(i: int, base_ms: int = BASE_MS) -> tuple[str, bytes]:
    """The i-th reading of the stream: plant ``i % 20``, one minute apart per plant.

    ``seq`` is ``i`` (sums per plant check the values, not only the count); the energy counter
    rises with ``i`` so no reading is a counter reset.
    """
    pid = PLANTS[i % len(PLANTS)]
    ts = base_ms + (i // len(PLANTS)) * 60_000
    body = {
        "v": 1,
        "plant_id": pid,
        "ts": ts,
        "seq": i,
        "ac_power_w": float(1000 + i % 997),
        "ac_voltage_v": 230.0,
        "energy_total_wh": 1_000_000 + i,
        "status": "producing",
    }
    return f"roshanai/v1/{pid}/telemetry", json.dumps(body).encode()


def expected_per_plant(indices: Iterable[int]) -> dict[str, tuple[int, int]]:
    """plant_id → (readings, sum of seq) for the stream readings ``indices``."""
    out: dict[str, tuple[int, int]] = {}
    for i in indices:
        pid = PLANTS[i % len(PLANTS)]
        n, s = out.get(pid, (0, 0))
        out[pid] = (n + 1, s + i)
    return out


# -- InfluxDB ----------------------------------------------------------------------------------


def query(server: InfluxD, db: str, influxql: str, *, epoch: str = "ms") -> list[dict[str, Any]]:
    """The series of one InfluxQL statement (``[]`` when there are none)."""
    body = server.query(influxql, db, epoch=epoch)
    return body["results"][0].get("series", [])


def stored_count(server: InfluxD, db: str) -> int:
    """Points in ``inverter`` (-1 while the server does not answer)."""
    try:
        series = query(server, db, "SELECT count(ac_power_w) FROM inverter")
    except Exception:
        return -1
    return int(series[0]["values"][0][1]) if series else 0


def points_per_plant(server: InfluxD, db: str) -> dict[str, tuple[int, int]]:
    """plant_id → (points, sum of seq) as stored."""
    series = query(server, db, "SELECT count(ac_power_w), sum(seq) FROM inverter GROUP BY plant_id")
    return {s["tags"]["plant_id"]: (int(s["values"][0][1]), int(s["values"][0][2])) for s in series}


def bridge_metrics(
    server: InfluxD,
    db: str,
    instance: str,
    fields: str = "received, stored, quarantined, duplicates, spool_depth, lag_s",
) -> list[dict[str, Any]]:
    """The ``bridge`` self-metrics points of one instance, oldest first, as dicts."""
    series = query(server, db, f"SELECT {fields} FROM bridge WHERE instance = '{instance}'")
    if not series:
        return []
    cols = series[0]["columns"]
    return [dict(zip(cols, row, strict=True)) for row in series[0]["values"]]


# -- spool -------------------------------------------------------------------------------------


def spool_depth(state_dir: Path) -> int:
    """Lines waiting in a (running) bridge's spool, read without writing to it."""
    con = sqlite3.connect(f"file:{state_dir / 'spool.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return int(con.execute("SELECT count(*) FROM outbox").fetchone()[0])
    finally:
        con.close()


def quarantine_counts(state_dir: Path) -> dict[str, int]:
    """Quarantined entries by reason in a (running) bridge's spool, read without writing."""
    con = sqlite3.connect(f"file:{state_dir / 'spool.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return dict(con.execute("SELECT reason, count(*) FROM quarantine GROUP BY reason"))
    finally:
        con.close()


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    env.update(COLUMNS="250", PYTHONUNBUFFERED="1", HOME=str(home))
    return env


def quarantine_cli(state_dir: Path, workdir: Path) -> tuple[dict[str, int], str]:
    """``roshanai bridge quarantine --state-dir``: (count by reason, the whole output)."""
    config = workdir / "empty.toml"
    config.touch()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "roshanai",
            "--config",
            str(config),
            "bridge",
            "quarantine",
            "--state-dir",
            str(state_dir),
            "--limit",
            "100",
        ],
        cwd=workdir,
        env=_clean_env(workdir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    counts: dict[str, int] = {}
    lines = out.stdout.splitlines()
    for line in lines[
        lines.index(next(ln for ln in lines if "reason" in ln and "count" in ln)) + 1 :
    ]:
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[1].replace(",", "").isdigit():
            counts[cells[0]] = int(cells[1].replace(",", ""))
        elif counts and not line.startswith(("│", "┃", "├", "┡", "┏", "┗", "└", "╇")):
            break
    return counts, out.stdout


# -- MQTT --------------------------------------------------------------------------------------


class Publisher(threading.Thread):
    """Publishes stream readings ``indices`` at QoS 1 from a thread, optionally paced.

    Backpressure: at most ``max_pending`` publishes wait for the broker's PUBACK. ``sent``
    counts the readings handed to the client; ``run()`` may also be called directly.
    """

    def __init__(
        self,
        url: str,
        indices: Sequence[int] | range,
        client_id: str,
        *,
        per_second: float | None = None,
        max_pending: int = 20,
        base_ms: int = BASE_MS,
    ) -> None:
        super().__init__(daemon=True, name=f"publisher-{client_id}")
        self.url, self.indices, self.client_id = url, indices, client_id
        self.per_second, self.max_pending, self.base_ms = per_second, max_pending, base_ms
        self.sent = 0
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.elapsed_s = 0.0

    def run(self) -> None:
        try:
            link = MqttLink(
                self.url, self.client_id, clean_start=True, max_pending_publishes=self.max_pending
            ).start()
            try:
                t0 = time.monotonic()
                for i in self.indices:
                    topic, payload = reading(i, self.base_ms)
                    link.publish(topic, payload, qos=1, timeout_s=30)
                    self.sent += 1
                    if self.per_second:
                        ahead = self.sent / self.per_second - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)  # the pace under test, not a wait
                if not link.wait_published(30):
                    raise AssertionError(f"{link.pending_publishes} publishes never acknowledged")
                self.elapsed_s = time.monotonic() - t0
            finally:
                link.stop(5)
        except BaseException as exc:  # reported by the test (check ``error`` after join)
            self.error = exc
        finally:
            self.done.set()

    def finish(self, timeout_s: float) -> None:
        """Join (bounded) and fail on the publisher's error."""
        self.join(timeout_s)
        assert not self.is_alive(), f"publisher still running after {timeout_s:g} s"
        assert self.error is None, f"publisher failed: {self.error!r}"


def publish_all(url: str, messages: Iterable[tuple[str, bytes]], client_id: str) -> None:
    """Publish (topic, payload) pairs at QoS 1 and wait until the broker took them all."""
    with MqttLink(url, client_id, clean_start=True, max_pending_publishes=20) as link:
        for topic, payload in messages:
            link.publish(topic, payload, qos=1, timeout_s=30)
        assert link.wait_published(30), "the broker did not acknowledge every publish"


def _mqtt_string(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _mqtt_packet(first: int, body: bytes) -> bytes:
    length, n = b"", len(body)
    while True:
        n, digit = divmod(n, 128)
        length += bytes([digit | (0x80 if n else 0)])
        if not n:
            return bytes([first]) + length + body


def raw_publish(host: str, port: int, topic: bytes, payload: bytes, timeout_s: float = 5.0) -> bool:
    """Publish at QoS 1 over a hand-made MQTT 3.1.1 connection, with topic bytes no client
    library would send (invalid UTF-8, control characters). True if the broker acknowledged
    the message, False if it closed the connection instead."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(
            _mqtt_packet(
                0x10, _mqtt_string(b"MQTT") + b"\x04\x02\x00\x3c" + _mqtt_string(b"raw-publisher")
            )
        )
        connack = sock.recv(4)
        assert connack == b"\x20\x02\x00\x00", connack  # CONNACK, accepted
        sock.sendall(_mqtt_packet(0x32, _mqtt_string(topic) + b"\x00\x01" + payload))
        try:
            answer = sock.recv(4)
        except ConnectionResetError:
            return False
        return answer[:1] == b"\x40"


def retained_statuses(
    url: str, plants: Sequence[str], wait_s: float = 3.0
) -> dict[str, dict[str, Any]]:
    """The retained ``roshanai/v1/<plant_id>/status`` of each plant, as a new subscriber gets it
    (those that come within ``wait_s``)."""
    got: dict[str, dict[str, Any]] = {}

    def on_message(msg: InboundMessage) -> None:
        if msg.retain:
            got[msg.topic.split("/")[2]] = json.loads(msg.payload)

    link = MqttLink(
        url,
        f"status-reader-{time.monotonic_ns()}",
        clean_start=True,
        on_message=on_message,
        subscriptions=[f"roshanai/v1/{p}/status" for p in plants],
    ).start()
    try:
        deadline = time.monotonic() + wait_s
        while set(got) < set(plants) and time.monotonic() < deadline:
            time.sleep(0.05)  # poll interval: returns the statuses that came within wait_s
    finally:
        link.stop()
    return got


class BridgeProcess:
    """``python -m roshanai bridge run`` in a subprocess, logging to ``<workdir>/<id>.log``.

    Settings come from flags only: the environment is stripped of ``ROSHANAI_*`` and the config
    file is an empty one in ``workdir`` (also the working directory and ``HOME``).
    """

    def __init__(
        self,
        mqtt_url: str,
        influx_url: str,
        db: str,
        state_dir: Path,
        fleet: Path,
        workdir: Path,
        *,
        client_id: str = "bridge-e2e",
        share_group: str = "",
        metrics_interval_s: float = 1.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.client_id = client_id
        self.state_dir = state_dir
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "empty.toml"
        self.config.touch()
        self.log_path = workdir / f"{client_id}.log"
        self.args = [
            sys.executable,
            "-m",
            "roshanai",
            "--config",
            str(self.config),
            "bridge",
            "run",
            "--mqtt-url",
            mqtt_url,
            "--influx-url",
            influx_url,
            "--influx-db",
            db,
            "--state-dir",
            str(state_dir),
            "--client-id",
            client_id,
            "--fleet",
            str(fleet),
            "--no-expected",
            "--metrics-interval",
            f"{metrics_interval_s:g}",
            "--share-group",
            share_group,
            *extra_args,
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log_offset = 0

    def start(self, ready_timeout_s: float = 45.0) -> Self:
        """Start the process and wait until it has subscribed (its log says so)."""
        assert not self.alive, "already running"
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                cwd=self.workdir,
                env=_clean_env(self.workdir),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.starts += 1
        marker = f"bridge {self.client_id}: subscribed to"

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"bridge exited with {self.proc.returncode} during start:\n{self.log_tail()}"
                )
            return marker in self._log_since_start()

        wait_for(
            ready,
            ready_timeout_s,
            f"bridge {self.client_id} to subscribe",
            every_s=0.05,
            diagnostics=self.log_tail,
        )
        return self

    def _log_since_start(self) -> str:
        with self.log_path.open("rb") as f:
            f.seek(self._log_offset)
            return f.read().decode("utf-8", "replace")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no chance to commit, acknowledge, write or save anything."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout_s: float = 40.0) -> int:
        """SIGTERM and wait for the clean stop (SIGKILL after ``timeout_s``); the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(
                    f"bridge ignored SIGTERM for {timeout_s:g} s:\n{self.log_tail()}"
                ) from None
        return int(self.proc.returncode)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return "(no log)"
        return f"--- {self.log_path} (last {len(text)} lines)\n" + "\n".join(text)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
