"""A real mosquitto started from the generated production configuration, spoken to over TLS.

Every refusal is paired with a positive control on the same connection or broker: a message
that must not arrive is published before one that must, so "nothing arrived" means something.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_bridge.mqtt import InboundMessage, MqttLink
from roshanai.deploy import pki
from telemetry.errors import ConfigError, ServiceError
from tests.deploy.conftest import DTU_SERIAL, PLANTS, Deployed, deploy, start_broker, write_fleet

pytestmark = pytest.mark.services

A, B = PLANTS[0], PLANTS[1]
REFUSED_TIMEOUT_S = 2.0


class Inbox:
    """Messages received by a link, with a bounded wait."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self._cond = threading.Condition()

    def __call__(self, msg: InboundMessage) -> None:
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[list[InboundMessage]], bool], timeout_s: float = 10) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not pred(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def topics(self) -> list[str]:
        with self._cond:
            return [m.topic for m in self.messages]


@contextmanager
def link(d: Deployed, user: str, *, client_id: str | None = None, password: str | None = None,
         subscriptions: tuple[str, ...] = (), inbox: Inbox | None = None,
         url: str | None = None, ca: str | None = None,
         timeout_s: float = 10.0) -> Iterator[MqttLink]:
    """A started MqttLink with clean start, as ``user`` (its own password unless given)."""
    lk = MqttLink(url or d.url, client_id or user, username=user,
                  password=d.passwords.get(user, "") if password is None else password,
                  ca_file=d.ca if ca is None else ca, clean_start=True, session_expiry_s=0,
                  on_message=inbox, subscriptions=subscriptions)
    lk.start(timeout_s=timeout_s)
    try:
        yield lk
    finally:
        lk.stop()


def reading(plant_id: str, seq: int) -> bytes:
    return json.dumps({"v": 1, "plant_id": plant_id, "ts": "2026-07-01T09:00:00Z", "seq": seq,
                       "ac_power_w": 3200.5}).encode()


@pytest.fixture
def bridge_inbox(deployed: Deployed, broker) -> Iterator[Inbox]:
    """The bridge account subscribed to everything it may read."""
    inbox = Inbox()
    with link(deployed, "bridge", subscriptions=("roshanai/v1/#", "solar/#"), inbox=inbox):
        yield inbox


def test_unauthenticated_and_wrong_password_are_refused(deployed: Deployed, broker) -> None:
    for user, password in ((None, None), (A, "wrong-password"), (A, ""), ("nobody", "x"),
                           ("bridge", deployed.passwords[A])):
        lk = MqttLink(deployed.url, "probe", username=user, password=password,
                      ca_file=deployed.ca, clean_start=True)
        with pytest.raises(ServiceError, match="cannot connect"):
            lk.start(timeout_s=REFUSED_TIMEOUT_S)
    # the right password works (positive control)
    with link(deployed, A) as lk:
        assert lk.connected


def test_plant_cannot_publish_as_another_plant(deployed: Deployed, bridge_inbox: Inbox) -> None:
    with link(deployed, A) as lk:
        lk.publish(f"roshanai/v1/{B}/telemetry", reading(B, 1))      # B's topic: dropped
        lk.publish(f"roshanai/v1/{B}/availability", b"offline")       # B's will topic
        lk.publish(f"roshanai/v1/{A}/status", b'{"online": false}')   # the bridge's topic
        lk.publish(f"roshanai/v1/{A}/command", b"reboot")             # its own commands
        lk.publish(f"solar/{DTU_SERIAL}/0/power", b"1")  # plant C's inverter
        lk.publish("roshanai/v1/new-plant/telemetry", reading("new-plant", 1))
        lk.publish(f"roshanai/v1/{A}/telemetry", reading(A, 2))      # its own: delivered
        assert lk.wait_published(10)
    assert bridge_inbox.wait_for(lambda ms: any(m.topic.startswith(f"roshanai/v1/{A}/tele")
                                                for m in ms))
    time.sleep(0.3)
    assert bridge_inbox.topics() == [f"roshanai/v1/{A}/telemetry"]


def test_dtu_plant_publishes_only_under_its_serial(deployed: Deployed,
                                                   bridge_inbox: Inbox) -> None:
    c = PLANTS[2]
    with link(deployed, c) as lk:
        lk.publish("solar/999999999999/0/power", b"5")   # another inverter's serial
        lk.publish("solar/dtu/uptime", b"5")             # DTU-wide topics go nowhere
        lk.publish("solar/114182345678/0/power", b"1234.5")
        assert lk.wait_published(10)
    assert bridge_inbox.wait_for(lambda ms: len(ms) >= 1)
    time.sleep(0.3)
    assert bridge_inbox.topics() == ["solar/114182345678/0/power"]


@pytest.mark.parametrize("pattern", ["#", "roshanai/v1/+/telemetry", f"roshanai/v1/{B}/#",
                                     "$share/g/roshanai/v1/#", "solar/#"])
def test_plant_subscriptions_receive_nothing_of_others(deployed: Deployed, broker,
                                                       bridge_inbox: Inbox, pattern: str) -> None:
    spy = Inbox()
    # mosquitto 2.0 grants the SUBSCRIBE (it checks ACLs on delivery, not on subscribe)
    with link(deployed, A, subscriptions=(pattern,), inbox=spy), link(deployed, B) as b:
        b.publish(f"roshanai/v1/{B}/telemetry", reading(B, 3))
        b.publish(f"roshanai/v1/{B}/availability", b"online")
        assert b.wait_published(10)
        assert bridge_inbox.wait_for(lambda ms: len(ms) >= 2)  # they did flow
        time.sleep(0.3)
    assert spy.messages == []


def test_plant_reads_its_own_command_topic_only(deployed: Deployed, broker) -> None:
    mine = Inbox()
    with link(deployed, A, subscriptions=(f"roshanai/v1/{A}/command",
                                          f"roshanai/v1/{A}/status"), inbox=mine), \
            link(deployed, "bridge") as bridge:
        bridge.publish(f"roshanai/v1/{A}/status", b'{"online": true}')
        assert bridge.wait_published(10)
        time.sleep(0.3)
    # Nobody may write command topics yet (no account has that right); the status topic is
    # the bridge's and is not readable by the plant.
    assert mine.messages == []


def test_client_id_is_the_username_whatever_the_client_sends(deployed: Deployed, broker,
                                                             bridge_inbox: Inbox) -> None:
    """MqttLink refuses wildcard client ids itself; raw paho sends them. The broker neither
    lets them become an identity nor lets them take over another plant's session."""
    for bad in ("a+b", "#", "x/y"):
        with pytest.raises(ConfigError):
            MqttLink(deployed.url, bad, username=A, password=deployed.passwords[A])
    # Plant A claiming B's client id gets its own session: B stays connected.
    with link(deployed, B) as b, link(deployed, A, client_id=B) as a:
        time.sleep(0.5)
        assert b.connected
        assert a.connected
    log = broker.output_path.read_text(errors="replace")
    before = log.count(f"as {A} (")
    for bad in ("+", "#", f"{B}/#"):
        spy: list[str] = []
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=bad, protocol=paho.MQTTv5)
        c.username_pw_set(A, deployed.passwords[A])
        c.tls_set(ca_certs=deployed.ca)
        c.on_message = lambda _c, _u, m, spy=spy: spy.append(m.topic)
        c.connect("127.0.0.1", deployed.port)
        c.loop_start()
        try:
            c.subscribe("#", qos=1)
            time.sleep(0.3)
            c.publish(f"roshanai/v1/{B}/telemetry", reading(B, 9), qos=1).wait_for_publish(5)
            with link(deployed, B) as b:
                b.publish(f"roshanai/v1/{B}/telemetry", reading(B, 10))
                assert b.wait_published(10)
            time.sleep(0.3)
        finally:
            c.disconnect()
            c.loop_stop()
        assert spy == [], f"client id {bad!r} received {spy}"
    # the bridge saw B's own three readings only, never the one A sent as B
    seqs = [json.loads(m.payload)["seq"] for m in bridge_inbox.messages
            if m.topic == f"roshanai/v1/{B}/telemetry"]
    assert seqs == [10, 10, 10]
    time.sleep(0.2)
    log = broker.output_path.read_text(errors="replace")
    assert log.count(f"as {A} (") >= before + 3  # each of them became plain "A" on the broker
    assert "as +" not in log
    assert "as #" not in log
    assert f"as {B}/" not in log


def test_tls_listener_trusts_only_the_generated_ca(deployed: Deployed, broker,
                                                   tmp_path: Path) -> None:
    with link(deployed, A) as lk:  # generated CA, IP SAN 127.0.0.1
        assert lk.connected
    with link(deployed, A, url=f"mqtts://localhost:{deployed.port}") as lk:  # DNS SAN
        assert lk.connected
    other = tmp_path / "other-ca"
    other.mkdir()
    pki.ensure_ca(other, key_type="ec", name="Somebody Else")
    for ca in (str(other / "ca.crt"), ""):  # a foreign CA; the system's trust store
        lk = MqttLink(deployed.url, A, username=A, password=deployed.passwords[A],
                      ca_file=ca or None, clean_start=True)
        with pytest.raises(ServiceError):
            lk.start(timeout_s=REFUSED_TIMEOUT_S)
    plain = MqttLink(f"mqtt://127.0.0.1:{deployed.port}", A, username=A,
                     password=deployed.passwords[A], clean_start=True)
    with pytest.raises(ServiceError):  # no plain-text MQTT on the TLS port
        plain.start(timeout_s=REFUSED_TIMEOUT_S)


def test_revoked_plant_is_disconnected_on_reload_and_stays_out(tmp_path: Path) -> None:
    d = deploy(tmp_path / "broker", write_fleet(tmp_path / "fleet.csv"))
    server = start_broker(d, tmp_path / "run")
    try:
        with link(d, A) as a, link(d, B) as b:
            d2 = deploy(d.out, d.fleet, "--revoke", A, port=d.port)
            assert A not in d2.passwords
            assert d2.passwords[B] == d.passwords[B]
            assert server.proc is not None
            os.kill(server.proc.pid, signal.SIGHUP)
            deadline = time.monotonic() + 10
            while a.connected and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not a.connected, "the revoked plant is still connected after the reload"
            assert b.connected
            a.stop()
        lk = MqttLink(d.url, A, username=A, password=d.passwords[A], ca_file=d.ca,
                      clean_start=True)
        with pytest.raises(ServiceError, match="cannot connect"):
            lk.start(timeout_s=REFUSED_TIMEOUT_S)
        # a re-run with the same fleet does not bring the account back
        d3 = deploy(d.out, d.fleet, port=d.port)
        assert A not in d3.passwords
    finally:
        server.stop(timeout_s=15)


def test_retained_status_of_others_is_not_delivered_on_subscribe(deployed: Deployed,
                                                                 broker) -> None:
    """Retained messages are sent from the broker's store when a client subscribes, another
    path than live delivery: a plant subscribing to ``#`` or to B's status gets none of them,
    while the bridge account subscribing the same way does (positive control)."""
    with link(deployed, "bridge") as bridge:
        for plant in (A, B):
            bridge.publish(f"roshanai/v1/{plant}/status", b'{"online": true}', retain=True)
        assert bridge.wait_published(10)
    try:
        control = Inbox()
        with link(deployed, "bridge-2", subscriptions=("roshanai/v1/+/status",), inbox=control):
            assert control.wait_for(lambda ms: len(ms) >= 2)
        assert sorted(m.topic for m in control.messages if m.retain) == [
            f"roshanai/v1/{A}/status", f"roshanai/v1/{B}/status"]
        spy = Inbox()
        with link(deployed, A, subscriptions=("#", f"roshanai/v1/{B}/status", "roshanai/v1/+/+"),
                  inbox=spy):
            time.sleep(0.5)
        assert spy.messages == []
    finally:
        with link(deployed, "bridge") as bridge:  # clear them for the other tests
            for plant in (A, B):
                bridge.publish(f"roshanai/v1/{plant}/status", b"", retain=True)
            assert bridge.wait_published(10)
