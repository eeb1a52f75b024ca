"""Helpers of the golden gateway cases (``tests/firmware_bridge/test_gateways_golden.py``):
loading a
case folder of ``testdata/gateways``, the gateway and an observer as paho clients, a broker
deployed by ``roshanai deploy mosquitto`` for the golden fleet, reading InfluxDB and the spool
back, and the readable difference between what a case expects and what the bridge stored.

Every wait is bounded. Times in payloads and in ``expected.json`` are placeholders ``{t0}``,
``{t0+5}``, ``{t0-43200}`` (seconds), ``t0`` being one hour ago rounded down to 10 s.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.firmware_bridge.harness import query
from tests.servers import InfluxD, free_port

__all__ = [
    "CASES_DIR",
    "FLEET",
    "Case",
    "Deployment",
    "MqttPeer",
    "Observer",
    "case_ids",
    "compare",
    "deploy_golden_broker",
    "gateway_plant",
    "load_case",
    "make_t0",
    "plant_statuses",
    "stored_points",
    "substitute",
]

CASES_DIR = Path(__file__).resolve().parent / "testdata" / "gateways"
FLEET = CASES_DIR / "fleet.csv"
_PLACEHOLDER = re.compile(r"\{t0(?:([+-])(\d+))?\}")
REL_TOL = 1e-9


def make_t0(now_s: float | None = None) -> int:
    """``t0`` of a run: one hour ago, rounded down to a multiple of 10 s. [s since the epoch]"""
    now = time.time() if now_s is None else now_s
    return int(now - 3600) // 10 * 10


def substitute(text: str, t0: int) -> str:
    """Replace every ``{t0}``, ``{t0+N}``, ``{t0-N}`` of ``text`` by the Unix time."""

    def one(m: re.Match[str]) -> str:
        sign, n = m.group(1), m.group(2)
        return str(t0 + (int(n) if sign == "+" else -int(n)) if n else t0)

    return _PLACEHOLDER.sub(one, text)


def relative(t_s: int | float, t0: int) -> str:
    """A time back as a placeholder, for messages."""
    d = t_s - t0
    if d == int(d):
        d = int(d)
    return "{t0}" if d == 0 else f"{{t0{d:+}}}"


def case_ids() -> list[str]:
    """``<gateway>/<case>`` of every case folder."""
    return sorted(
        f"{p.parent.parent.name}/{p.parent.name}" for p in CASES_DIR.glob("*/*/steps.jsonl")
    )


@dataclass
class Case:
    """One case with its placeholders replaced."""

    id: str
    t0: int
    steps: list[dict[str, Any]]
    points: list[dict[str, Any]]  # time in seconds (int)
    status: dict[str, dict[str, Any]]
    quarantine: dict[str, int]

    @property
    def publishes(self) -> list[dict[str, Any]]:
        return [s for s in self.steps if "publish" in s]


def load_case(case_id: str, t0: int) -> Case:
    folder = CASES_DIR / case_id
    steps = []
    for n, line in enumerate(
        (folder / "steps.jsonl").read_text(encoding="utf-8").splitlines(), start=1
    ):
        if not line.strip():
            continue
        step = json.loads(line)
        if "publish" in step:
            step["payload"] = substitute(step["payload"], t0)
            for key in ("qos", "retain"):
                assert key in step, f"{case_id} steps.jsonl line {n}: no {key!r}"
        elif not ({"sleep_s", "bridge", "gateway"} & set(step)):
            raise AssertionError(f"{case_id} steps.jsonl line {n}: unknown step {step}")
        steps.append(step)
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    points = []
    for p in expected["points"]:
        points.append(
            {"time": int(substitute(p["time"], t0)), "tags": p["tags"], "fields": p["fields"]}
        )
    return Case(
        case_id, t0, steps, points, expected.get("status", {}), expected.get("quarantine", {})
    )


# -- the fleet -------------------------------------------------------------------------------------


def _fleet_rows() -> list[dict[str, str]]:
    with FLEET.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def gateway_plant(case: Case) -> str:
    """The plant whose account the case's gateway uses on the production broker: the one that
    owns the serials (OpenDTU) or names (AhoyDTU) in the case's topics."""
    owners: dict[str, str] = {}
    for row in _fleet_rows():
        for col in ("inverter_serial", "inverter_name"):
            for item in filter(None, (s.strip() for s in row[col].split(";"))):
                owners[item.lower() if col == "inverter_serial" else item] = row["plant_id"]
    plants = {
        owners[level]
        for s in case.publishes
        if len(parts := s["publish"].split("/")) > 2 and (level := parts[1]) in owners
    }
    assert len(plants) == 1, f"{case.id}: the gateway's topics name plants {sorted(plants)}"
    return plants.pop()


# -- MQTT ------------------------------------------------------------------------------------------


@dataclass
class MqttPeer:
    """Where and as whom a paho client connects (TLS when ``ca_file`` is set)."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None


def _client(peer: MqttPeer) -> paho.Client:
    # MQTT 3.1.1, as the ESP gateways' espMqttClient speaks it; clean session.
    c = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=peer.client_id,
        protocol=paho.MQTTv311,
        clean_session=True,
    )
    if peer.username is not None:
        c.username_pw_set(peer.username, peer.password)
    if peer.ca_file is not None:
        c.tls_set(ca_certs=peer.ca_file)
    c.max_inflight_messages_set(100)
    c.max_queued_messages_set(0)
    return c


def _connect(c: paho.Client, peer: MqttPeer, what: str, timeout_s: float = 15.0) -> None:
    connected = threading.Event()
    result: list[Any] = []

    def on_connect(
        client: paho.Client, userdata: Any, flags: Any, rc: Any, props: Any = None
    ) -> None:
        result.append(rc)
        connected.set()

    c.on_connect = on_connect
    c.connect(peer.host, peer.port, keepalive=30)
    c.loop_start()
    if not connected.wait(timeout_s):
        c.loop_stop()
        raise AssertionError(
            f"{what} did not connect to {peer.host}:{peer.port} in {timeout_s:g} s"
        )
    if result[0] != 0:
        c.loop_stop()
        raise AssertionError(f"{what} refused by the broker: {result[0]}")


class Gateway:
    """The DTU's MQTT client: publishes the case's messages in order with their QoS and retain
    flag, and has the firmware's last will (OpenDTU ``dtu/status`` 'offline' QoS 2, AhoyDTU
    ``mqtt`` 'not connected' QoS 0, both retained)."""

    def __init__(self, peer: MqttPeer, will: tuple[str, str, int] | None) -> None:
        self.peer, self.will = peer, will
        self.client: paho.Client | None = None
        self.pending: list[paho.MQTTMessageInfo] = []

    def connect(self) -> None:
        self.client = _client(self.peer)
        if self.will:
            self.client.will_set(self.will[0], self.will[1], qos=self.will[2], retain=True)
        _connect(self.client, self.peer, f"gateway {self.peer.client_id}")

    def publish(self, topic: str, payload: str, qos: int, retain: bool) -> None:
        assert self.client is not None
        info = self.client.publish(topic, payload.encode("utf-8"), qos=qos, retain=retain)
        if qos:
            self.pending.append(info)

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until the broker acknowledged every QoS 1/2 publish (QoS 0 has no answer)."""
        deadline = time.monotonic() + timeout_s
        for info in self.pending:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise AssertionError(
                    f"the broker did not acknowledge a QoS {info.mid} publish "
                    f"within {timeout_s:g} s"
                )
        self.pending.clear()

    def disconnect(self) -> None:
        if self.client is not None:
            self.flush()
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def reconnect(self) -> None:
        self.disconnect()
        time.sleep(0.2)
        self.connect()


class Observer:
    """Subscribes to the DTU trees (and the retained plant status) to know when the broker has
    delivered what the gateway sent, and which messages never arrived (denied by an ACL)."""

    def __init__(self, peer: MqttPeer, topics: Iterable[str] = ("solar/#", "inverter/#")) -> None:
        self.peer = peer
        self.topics = list(topics)
        self.received: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = _client(peer)
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a, **k: self.subscribed.set()

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.received.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def start(self) -> Observer:
        _connect(self.client, self.peer, f"observer {self.peer.client_id}")
        self.client.subscribe([(t, 0) for t in self.topics])
        if not self.subscribed.wait(10):
            raise AssertionError("the observer's SUBSCRIBE was not acknowledged in 10 s")
        return self

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def wait_for(self, n: int, timeout_s: float = 10.0, quiet_s: float = 1.0) -> bool:
        """Until ``n`` messages arrived (True), or none came for ``quiet_s`` or ``timeout_s``
        passed (False)."""
        deadline = time.monotonic() + timeout_s
        last, last_change = self.count, time.monotonic()
        while True:
            now_count = self.count
            if now_count >= n:
                return True
            if now_count != last:
                last, last_change = now_count, time.monotonic()
            if time.monotonic() - last_change > quiet_s or time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def undelivered(self, published: list[dict[str, Any]]) -> list[str]:
        """Topics published but never seen by the observer (counted per topic)."""
        seen: dict[str, int] = {}
        with self._lock:
            for topic, _, _ in self.received:
                seen[topic] = seen.get(topic, 0) + 1
        sent: dict[str, int] = {}
        for s in published:
            sent[s["publish"]] = sent.get(s["publish"], 0) + 1
        return sorted(t for t, n in sent.items() if seen.get(t, 0) < n)


def retained_plant_status(
    peer: MqttPeer, plants: Iterable[str], wait_s: float = 2.0
) -> dict[str, Any]:
    """The retained ``roshanai/v1/<plant_id>/status`` JSON of each plant (diagnostics)."""
    got: dict[str, Any] = {}
    c = _client(peer)

    def on_message(client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        try:
            got[msg.topic.split("/")[2]] = json.loads(msg.payload)
        except ValueError:
            got[msg.topic.split("/")[2]] = msg.payload.decode("utf-8", "replace")

    c.on_message = on_message
    try:
        _connect(c, peer, "status reader")
        c.subscribe([(f"roshanai/v1/{p}/status", 0) for p in plants])
        deadline = time.monotonic() + wait_s
        wanted = set(plants)
        while set(got) < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
    except AssertionError as exc:
        return {"(error)": str(exc)}
    finally:
        c.disconnect()
        c.loop_stop()
    return got


# -- the production broker -------------------------------------------------------------------------


@dataclass
class Deployment:
    """``roshanai deploy mosquitto`` output for the golden fleet."""

    out: Path
    port: int
    passwords: dict[str, str]
    bridge_env: dict[str, str] = field(default_factory=dict)

    @property
    def ca(self) -> str:
        return str(self.out / "ca.crt")

    @property
    def config(self) -> Path:
        return self.out / "mosquitto.conf"

    def peer(self, account: str) -> MqttPeer:
        return MqttPeer("127.0.0.1", self.port, account, account, self.passwords[account], self.ca)


def deploy_golden_broker(workdir: Path) -> Deployment:
    """Run ``python -m roshanai deploy mosquitto`` for the golden fleet (two bridge accounts:
    ``bridge`` for the bridge, ``bridge-2`` for the observer) on a free port, with its own
    persistence directory (a fresh broker per case)."""
    out, data = workdir / "broker", workdir / "broker-data"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    env.update(HOME=str(workdir), COLUMNS="200")
    config = workdir / "empty.toml"
    config.touch()
    cmd = [
        sys.executable,
        "-m",
        "roshanai",
        "--config",
        str(config),
        "deploy",
        "mosquitto",
        "--fleet",
        str(FLEET),
        "--out",
        str(out),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--data-dir",
        str(data),
        "--key-type",
        "ec",
        "--tls-hostname",
        "127.0.0.1",
        "--bridges",
        "2",
    ]
    res = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, f"roshanai deploy mosquitto failed:\n{res.stdout}{res.stderr}"
    with (out / "credentials.csv").open(newline="") as f:
        passwords = {row["username"]: row["password"] for row in csv.DictReader(f)}
    bridge_env: dict[str, str] = {}
    env_file = out / "bridge.env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line and not line.startswith("#") and "=" in line:
                k, _, v = line.partition("=")
                bridge_env[k] = v
    return Deployment(out, port, passwords, bridge_env)


# -- reading back ----------------------------------------------------------------------------------


def stored_points(server: InfluxD, db: str) -> list[dict[str, Any]]:
    """Every point of ``inverter``: time [ns], non-empty tags, non-null fields."""
    out = []
    for s in query(server, db, "SELECT * FROM inverter GROUP BY *", epoch="ns"):
        tags = {k: v for k, v in (s.get("tags") or {}).items() if v not in ("", None)}
        cols = s["columns"]
        for row in s["values"]:
            rec = dict(zip(cols, row, strict=True))
            t = rec.pop("time")
            out.append(
                {
                    "time_ns": int(t),
                    "tags": tags,
                    "fields": {k: v for k, v in rec.items() if v is not None},
                }
            )
    return out


def plant_statuses(server: InfluxD, db: str, plants: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The latest ``plant_status`` point of each plant (by time), its fields and time."""
    out: dict[str, dict[str, Any]] = {}
    for pid in plants:
        series = query(
            server,
            db,
            f"SELECT * FROM plant_status WHERE plant_id = '{pid}' ORDER BY time DESC LIMIT 1",
            epoch="s",
        )
        if series:
            rec = dict(zip(series[0]["columns"], series[0]["values"][0], strict=True))
            out[pid] = {k: v for k, v in rec.items() if v is not None}
    return out


# -- comparing -------------------------------------------------------------------------------------


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(float(expected), float(actual), rel_tol=REL_TOL, abs_tol=1e-12)
    return bool(expected == actual)


def _tag_text(tags: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def compare(
    case: Case,
    stored: list[dict[str, Any]],
    statuses: dict[str, dict[str, Any]],
    quarantine: dict[str, int] | None,
) -> list[str]:
    """The differences between the case's expectations and what was stored, as lines; empty
    when everything matches. ``quarantine`` None: not compared."""
    lines: list[str] = []
    t0 = case.t0

    def key(t_ns: int, tags: Mapping[str, str]) -> tuple[int, str]:
        return t_ns, _tag_text(tags)

    want = {key(p["time"] * 1_000_000_000, p["tags"]): p for p in case.points}
    have: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for p in stored:
        have.setdefault(key(p["time_ns"], p["tags"]), []).append(p)
    point_lines: list[str] = []
    for k in sorted(set(want) | set(have)):
        when = relative(k[0] / 1e9, t0)
        label = f"{when} {k[1]}"
        if k not in have:
            point_lines.append(f"  - missing     {label}")
            continue
        if k not in want:
            for p in have[k]:
                point_lines.append(f"  + unexpected  {label}  fields {json.dumps(p['fields'])}")
            continue
        exp_fields, got_fields = want[k]["fields"], have[k][0]["fields"]
        diffs = []
        for name in sorted(set(exp_fields) | set(got_fields)):
            if name not in got_fields:
                diffs.append(f"      {name}: expected {exp_fields[name]!r}, not stored")
            elif name not in exp_fields:
                diffs.append(f"      {name}: not expected, stored {got_fields[name]!r}")
            elif not _same(exp_fields[name], got_fields[name]):
                diffs.append(
                    f"      {name}: expected {exp_fields[name]!r}, stored {got_fields[name]!r}"
                )
        if diffs:
            point_lines.append(f"  ~ fields of  {label}:")
            point_lines += diffs
    if point_lines:
        lines.append(f"inverter points: expected {len(want)}, stored {len(stored)}")
        lines += point_lines
    for pid, exp in sorted(case.status.items()):
        got = statuses.get(pid)
        if got is None:
            lines.append(f"plant_status {pid}: expected {json.dumps(exp)}, no point stored")
            continue
        diffs = [
            f"      {name}: expected {value!r}, stored {got.get(name, '(absent)')!r}"
            for name, value in sorted(exp.items())
            if name not in got or not _same(value, got[name])
        ]
        if diffs:
            when = relative(got["time"], t0) if "time" in got else "?"
            lines.append(f"plant_status {pid} (latest point, at {when}):")
            lines += diffs
    if quarantine is not None and quarantine != case.quarantine:
        lines.append(
            f"quarantine: expected {json.dumps(case.quarantine, sort_keys=True)}, "
            f"counted {json.dumps(quarantine, sort_keys=True)}"
        )
    return lines
