"""The emulator against real servers: never a reading ahead of the clock, no message over the
size limit, and everything it says it published stored by the bridge.

A subscriber on a real mosquitto records each message with the wall clock at its arrival, so "never
in the future" is checked as: every reading's ``ts`` ≤ the time its message arrived. The bridge
runs as ``python -m roshanai bridge run`` (``tests.firmware_bridge.harness.BridgeProcess``) in
front of a real influxd; "stored entirely" is: ``count(ac_power_w)`` in ``inverter`` equals the
readings the emulator's summary reports (every emulated reading has ``ac_power_w``, and InfluxDB
keeps one point per plant and time, so duplicates would show as fewer), and nothing quarantined."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from firmware_bridge.emulator import MAX_MESSAGE_BYTES, Emulator, synthetic_fleet, write_fleet
from firmware_bridge.mqtt import InboundMessage, MqttLink
from telemetry.registry import read_fleet, sample_fleet_path
from tests.firmware_bridge.emulator.helpers import bell_year
from tests.firmware_bridge.harness import (
    BridgeProcess,
    points_per_plant,
    quarantine_cli,
    stored_count,
    wait_for,
)
from tests.servers import InfluxD, Mosquitto

pytestmark = pytest.mark.services

SEC = 1_000_000_000
SUMMARY = re.compile(
    r"published (?P<messages>[\d,]+) messages to \S+: (?P<readings>[\d,]+) readings "
    r"\((?P<live_readings>[\d,]+) live, (?P<batch_readings>[\d,]+) in (?P<batches>[\d,]+) "
    r"batches\), (?P<bad>[\d,]+) bad payloads, largest (?P<largest_kib>[\d.]+) KiB"
)


def ts_ns(text: str) -> int:
    return int(np.datetime64(text.rstrip("Z"), "ms").astype(np.int64)) * 1_000_000


class Inbox:
    """Every message on ``roshanai/v1/+/telemetry``, with the wall clock at its arrival."""

    def __init__(self, url: str) -> None:
        self.got: list[tuple[int, str, bytes]] = []
        self._lock = threading.Lock()
        self.link = MqttLink(
            url,
            f"emulate-inbox-{time.monotonic_ns()}",
            clean_start=True,
            subscriptions=["roshanai/v1/+/telemetry"],
            on_message=self._on_message,
        ).start()

    def _on_message(self, msg: InboundMessage) -> None:
        now = time.time_ns()
        with self._lock:
            self.got.append((now, msg.topic, msg.payload))

    def __len__(self) -> int:
        with self._lock:
            return len(self.got)

    def stop(self) -> None:
        self.link.stop()

    def check(self, counts: dict[str, int], limit_bytes: int = MAX_MESSAGE_BYTES) -> dict:
        """Assert what arrived is what ``counts`` says was published: no message over
        ``limit_bytes``, no reading ahead of its arrival, each (plant, ts) once, batches
        in time order. Returns figures for the report."""
        wait_for(lambda: len(self) >= counts["messages"], 60, "every message at the subscriber")
        time.sleep(0.3)  # (nothing more may come)
        with self._lock:
            got = list(self.got)
        assert len(got) == counts["messages"]
        kinds: Counter = Counter()
        seen: set[tuple[str, int]] = set()
        sizes = [len(p) for _, _, p in got]
        lead_ns = []  # ts of the newest reading of a message - its arrival (≤ 0)
        for recv_ns, topic, payload in got:
            assert len(payload) <= limit_bytes, (topic, len(payload))
            doc = json.loads(payload)  # (bad payloads are not part of these runs)
            assert topic == f"roshanai/v1/{doc['plant_id']}/telemetry"
            readings = doc.get("readings")
            kinds["batches" if readings is not None else "live_readings"] += 1
            readings = [doc] if readings is None else readings
            stamps = [ts_ns(r["ts"]) for r in readings]
            assert stamps == sorted(stamps)
            for t in stamps:
                assert (doc["plant_id"], t) not in seen
                seen.add((doc["plant_id"], t))
            lead_ns.append(stamps[-1] - recv_ns)
            kinds["readings"] += len(readings)
        assert max(lead_ns) <= 0, f"a reading {max(lead_ns) / 1e9:.3f} s ahead of the clock"
        assert kinds["readings"] == counts["readings"]
        assert kinds["batches"] == counts["batches"]
        assert kinds["live_readings"] == counts["live_readings"]
        return {
            "messages": len(got),
            "readings": kinds["readings"],
            "largest": max(sizes),
            "newest_lag_s": -max(lead_ns) / 1e9,
        }


# ---------------------------------------------------------------------------- Emulator.run


def test_run_at_speed_starts_in_the_past_and_ends_at_the_clock(mosquitto: Mosquitto):
    """--speed 600 --duration 3: the simulated clock starts 3 × 599 s before now and reaches
    the wall clock at the end; no reading is ever ahead of its arrival."""
    n = 30
    e = Emulator(synthetic_fleet(n, seed=3), seed=3, typical_year=bell_year(n))
    inbox = Inbox(mosquitto.url)
    link = MqttLink(
        mosquitto.url, "emulate-run", clean_start=True, max_pending_publishes=20
    ).start()
    try:
        before = time.time_ns()
        counts = e.run(link, 3.0, speed=600, backfill_hours=6.0)
        after = time.time_ns()
        assert link.wait_published(30)
        figures = inbox.check(counts)
    finally:
        link.stop()
        inbox.stop()
    assert before - 3 * 599 * SEC - 1_000_000 <= counts["sim_start_ns"] <= after - 3 * 599 * SEC
    assert counts["sim_end_ns"] == counts["sim_start_ns"] + 1800 * SEC <= after
    assert after - counts["sim_end_ns"] < 5 * SEC  # (the backfill's publishing time)
    assert counts["caught_up_ns"] == 0
    assert counts["messages"] == counts["live_readings"] + counts["batches"] + counts["bad"]
    assert counts["readings"] == counts["live_readings"] + counts["batch_readings"]
    # Six hours of minute readings are 360 per plant, over 64 KiB: two batches each.
    assert counts["batch_readings"] >= n * 360
    assert counts["batches"] >= 2 * n
    assert counts["max_message_bytes"] == figures["largest"] <= MAX_MESSAGE_BYTES
    assert counts["bad"] == 0
    print(f"\n{figures}")


def test_run_without_duration_catches_up_then_goes_on_in_real_time(mosquitto: Mosquitto):
    """Started 20 s in the past at --speed 20, the simulated clock catches up after about a
    second; from then on readings go out when the clock reaches their ts, one line says so."""
    n = 12
    e = Emulator(
        synthetic_fleet(n, seed=4),
        seed=4,
        interval_s=0.5,
        typical_year=bell_year(n),
        start_ns=(time.time_ns() - 20 * SEC) // 1_000_000 * 1_000_000,
        # no cuts: run at 09:00–17:00 Tehran in winter, a zone group's cut silenced some
        # gateways and the count below fell short (the test is of the clock, not of cuts)
        outage_blocks_per_day=0,
    )
    inbox = Inbox(mosquitto.url)
    notices: list[tuple[int, str]] = []

    class StopLater:
        """The real link; ends the run as Ctrl-C would, 3 s after the catch-up."""

        def __init__(self, link: MqttLink) -> None:
            self.link = link

        def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
            if notices and time.time_ns() > notices[0][0] + 3 * SEC:
                raise KeyboardInterrupt
            self.link.publish(topic, payload, qos=qos)

    link = MqttLink(mosquitto.url, "emulate-catch-up", clean_start=True).start()
    try:
        counts = e.run(
            StopLater(link),
            None,
            speed=20,
            notice=lambda line: notices.append((time.time_ns(), line)),
        )
        assert link.wait_published(30)
        inbox.check(counts)
    finally:
        link.stop()
        inbox.stop()
    assert counts["interrupted"] == 1
    assert len(notices) == 1
    assert "caught up with the clock" in notices[0][1]
    assert "real time (speed 1)" in notices[0][1]
    # 20 s behind at 19 s gained per second: caught up after about 1.05 s.
    assert 0.9 * SEC < counts["caught_up_ns"] - counts["sim_start_ns"] - 20 * SEC < 2 * SEC
    # In real time: each message arrives shortly after its newest reading's ts.
    late = [
        (recv - ts_ns(json.loads(p)["ts"])) / 1e9
        for recv, _, p in inbox.got
        if recv > counts["caught_up_ns"] + SEC and b'"readings"' not in p
    ]
    assert len(late) > 3 * n  # a reading every 0.5 s per plant, for about 2 s
    assert min(late) >= 0
    assert max(late) < 0.5
    assert counts["sim_end_ns"] <= time.time_ns()


# ---------------------------------------------------------------------------- CLI + bridge


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    env.update(COLUMNS="250", HOME=str(home), PYTHONUNBUFFERED="1")
    return env


def emulate(workdir: Path, *args: str, timeout_s: float = 300) -> dict[str, int]:
    """``python -m roshanai emulate ARGS``; the counts of its summary line."""
    config = workdir / "empty.toml"
    config.touch()
    proc = subprocess.run(
        [sys.executable, "-m", "roshanai", "--config", str(config), "emulate", *args],
        cwd=workdir,
        env=_env(workdir),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    match = SUMMARY.search(proc.stdout)
    assert match, proc.stdout
    counts = {k: int(float(v.replace(",", ""))) for k, v in match.groupdict().items()}
    counts["max_message_bytes"] = round(float(match["largest_kib"]) * 1024)
    return counts


def check_stored_entirely(
    mosquitto: Mosquitto, influxd: InfluxD, db: str, tmp_path: Path, bridge_fleet: Path, *args: str
) -> dict:
    """Run the emulator (``args``) into a bridge; assert every reading it reports is stored,
    nothing quarantined, nothing over 64 KiB, nothing ahead of the clock."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    bridge = BridgeProcess(
        mosquitto.url,
        influxd.url,
        db,
        tmp_path / "state",
        bridge_fleet,
        work,
        client_id="bridge-emulate",
    )
    inbox = Inbox(mosquitto.url)
    try:
        bridge.start()
        t0 = time.monotonic()
        counts = emulate(work, "--mqtt-url", mosquitto.url, *args)
        took = time.monotonic() - t0
        figures = inbox.check(counts)
        assert counts["max_message_bytes"] == pytest.approx(figures["largest"], abs=60)

        def state() -> str:
            return (
                f"stored {stored_count(influxd, db):,} of {counts['readings']:,}\n"
                f"{bridge.log_tail()}"
            )

        wait_for(
            lambda: stored_count(influxd, db) >= counts["readings"],
            120,
            "every reading in InfluxDB",
            diagnostics=state,
        )
        time.sleep(1.5)  # anything more would show by now
        stored = stored_count(influxd, db)
        quarantined, out = quarantine_cli(bridge.state_dir, work)
        assert bridge.alive, bridge.log_tail()
        assert bridge.terminate() == 0, bridge.log_tail()
    finally:
        bridge.kill()
        inbox.stop()
    assert quarantined == {}, out
    assert "0 quarantined" in out, out
    assert stored == counts["readings"], state()
    per_plant = points_per_plant(influxd, db)
    assert sum(n for n, _ in per_plant.values()) == stored
    assert set(per_plant) == set(read_fleet(bridge_fleet).plant_ids)
    assert counts["bad"] == 0
    report = {
        **figures,
        "stored": stored,
        "quarantined": 0,
        "batches": counts["batches"],
        "emulate_s": round(took, 1),
    }
    print(f"\n{' '.join(args)}: {report}")
    return report


def test_sample_fleet_backfill_at_speed_is_stored_entirely(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, tmp_path: Path
):
    """The README demo, shortened: six hours of backfill (two batches per plant, under
    64 KiB each), then 5 s at --speed 60; the bridge stores all of it and refuses nothing."""
    fleet = sample_fleet_path()
    report = check_stored_entirely(
        mosquitto,
        influxd,
        influx_db,
        tmp_path,
        fleet,
        "--fleet",
        str(fleet),
        "--backfill-hours",
        "6",
        "--speed",
        "60",
        "--duration",
        "5",
    )
    assert report["readings"] >= 39 * 360
    assert report["batches"] >= 2 * 39


@pytest.mark.slow
@pytest.mark.parametrize("fleet_args", ["sample", "200 synthetic"])
def test_readme_demo_is_stored_entirely(
    mosquitto: Mosquitto, influxd: InfluxD, influx_db: str, tmp_path: Path, fleet_args: str
):
    """``emulate --backfill-hours 6 --speed 60 --duration 60`` with the sample fleet and with
    ``--plants 200`` (synthetic; the bridge gets the same fleet, written beforehand)."""
    if fleet_args == "sample":
        fleet = sample_fleet_path()
        args = ["--fleet", str(fleet)]
    else:
        fleet = write_fleet(synthetic_fleet(200), tmp_path / "bridge-fleet.csv")
        args = ["--plants", "200", "--fleet-out", str(tmp_path / "emulated.csv")]
    report = check_stored_entirely(
        mosquitto,
        influxd,
        influx_db,
        tmp_path,
        fleet,
        *args,
        "--backfill-hours",
        "6",
        "--speed",
        "60",
        "--duration",
        "60",
    )
    if fleet_args != "sample":
        assert read_fleet(tmp_path / "emulated.csv").plant_ids == read_fleet(fleet).plant_ids
    n = len(read_fleet(fleet))
    # Six hours of minute readings per plant as backfill, then an hour live (less the plants
    # whose gateway is in a power cut).
    assert report["readings"] > n * 360 + n * 10


def test_sigterm_stops_like_ctrl_c_with_the_summary_and_the_truth(
    mosquitto: Mosquitto, tmp_path: Path
):
    """``systemctl stop`` (SIGTERM) ends a run without ``--duration`` as Ctrl-C does: exit 0,
    the summary line marked interrupted, the truth file written with the run's real end."""
    import signal

    config = tmp_path / "empty.toml"
    config.touch()
    truth = tmp_path / "truth.csv"
    inbox = Inbox(mosquitto.url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "roshanai", "--config", str(config), "emulate",
         "--mqtt-url", mosquitto.url, "--plants", "5", "--interval", "0.5", "--cuts", "none",
         "--fault-rates", "offline=0.5", "--faults-out", str(truth)],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: len(inbox) >= 5, 120, "the first readings at the subscriber")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        inbox.stop()
    assert proc.returncode == 0, out + err
    assert "Traceback" not in err, err
    match = SUMMARY.search(out)
    assert match, out + err
    assert out.rstrip().endswith("UTC (interrupted)"), out
    assert int(match["messages"].replace(",", "")) >= 5
    assert truth.exists()
    assert truth.read_text().startswith("plant_id,")
