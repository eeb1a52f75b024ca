"""Bridge throughput and latency: MQTT (QoS 1) → bridge → InfluxDB, against a bare paho receiver.

In one run, on the same mosquitto and influxd (from ``tests/servers.py``, loopback):

**Drain** — each consumer is started and subscribed (QoS 1, persistent session), then paused
with SIGSTOP while a backlog of ``--messages`` canonical readings is published, and timed from
SIGCONT until the last reading is acknowledged (bare client) or visible in InfluxDB (bridges) —
start-up excluded:

- **bare paho**: a minimal paho-mqtt 2.x client in its own process that only receives and
  acknowledges (the reference: what the MQTT client itself costs);
- **one bridge**: ``roshanai bridge run --fleet`` (decode, validate, fsync'd spool, acks,
  writes to influxd) with the plant status and the peers' expectation running (its clear-sky
  grid ready before the drain; the fleet is placed where the sun is up at run time and the
  readings are of the last half hour, so the local sky index is live);
- **two bridges** on a shared subscription (``--share-group``).

Beside each rate: the CPU time per message of the consumer processes, mosquitto and influxd
(from ``/proc``), which says where the two cores went.

**Latency** — with the bridges running, a publisher sends readings at a steady ``--rate`` for
``--seconds``; InfluxDB's point count is polled every ``--poll-latency`` seconds. The k-th
reading published is counted confirmed at the first poll that shows k readings stored (the
horizontal distance between the published and the stored cumulative curves: exact when readings
are stored in publish order, and its mean is exact in any order). Reported: p50, p99 and max,
to within the poll interval.

Each drain is run ``--repeat`` times, the three kinds interleaved; the median run is reported
with the spread.

Run: ``.venv/bin/python benchmarks/bench_bridge.py [--messages 60000] [--repeat 3] [--rate 2500]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from firmware_bridge.mqtt import MqttLink, parse_mqtt_url
from telemetry.influx import InfluxStore
from tests.firmware_bridge.peer_helpers import daylight_site, write_local_fleet
from tests.servers import InfluxD, Mosquitto

TOPIC = "roshanai/v1/+/telemetry"


BASE_TS_MS = 1_782_896_400_000  # 2026-07-01, the readings' device time


def recent_base_ms(n: int, ids: list[str]) -> int:
    """Device time of the first reading so that ``n`` readings a minute apart per plant end
    a minute before now (the status takes readings up to 15 min old as fresh). [ms]"""
    return (time.time_ns() // 10**6) - (-(-n // len(ids)) + 1) * 60_000


def reading(i: int, ids: list[str], base_ms: int = BASE_TS_MS) -> tuple[str, bytes]:
    """The i-th canonical reading (a plant's readings a minute apart): (topic, payload)."""
    pid = ids[i % len(ids)]
    body = {
        "v": 1,
        "plant_id": pid,
        "ts": base_ms + (i // len(ids)) * 60_000,
        "seq": i,
        "ac_power_w": 1000.0 + i % 997,
        "ac_voltage_v": 230.1,
        "energy_total_wh": 1_000_000 + i,
        "status": "producing",
    }
    return f"roshanai/v1/{pid}/telemetry", json.dumps(body).encode()


def backlog(url: str, n: int, ids: list[str]) -> float:
    """Publish n canonical readings at QoS 1; return msg/s."""
    link = MqttLink(url, "bench-publisher", clean_start=True, max_pending_publishes=20).start()
    t0 = time.perf_counter()
    base_ms = recent_base_ms(n, ids)
    for i in range(n):
        link.publish(*reading(i, ids, base_ms))
    link.wait_published(120)
    link.stop()
    return n / (time.perf_counter() - t0)


def cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BARE_CLIENT = r"""
import sys, threading, time
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
host, port, n, client_id = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
got, done = 0, threading.Event()
def on_message(client, userdata, msg):
    global got
    client.ack(msg.mid, msg.qos)
    got += 1
    if got >= n:
        done.set()
c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5,
                manual_ack=True)
c.on_message = on_message
c.on_subscribe = lambda *a: print("subscribed", flush=True)
c.connect(host, port, clean_start=True)  # no session left behind: nothing queued for it later
c.subscribe("roshanai/v1/+/telemetry", 1)
c.loop_start()
done.wait(900)
print(time.monotonic(), flush=True)
c.disconnect()
c.loop_stop()
"""


@dataclass
class Drain:
    """One drain of the backlog: rate [msg/s] and CPU per message [µs] by process."""

    name: str
    rate: float
    cpu_us: dict[str, float]


class Cpu:
    """CPU seconds of named processes between two readings."""

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = pids
        self.start = {k: cpu_s(p) for k, p in pids.items()}

    def per_message_us(self, n: int) -> dict[str, float]:
        return {k: 1e6 * (cpu_s(p) - self.start[k]) / n for k, p in self.pids.items()}


def median(runs: list[Drain]) -> Drain:
    """The run with the median rate (the lower middle one for an even count)."""
    return sorted(runs, key=lambda d: d.rate)[(len(runs) - 1) // 2]


def pause(procs: list[subprocess.Popen], on: bool) -> None:
    for p in procs:
        p.send_signal(signal.SIGSTOP if on else signal.SIGCONT)


def bare_paho(
    url: str, n: int, ids: list[str], servers: dict[str, int | None], run: int = 0
) -> Drain:
    """Receive and acknowledge the backlog with plain paho in a process of its own: started,
    subscribed, paused (SIGSTOP) while the backlog is published, then timed from SIGCONT."""
    _, host, port = parse_mqtt_url(url)
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE_CLIENT, host, str(port), str(n), f"bare-{run}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "subscribed":
        raise RuntimeError("the bare client did not subscribe")
    pause([proc], True)
    backlog(url, n, ids)
    cpu = Cpu({"consumers": proc.pid, **servers})
    t0 = time.monotonic()
    pause([proc], False)
    end = float(proc.stdout.readline())
    use = cpu.per_message_us(n)
    proc.wait(60)
    return Drain("bare paho-mqtt client: receive + ack only (reference)", n / (end - t0), use)


EXPECTED = True
"""Bridges run with the peers' expectation (``--no-expected`` on the command line: without)."""


def start_bridges(
    url: str, influx: InfluxD, fleet: Path, count: int, work: Path, db: str, share: bool
) -> list[subprocess.Popen]:
    """Start ``count`` bridge processes writing to database ``db``; wait until each has
    subscribed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    group = ["--share-group", db] if share else []  # a group per run: offline members of
    # another run's group would keep their share of the stream (see the README)
    logs = [work / f"bridge-{db}-{k}.log" for k in range(count)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "roshanai",
                "bridge",
                "run",
                "--mqtt-url",
                url,
                "--influx-url",
                influx.url,
                "--influx-db",
                db,
                "--state-dir",
                str(work / f"state-{db}-{k}"),
                "--client-id",
                f"bench-{db}-{k}",
                "--fleet",
                str(fleet),
                *group,
                *([] if EXPECTED else ["--no-expected"]),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        for k, log in enumerate(logs)
    ]
    deadline = time.monotonic() + 120
    ready = ("subscribed to", "expected power from the peers ready")[: 2 if EXPECTED else 1]
    while not all(all(r in log.read_text() for r in ready) for log in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop(procs)
            raise RuntimeError(f"the bridges did not start; logs in {work}")
        time.sleep(0.1)
    return procs


def forget_session(url: str, client_id: str) -> None:
    """End a persistent session on the broker (clean start, no expiry)."""
    MqttLink(url, client_id, clean_start=True, session_expiry_s=0).start().stop()


def stop(procs: list[subprocess.Popen]) -> None:
    pause(procs, False)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(60)


def stored(store: InfluxStore) -> int:
    series = store.query("SELECT count(ac_power_w) FROM inverter")
    return int(series[0]["values"][0][1]) if series else 0


def drain(
    url: str,
    influx: InfluxD,
    n: int,
    ids: list[str],
    fleet: Path,
    count: int,
    work: Path,
    servers: dict[str, int | None],
    poll_s: float,
    name: str,
    run: int = 0,
) -> Drain:
    """Drain a backlog with ``count`` bridge processes: started and subscribed, paused
    (SIGSTOP) while the backlog is published, then timed from SIGCONT until InfluxDB holds
    every reading (start-up excluded)."""
    db = f"drain{count}r{run}"
    store = InfluxStore(influx.url, db)
    store.create_database(db)
    procs = start_bridges(url, influx, fleet, count, work, db, share=count > 1)
    try:
        pause(procs, True)
        backlog(url, n, ids)
        cpu = Cpu({**{f"bridge {k}": p.pid for k, p in enumerate(procs)}, **servers})
        t0 = time.monotonic()
        pause(procs, False)
        deadline = t0 + 900
        while stored(store) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{stored(store):,} of {n:,} stored after 900 s")
            time.sleep(poll_s)
        end = time.monotonic()
        use = cpu.per_message_us(n)
    finally:
        stop(procs)
        for k in range(count):  # or the broker would queue every later backlog for it
            forget_session(url, f"bench-{db}-{k}")
    use["consumers"] = sum(v for k, v in use.items() if k.startswith("bridge "))
    return Drain(name, n / (end - t0), use)


def latency(
    url: str,
    influx: InfluxD,
    fleet: Path,
    count: int,
    work: Path,
    ids: list[str],
    rate: float,
    seconds: float,
    poll_s: float,
) -> dict[str, float]:
    """Publish at ``rate`` for ``seconds`` into running bridges; latency percentiles [ms]."""
    db = f"latency{count}"
    store = InfluxStore(influx.url, db)
    store.create_database(db)
    procs = start_bridges(url, influx, fleet, count, work, db, share=count > 1)
    link = MqttLink(
        url, f"bench-stream-{count}", clean_start=True, max_pending_publishes=2000
    ).start()
    base = recent_base_ms(int(rate * seconds) + 1, ids)
    try:
        link.publish(*reading(0, ids, base))  # the bridges are up once this one is stored
        deadline = time.perf_counter() + 120
        while stored(store) < 1:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no reading stored in 120 s; logs in {work}")
            time.sleep(0.1)
        n = int(rate * seconds)
        published = np.zeros(n)
        done = threading.Event()
        polls: list[tuple[float, int]] = []

        def poll() -> None:
            while not done.is_set():
                polls.append((time.perf_counter(), stored(store) - 1))
                time.sleep(poll_s)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        t0 = time.perf_counter()
        for i in range(n):
            ahead = t0 + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
            published[i] = time.perf_counter()
            link.publish(*reading(i + 1, ids, base))
        offered = n / (time.perf_counter() - t0)
        deadline = time.perf_counter() + 300
        while (not polls or polls[-1][1] < n) and time.perf_counter() < deadline:
            time.sleep(poll_s)
        done.set()
        poller.join()
    finally:
        link.stop()
        stop(procs)
        for k in range(count):
            forget_session(url, f"bench-{db}-{k}")
    times = np.array([t for t, _ in polls])
    counts = np.maximum.accumulate(np.array([c for _, c in polls]))
    # the k-th reading (k = 1..n) is confirmed at the first poll showing at least k stored
    at = np.searchsorted(counts, np.arange(1, n + 1), side="left")
    if at.max() >= len(times):
        raise RuntimeError(f"only {counts[-1]:,} of {n:,} readings were stored")
    lat_ms = 1000 * (times[at] - published)
    return {
        "offered": offered,
        "p50": float(np.percentile(lat_ms, 50)),
        "p99": float(np.percentile(lat_ms, 99)),
        "max": float(lat_ms.max()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=60_000, help="backlog to drain")
    ap.add_argument("--plants", type=int, default=2000)
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="drains of each kind, interleaved; the median is reported",
    )
    ap.add_argument(
        "--poll",
        type=float,
        default=0.25,
        help="InfluxDB count poll while draining [s] (each poll costs influxd CPU)",
    )
    ap.add_argument("--rate", type=float, default=2500, help="latency stream [msg/s]")
    ap.add_argument("--seconds", type=float, default=20, help="latency stream length [s]")
    ap.add_argument(
        "--poll-latency",
        type=float,
        default=0.02,
        help="InfluxDB count poll during the latency stream [s]",
    )
    ap.add_argument(
        "--no-expected",
        action="store_true",
        help="bridges without the peers' expectation (the status still runs), for comparison",
    )
    args = ap.parse_args()
    global EXPECTED
    EXPECTED = not args.no_expected
    n = args.messages
    console = Console(width=None if sys.stdout.isatty() else 160)
    work = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
    fleet = work / "fleet.csv"
    site, site_lat, site_lon = daylight_site(ahead_s=1800)
    ids = write_local_fleet(fleet, args.plants, site_lat, site_lon)
    console.print(
        f"fleet: {len(ids):,} flat 5 kW plants within 3 km of {site} (sun up now); bridges "
        + ("with" if EXPECTED else "WITHOUT")
        + " the peers' expectation"
    )
    load0 = os.getloadavg()[0]
    with Mosquitto(work / "mosquitto") as broker, InfluxD(work / "influxd") as influx:
        servers = {"mosquitto": broker.pid, "influxd": influx.pid}
        t0 = time.perf_counter()
        backlog(broker.url, n // 10, ids)  # nobody subscribed yet: a publisher warm-up
        pub_rate = n // 10 / (time.perf_counter() - t0)
        runs: dict[str, list[Drain]] = {"bare": [], "one": [], "two": []}
        for r in range(args.repeat):  # interleaved, so that a slow spell hits all three
            runs["bare"].append(bare_paho(broker.url, n, ids, servers, r))
            runs["one"].append(
                drain(
                    broker.url,
                    influx,
                    n,
                    ids,
                    fleet,
                    1,
                    work,
                    servers,
                    args.poll,
                    "one bridge: decode, validate, fsync'd spool, ack, write to influxd",
                    r,
                )
            )
            runs["two"].append(
                drain(
                    broker.url,
                    influx,
                    n,
                    ids,
                    fleet,
                    2,
                    work,
                    servers,
                    args.poll,
                    "two bridges on a shared subscription",
                    r,
                )
            )
        bare, one, two = (median(runs[k]) for k in ("bare", "one", "two"))
        lat = {
            k: latency(
                broker.url, influx, fleet, k, work, ids, args.rate, args.seconds, args.poll_latency
            )
            for k in (1, 2)
        }
    t = Table(
        title=f"Draining a backlog of {n:,} QoS 1 readings from {len(ids):,} plants, "
        f"{args.repeat} runs each "
        f"({os.cpu_count()} CPUs, load {load0:.2f} at start; publisher "
        f"{pub_rate:,.0f} msg/s)"
    )
    for col in (
        "consumer",
        "msg/s (median)",
        "runs: min–max",
        "× bare paho",
        "CPU µs/msg: consumer(s)",
        "mosquitto",
        "influxd",
    ):
        t.add_column(col, justify="left" if col == "consumer" else "right")
    for d, key in ((bare, "bare"), (one, "one"), (two, "two")):
        rates = [x.rate for x in runs[key]]
        t.add_row(
            d.name,
            f"{d.rate:,.0f}",
            f"{min(rates):,.0f}–{max(rates):,.0f}",
            f"{d.rate / bare.rate:.2f}",
            f"{d.cpu_us['consumers']:,.0f}",
            f"{d.cpu_us['mosquitto']:,.0f}",
            f"{d.cpu_us['influxd']:,.0f}",
        )
    console.print(t)
    lt = Table(
        title=f"Latency, published → visible in InfluxDB, at a steady "
        f"{args.rate:,.0f} msg/s for {args.seconds:g} s (poll "
        f"{args.poll_latency * 1000:g} ms)"
    )
    for col in ("bridges", "offered msg/s", "p50 ms", "p99 ms", "max ms"):
        lt.add_column(col, justify="right")
    for k, v in lat.items():
        lt.add_row(
            str(k),
            f"{v['offered']:,.0f}",
            f"{v['p50']:,.0f}",
            f"{v['p99']:,.0f}",
            f"{v['max']:,.0f}",
        )
    console.print(lt)
    console.print(f"ratio one bridge / bare paho: {one.rate / bare.rate:.2f} (target ≥ 0.60)")
    console.print(f"ratio two bridges / one bridge: {two.rate / one.rate:.2f} (target > 1)")
    need = 550_000 / 60
    per = two.rate / 2
    console.print(
        f"550,000 plants every minute = {need:,.0f} msg/s: "
        f"{int(-(-need // one.rate))} bridge processes at the one-bridge rate, "
        f"{int(-(-need // per))} at the per-process rate of the two-bridge run"
    )


if __name__ == "__main__":
    main()
