"""Bridge throughput: drain a QoS 1 backlog into InfluxDB, against a bare paho receiver.

In one run, on the same mosquitto and the same backlog of canonical readings:

- **bare paho**: a minimal paho-mqtt 2.x client that only receives and acknowledges (the
  reference: what the MQTT client itself costs);
- **one bridge**: ``roshanai bridge run`` (decode, validate, fsync'd spool, acks, writes to
  influxd), timed from the first point visible in InfluxDB until all are (start-up excluded),
  and also from process start;
- **two bridges** on a shared subscription.

The backlog is queued on the consumers' persistent sessions before they connect, so every
consumer drains the same number of messages as fast as it can.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_bridge.py --messages 30000``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from firmware_bridge.mqtt import MqttLink
from telemetry.influx import InfluxStore
from tests.servers import InfluxD, Mosquitto

TOPIC = "roshanai/v1/+/telemetry"


def plants(n: int) -> list[str]:
    return [f"THR-{i:06d}" for i in range(1, n + 1)]


def backlog(url: str, n: int, ids: list[str]) -> float:
    """Publish n canonical readings at QoS 1; return msg/s."""
    link = MqttLink(url, "bench-publisher", clean_start=True, max_pending_publishes=20).start()
    t0 = time.perf_counter()
    for i in range(n):
        pid = ids[i % len(ids)]
        body = {"v": 1, "plant_id": pid, "ts": 1_782_896_400_000 + (i // len(ids)) * 60_000,
                "seq": i, "ac_power_w": 1000.0 + i % 997, "ac_voltage_v": 230.1,
                "energy_total_wh": 1_000_000 + i, "status": "producing"}
        link.publish(f"roshanai/v1/{pid}/telemetry", json.dumps(body).encode())
    link.wait_published(120)
    link.stop()
    return n / (time.perf_counter() - t0)


def session(url: str, client_id: str, topic: str) -> None:
    """Create a persistent session with a QoS 1 subscription, then leave."""
    MqttLink(url, client_id, subscriptions=[topic]).start().stop()


def bare_paho(url: str, n: int) -> float:
    """Receive and acknowledge the backlog with plain paho; return msg/s."""
    got = 0
    done = threading.Event()
    first: list[float] = []

    def on_message(client, userdata, msg):
        nonlocal got
        if not first:
            first.append(time.perf_counter())
        client.ack(msg.mid, msg.qos)
        got += 1
        if got >= n:
            done.set()

    c = paho.Client(CallbackAPIVersion.VERSION2, client_id="bare", protocol=paho.MQTTv5,
                    manual_ack=True)
    c.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    host, port = url.split("//")[1].split(":")
    c.connect(host, int(port), clean_start=False, properties=props)
    c.loop_start()
    done.wait(300)
    end = time.perf_counter()
    c.disconnect()
    c.loop_stop()
    return n / (end - first[0])


def bridges(url: str, influx: InfluxD, n: int, fleet: Path, count: int, work: Path,
            db: str) -> tuple[float, float]:
    """Drain with ``count`` bridge processes; return (msg/s after the first point, msg/s from
    process start)."""
    store = InfluxStore(influx.url, db)
    store.create_database(db)
    share = ["--share-group", "bench"] if count > 1 else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    started = time.perf_counter()
    procs = [subprocess.Popen(
        [sys.executable, "-m", "roshanai", "bridge", "run", "--mqtt-url", url, "--influx-url",
         influx.url, "--influx-db", db, "--state-dir", str(work / f"state-{k}"), "--client-id",
         f"bench-bridge-{k}", "--fleet", str(fleet), "--no-expected", *share],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for k in range(count)]
    first = None
    try:
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            series = store.query("SELECT count(ac_power_w) FROM inverter")
            stored = int(series[0]["values"][0][1]) if series else 0
            if stored and first is None:
                first = (time.perf_counter(), stored)
            if stored >= n:
                break
            time.sleep(0.05)
        end = time.perf_counter()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    assert first is not None
    return (n - first[1]) / (end - first[0]), n / (end - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=30_000)
    ap.add_argument("--plants", type=int, default=2000)
    args = ap.parse_args()
    n, ids = args.messages, plants(args.plants)
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    fleet = work / "fleet.csv"
    fleet.write_text("plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg,province\n"
                     + "".join(f"{p},35.7,51.4,5,5,30,180,Tehran\n" for p in ids))
    rows = []
    with Mosquitto(work / "mosquitto") as broker, InfluxD(work / "influxd") as influx:
        session(broker.url, "bare", TOPIC)
        pub_rate = backlog(broker.url, n, ids)
        bare = bare_paho(broker.url, n)
        rows.append(("bare paho: receive + ack", bare, None))
        session(broker.url, "bench-bridge-0", TOPIC)
        backlog(broker.url, n, ids)
        one, one_total = bridges(broker.url, influx, n, fleet, 1, work, "one")
        rows.append(("1 bridge: MQTT → spool → InfluxDB", one, one_total))
        for k in range(2):
            session(broker.url, f"bench-bridge-{k}", f"$share/bench/{TOPIC}")
        backlog(broker.url, n, ids)
        two, two_total = bridges(broker.url, influx, n, fleet, 2, work, "two")
        rows.append(("2 bridges, shared subscription", two, two_total))
    load = os.getloadavg()[0]
    t = Table(title=f"Draining a backlog of {n:,} QoS 1 readings ({os.cpu_count()} CPUs, "
                    f"load {load:.2f}; publisher {pub_rate:,.0f} msg/s)")
    t.add_column("consumer")
    t.add_column("msg/s (drain)", justify="right")
    t.add_column("msg/s incl. start-up", justify="right")
    t.add_column("× bare paho", justify="right")
    for name, rate, total in rows:
        t.add_row(name, f"{rate:,.0f}", "" if total is None else f"{total:,.0f}",
                  f"{rate / bare:.2f}")
    console.print(t)
    console.print(f"ratio 1 bridge / bare paho: {one / bare:.2f} (target ≥ 0.60)")
    console.print(f"ratio 2 bridges / 1 bridge: {two / one:.2f} (target > 1)")
    need = 550_000 / 60
    console.print(f"550,000 plants every minute = {need:,.0f} msg/s → at least "
                  f"{int(-(-need // one))} bridge process(es) at the measured single rate, each "
                  f"on its own core beside the broker's and InfluxDB's (this assumes the "
                  f"processes scale with cores; the 2-bridge row above shows whether they did "
                  f"on this machine)")


if __name__ == "__main__":
    main()
