"""``deploy mosquitto --plain-port``: a listener without TLS for gateways that cannot speak it.

AhoyDTU's MQTT client is a plain ``espMqttClient`` (``src/publisher/pubMqtt.h``: no TLS, MQTT
3.1.1, a retained QoS 0 last will on ``<base topic>/mqtt``), so it cannot reach a TLS-only
broker. The plain listener is opt-in, kept across re-runs, and a real mosquitto enforces the
same accounts, client-id binding and topic rules on it as on the TLS listener.

Every refusal is paired with a positive control: what must not arrive is published before what
must, on the same connection, so "nothing arrived" means something.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_bridge.mqtt import MqttLink
from roshanai.cli import main
from telemetry.errors import ServiceError
from tests.roshanai.deploy.conftest import PLANTS, Deployed, deploy, start_broker, write_fleet
from tests.roshanai.deploy.test_broker import Inbox, link, reading
from tests.servers import Mosquitto, free_port

A, B, C = PLANTS
A_NAME, B_NAME = "Dach HM800", "Balkon West"
GATEWAYS = {A: ("", A_NAME), B: ("", B_NAME)}
"""Two AhoyDTU plants: their ``inverter_name`` cells."""
WAIT_S = 5.0


def conf_of(d: Deployed) -> list[str]:
    return (d.out / "mosquitto.conf").read_text(encoding="utf-8").splitlines()


def listener_blocks(lines: list[str]) -> dict[str, list[str]]:
    """``listener ...`` line → the directives after it, up to the next blank line."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("listener "):
            current = blocks.setdefault(line, [])
        elif not line:
            current = None
        elif current is not None and not line.startswith("#"):
            current.append(line)
    return blocks


def comments(lines: list[str]) -> str:
    return " ".join(x.lstrip("# ") for x in lines if x.startswith("#"))


# -- the files ---------------------------------------------------------------------------------


def test_plain_listener_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    tls_only = deploy(tmp_path / "tls-only", fleet)
    lines = conf_of(tls_only)
    assert list(listener_blocks(lines)) == [f"listener {tls_only.port} 127.0.0.1"]
    assert "There is no plain-text listener" in comments(lines)
    assert "plain-text listener on port" not in capsys.readouterr().out

    plain = free_port()
    d = deploy(tmp_path / "plain", fleet, "--plain-port", str(plain))
    printed = " ".join(capsys.readouterr().out.split())
    assert f"plain-text listener on port {plain}" in printed
    assert "unencrypted" in printed
    lines = conf_of(d)
    blocks = listener_blocks(lines)
    assert list(blocks) == [f"listener {d.port} 127.0.0.1", f"listener {plain} 127.0.0.1"]
    assert blocks[f"listener {plain} 127.0.0.1"] == ["protocol mqtt"]  # no TLS directive
    assert {"certfile", "keyfile", "tls_version"} <= {
        x.split()[0] for x in blocks[f"listener {d.port} 127.0.0.1"]
    }
    # the settings that make the plugin cover every listener come before both
    first = lines.index(f"listener {d.port} 127.0.0.1")
    for line in ("per_listener_settings false", "allow_anonymous false"):
        assert lines.index(line) < first, line
    assert next(x for x in lines if x.startswith("plugin ")) in lines[:first]
    text = comments(lines)
    assert "There is no plain-text listener" not in text
    for phrase in (
        "AhoyDTU",
        "UNENCRYPTED",
        "network you trust",
        "household's VPN",
        "local relay",
        "per_listener_settings is false",
    ):
        assert phrase in text, phrase
    assert json.loads((d.out / "deploy-options.json").read_text())["plain_port"] == plain

    # everything else is the same configuration
    def rest(dd: Deployed) -> list[str]:
        return [
            x
            for x in conf_of(dd)
            if x
            and not x.startswith(
                (
                    "#",
                    "listener ",
                    "protocol ",
                    "certfile ",
                    "keyfile ",
                    "plugin_opt_config_file ",
                    "persistence_location ",
                )
            )
        ]

    assert rest(d) == rest(tls_only)


def test_plain_port_is_kept_across_a_rerun_and_0_removes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    out = tmp_path / "mosquitto"
    args = ["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(out)]
    assert main([*args, "--port", "18883", "--plain-port", "11883", "--key-type", "ec"]) == 0
    capsys.readouterr()
    write_fleet(fleet, [*PLANTS, "SHZ-000001"])  # the usual re-run: a plant added
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "--plain-port 11883" in printed.split("\n")[0]  # "as the last run: ..."
    assert "plain-text listener on port 11883" in printed
    assert "listeners changed" not in printed  # they did not
    assert {"listener 18883", "listener 11883"} <= set(
        (out / "mosquitto.conf").read_text().splitlines()
    )

    assert main([*args, "--plain-port", "0"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "the listeners changed: restart the broker" in printed
    assert "plain-text listener on port" not in printed
    lines = (out / "mosquitto.conf").read_text().splitlines()
    assert [x for x in lines if x.startswith("listener ")] == ["listener 18883"]
    assert json.loads((out / "deploy-options.json").read_text())["plain_port"] == 0
    assert main(args) == 0  # and stays off
    assert "--plain-port" not in capsys.readouterr().out
    assert [
        x for x in (out / "mosquitto.conf").read_text().splitlines() if x.startswith("listener ")
    ] == ["listener 18883"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("70000", "--plain-port 70000 is not a TCP port (0 for none)"),
        ("-1", "--plain-port -1 is not a TCP port (0 for none)"),
        ("TLS", "is the TLS listener's port too"),
    ],
)
def test_a_bad_plain_port_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    d = deploy(tmp_path / "out", write_fleet(tmp_path / "fleet.csv"))
    before = {p.name: p.read_bytes() for p in d.out.iterdir()}
    capsys.readouterr()
    value = str(d.port) if value == "TLS" else value
    code = main(
        ["deploy", "mosquitto", "--fleet", str(d.fleet), "--out", str(d.out), "--plain-port", value]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert message in err
    assert {p.name: p.read_bytes() for p in d.out.iterdir()} == before


# -- a real broker -----------------------------------------------------------------------------


class Gateway:
    """An MQTT 3.1.1 client over plain TCP, as AhoyDTU's espMqttClient connects: credentials,
    a client id, a retained QoS 0 last will on ``inverter/mqtt``; no TLS."""

    def __init__(self, port: int, client_id: str, user: str | None, password: str | None) -> None:
        self.connack: list[Any] = []
        self.subacks: list[list[Any]] = []
        self._cond = threading.Condition()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
        if user is not None:
            c.username_pw_set(user, password)
        c.will_set("inverter/mqtt", "connection lost", qos=0, retain=True)
        c.reconnect_delay_set(60, 60)  # no second attempt within a test
        c.on_connect = lambda _c, _u, _f, rc, _p=None: self._add(self.connack, rc)
        c.on_subscribe = lambda _c, _u, _m, rcs, _p=None: self._add(self.subacks, list(rcs))
        c.connect("127.0.0.1", port)
        c.loop_start()
        self.client = c

    def _add(self, where: list[Any], item: Any) -> None:
        with self._cond:
            where.append(item)
            self._cond.notify_all()

    def _wait(self, where: list[Any], n: int) -> list[Any]:
        deadline = time.monotonic() + WAIT_S
        with self._cond:
            while len(where) < n and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            assert len(where) >= n, "no answer from the broker"
            return list(where)

    def accepted(self) -> bool:
        return not self._wait(self.connack, 1)[0].is_failure

    def subscribe(self, *filters: str) -> list[bool]:
        n = len(self.subacks)
        self.client.subscribe([(f, 0) for f in filters])
        return [not rc.is_failure for rc in self._wait(self.subacks, n + 1)[n]]

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        if qos:
            info.wait_for_publish(WAIT_S)
            assert info.is_published(), topic

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Deployed, int, Mosquitto]]:
    """Two AhoyDTU plants' broker with a plain listener: the deployment, its plain port and
    the running broker."""
    base = tmp_path_factory.mktemp("plain")
    port = free_port()
    d = deploy(
        base / "broker",
        write_fleet(base / "fleet.csv", gateways=GATEWAYS),
        "--plain-port",
        str(port),
    )
    server = start_broker(d, base / "run")
    try:
        yield d, port, server
    finally:
        server.stop(timeout_s=15)
        shutil.rmtree(server.workdir, ignore_errors=True)


@contextmanager
def gateway(d: Deployed, port: int, plant: str) -> Iterator[Gateway]:
    """``plant``'s gateway connected over the plain port with its credentials and its plant id
    as client id (CONNACK success asserted)."""
    gw = Gateway(port, plant, plant, d.passwords[plant])
    try:
        assert gw.accepted(), f"{plant} was refused on the plain port"
        yield gw
    finally:
        gw.close()


BRIDGE_FILTERS = ("roshanai/v1/#", "solar/#", "inverter/#")


@pytest.mark.services
def test_a_plant_publishes_over_the_plain_port_and_the_bridge_gets_it_over_tls(
    plain: tuple[Deployed, int, Mosquitto],
) -> None:
    d, port, server = plain
    own = [
        f"inverter/{A_NAME}/ch0/P_AC",
        f"inverter/{A_NAME}/ch1/U_DC",
        f"inverter/{A}/ch0/P_AC",
        f"roshanai/v1/{A}/telemetry",
    ]
    others = [
        f"inverter/{B_NAME}/ch0/P_AC",
        f"inverter/{B}/ch0/P_AC",
        f"inverter/{C}/ch0/P_AC",
        f"roshanai/v1/{B}/telemetry",
        f"roshanai/v1/{B}/availability",
        f"roshanai/v1/{A}/status",
        f"roshanai/v1/{A}/command",
        "solar/114182345678/0/power",
        "inverter/mqtt",
    ]  # AhoyDTU's own device topics are no plant's
    inbox = Inbox()
    with link(d, "bridge", subscriptions=BRIDGE_FILTERS, inbox=inbox):
        assert d.url.startswith("mqtts://")  # the bridge: over TLS
        t0 = time.monotonic()
        with gateway(d, port, A) as gw:
            for i, topic in enumerate(others):
                gw.publish(topic, str(i).encode())
            for topic in own[:-1]:
                gw.publish(topic, b"3200.5")  # AhoyDTU's default: QoS 0
            gw.publish(own[-1], reading(A, 1), qos=1)
        assert inbox.wait_for(lambda ms: any(m.topic == own[-1] for m in ms), WAIT_S)
        elapsed = time.monotonic() - t0
        time.sleep(0.3)  # a quiet window: a message from another topic would show now
    assert [m.topic for m in inbox.messages] == own
    assert inbox.messages[0].payload == b"3200.5"
    assert json.loads(inbox.messages[-1].payload)["plant_id"] == A
    print(f"plain-port plant -> TLS bridge: {len(own)} messages in {elapsed * 1000:.0f} ms")
    log = server.output_path.read_text(errors="replace")
    assert f"on port {port}." in log  # it did come in over the plain listener
    assert f"as {A} (p2, c1" in log  # MQTT 3.1.1, clean session, as AhoyDTU


@pytest.mark.services
def test_plain_port_refuses_what_the_tls_port_refuses(
    plain: tuple[Deployed, int, Mosquitto],
) -> None:
    """Anonymous, a wrong password, another plant's password, AhoyDTU's default client id
    (``<device name>-<6 MAC digits>``) and another plant's id: CONNACK refused. A plant
    subscribing beyond its own tree: SUBACK refused. The right login works (control)."""
    d, port, _ = plain
    for client_id, user, password in (
        (A, None, None),  # anonymous
        (A, A, "wrong-password"),
        (A, A, ""),
        (A, A, d.passwords[B]),
        ("AHOY-DTU-1A2B3C", A, d.passwords[A]),
        (B, A, d.passwords[A]),
        ("", A, d.passwords[A]),
    ):
        gw = Gateway(port, client_id, user, password)
        try:
            assert not gw.accepted(), (client_id, user, password and "...")
        finally:
            gw.close()
    with pytest.raises(ServiceError, match="cannot connect"):  # and MQTT 5 likewise
        MqttLink(
            f"mqtt://127.0.0.1:{port}", A, username=A, password="wrong-password", clean_start=True
        ).start(timeout_s=2)
    with gateway(d, port, A) as gw:  # positive controls
        assert gw.subscribe(
            f"roshanai/v1/{A}/command", "#", f"roshanai/v1/{B}/#", "inverter/#"
        ) == [True, False, False, False]
    with MqttLink(
        f"mqtt://127.0.0.1:{port}", B, username=B, password=d.passwords[B], clean_start=True
    ) as lk:
        lk.start(timeout_s=WAIT_S)
        assert lk.connected


def test_the_compose_stack_publishes_no_plain_port_on_every_interface() -> None:
    """The stack publishes the TLS port; a plain one is the operator's to add, on the trusted
    network's address (the file says how)."""
    yaml = pytest.importorskip("yaml")
    compose = Path(__file__).resolve().parents[3] / "deploy" / "compose.yaml"
    ports = [str(p) for p in yaml.safe_load(compose.read_text())["services"]["mosquitto"]["ports"]]
    assert ports == ["8883:8883"]
    text = compose.read_text()
    assert "--plain-port" in text
    assert '"10.8.0.1:1883:1883"' in text
