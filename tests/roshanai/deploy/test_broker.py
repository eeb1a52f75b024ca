"""A real mosquitto started from the generated production configuration, spoken to over TLS.

Every refusal is paired with a positive control on the same connection or broker: a message
that must not arrive is published before one that must, so "nothing arrived" means something.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_bridge.mqtt import InboundMessage, MqttLink
from roshanai.cli import main
from roshanai.deploy import pki
from telemetry.errors import ConfigError, ServiceError
from tests.roshanai.deploy.conftest import (
    DTU_SERIAL,
    PLANTS,
    Deployed,
    deploy,
    start_broker,
    write_fleet,
)
from tests.servers import free_port

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
def link(
    d: Deployed,
    user: str,
    *,
    client_id: str | None = None,
    password: str | None = None,
    subscriptions: tuple[str, ...] = (),
    inbox: Inbox | None = None,
    url: str | None = None,
    ca: str | None = None,
    timeout_s: float = 10.0,
) -> Iterator[MqttLink]:
    """A started MqttLink with clean start, as ``user`` (its own password unless given)."""
    lk = MqttLink(
        url or d.url,
        client_id or user,
        username=user,
        password=d.passwords.get(user, "") if password is None else password,
        ca_file=d.ca if ca is None else ca,
        clean_start=True,
        session_expiry_s=0,
        on_message=inbox,
        subscriptions=subscriptions,
    )
    lk.start(timeout_s=timeout_s)
    try:
        yield lk
    finally:
        lk.stop()


def reading(plant_id: str, seq: int) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "plant_id": plant_id,
            "ts": "2026-07-01T09:00:00Z",
            "seq": seq,
            "ac_power_w": 3200.5,
        }
    ).encode()


@pytest.fixture
def bridge_inbox(deployed: Deployed, broker) -> Iterator[Inbox]:
    """The bridge account subscribed to everything it may read."""
    inbox = Inbox()
    with link(deployed, "bridge", subscriptions=("roshanai/v1/#", "solar/#"), inbox=inbox):
        yield inbox


def test_unauthenticated_and_wrong_password_are_refused(deployed: Deployed, broker) -> None:
    for user, password in (
        (None, None),
        (A, "wrong-password"),
        (A, ""),
        ("nobody", "x"),
        ("bridge", deployed.passwords[A]),
    ):
        lk = MqttLink(
            deployed.url,
            "probe",
            username=user,
            password=password,
            ca_file=deployed.ca,
            clean_start=True,
        )
        with pytest.raises(ServiceError, match="cannot connect"):
            lk.start(timeout_s=REFUSED_TIMEOUT_S)
    # the right password works (positive control)
    with link(deployed, A) as lk:
        assert lk.connected


def test_plant_cannot_publish_as_another_plant(deployed: Deployed, bridge_inbox: Inbox) -> None:
    with link(deployed, A) as lk:
        lk.publish(f"roshanai/v1/{B}/telemetry", reading(B, 1))  # B's topic: dropped
        lk.publish(f"roshanai/v1/{B}/availability", b"offline")  # B's will topic
        lk.publish(f"roshanai/v1/{A}/status", b'{"online": false}')  # the bridge's topic
        lk.publish(f"roshanai/v1/{A}/command", b"reboot")  # its own commands
        lk.publish(f"solar/{DTU_SERIAL}/0/power", b"1")  # plant C's inverter
        lk.publish("roshanai/v1/new-plant/telemetry", reading("new-plant", 1))
        lk.publish(f"roshanai/v1/{A}/telemetry", reading(A, 2))  # its own: delivered
        assert lk.wait_published(10)
    assert bridge_inbox.wait_for(
        lambda ms: any(m.topic.startswith(f"roshanai/v1/{A}/tele") for m in ms)
    )
    time.sleep(0.3)  # a quiet window: a message the ACL should have dropped would show now
    assert bridge_inbox.topics() == [f"roshanai/v1/{A}/telemetry"]


def test_dtu_plant_publishes_only_under_its_serial(deployed: Deployed, bridge_inbox: Inbox) -> None:
    c = PLANTS[2]
    with link(deployed, c) as lk:
        lk.publish("solar/999999999999/0/power", b"5")  # another inverter's serial
        lk.publish("solar/dtu/uptime", b"5")  # DTU-wide topics go nowhere
        lk.publish("solar/114182345678/0/power", b"1234.5")
        assert lk.wait_published(10)
    assert bridge_inbox.wait_for(lambda ms: len(ms) >= 1)
    time.sleep(0.3)  # a quiet window: a message the ACL should have dropped would show now
    assert bridge_inbox.topics() == ["solar/114182345678/0/power"]


class Raw:
    """A raw paho client (MqttLink refuses wildcard client ids itself; gateways may not)."""

    def __init__(
        self,
        d: Deployed,
        user: str,
        client_id: str,
        *,
        protocol: int = paho.MQTTv311,
        password: str | None = None,
    ) -> None:
        self.connack: list[Any] = []
        self.subacks: list[list[Any]] = []
        self.messages: list[str] = []
        self._cond = threading.Condition()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        c.username_pw_set(user, d.passwords[user] if password is None else password)
        c.tls_set(ca_certs=d.ca)
        c.on_connect = self._on_connect
        c.on_subscribe = self._on_subscribe
        c.on_message = lambda _c, _u, m: self._add(self.messages, m.topic)
        c.connect("127.0.0.1", d.port)
        c.loop_start()
        self.client = c

    def _add(self, where: list[Any], item: Any) -> None:
        with self._cond:
            where.append(item)
            self._cond.notify_all()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        self._add(self.connack, rc)

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, rcs: Any, _p: Any = None) -> None:
        self._add(self.subacks, list(rcs))

    def wait(self, where: list[Any], n: int = 1, timeout_s: float = 10) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(where) < n and time.monotonic() < deadline:
                self._cond.wait(0.05)
            assert len(where) >= n, "no answer from the broker"
            return list(where)

    def refused(self) -> bool:
        """CONNACK was a refusal (the broker closes the connection after it)."""
        return self.wait(self.connack)[0].is_failure

    def subscribe(self, *filters: str) -> list[bool]:
        """Subscribe in one SUBSCRIBE packet; True per filter the broker granted."""
        n = len(self.subacks)
        self.client.subscribe([(f, 1) for f in filters])
        return [not rc.is_failure for rc in self.wait(self.subacks, n + 1)[n]]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


OTHERS = [
    "#",
    "+/#",
    "roshanai/#",
    "roshanai/v1/+/telemetry",
    "roshanai/v1/+/command",
    f"roshanai/v1/{B}/#",
    f"roshanai/v1/{B}/telemetry",
    f"roshanai/v1/{B}/command",
    f"roshanai/v1/{B}/status",
    "$share/g/roshanai/v1/#",
    f"$share/g/roshanai/v1/{A}/#",
    "$SYS/#",
    "solar/#",
    f"solar/{DTU_SERIAL}/#",
]


@pytest.mark.parametrize("protocol", [paho.MQTTv311, paho.MQTTv5], ids=["mqtt311", "mqtt5"])
def test_plant_may_subscribe_only_within_its_own_tree(
    deployed: Deployed, broker, bridge_inbox: Inbox, protocol: int
) -> None:
    """SUBACK refuses every filter reaching beyond the plant's own tree (0x80 in MQTT 3.1.1,
    0x87 in MQTT 5), while its own are granted in the same packet (positive control); nothing
    flows to it while B publishes, and of its own tree it receives only its command topic."""
    a = Raw(deployed, A, A, protocol=protocol)
    try:
        assert not a.refused()
        own = [f"roshanai/v1/{A}/command", f"roshanai/v1/{A}/#", f"roshanai/v1/{A}/+"]
        granted = a.subscribe(*own, *OTHERS)
        assert granted == [True] * len(own) + [False] * len(OTHERS)
        with link(deployed, B) as b:
            b.publish(f"roshanai/v1/{B}/telemetry", reading(B, 3))
            b.publish(f"roshanai/v1/{B}/availability", b"online")
            assert b.wait_published(10)
        assert bridge_inbox.wait_for(lambda ms: len(ms) >= 2)  # they did flow
        time.sleep(0.3)  # a quiet window: a denied subscription's message would show now
        assert a.messages == []
    finally:
        a.close()
    with (
        pytest.raises(ServiceError, match="subscription refused"),
        link(deployed, A, subscriptions=("#",)),
    ):  # MqttLink says why
        pass


def test_plant_reads_its_own_command_topic_only(deployed: Deployed, broker) -> None:
    mine = Inbox()
    with (
        link(
            deployed,
            A,
            subscriptions=(f"roshanai/v1/{A}/command", f"roshanai/v1/{A}/#"),
            inbox=mine,
        ),
        link(deployed, "bridge") as bridge,
    ):
        bridge.publish(f"roshanai/v1/{A}/status", b'{"online": true}')
        bridge.publish(f"roshanai/v1/{A}/command", b"reboot")  # not the bridge's to write
        assert bridge.wait_published(10)
        time.sleep(0.3)  # a quiet window: a write the ACL should refuse would show now
    # Nobody may write command topics yet (no account has that right).
    assert mine.messages == []


@pytest.mark.parametrize("protocol", [paho.MQTTv311, paho.MQTTv5], ids=["mqtt311", "mqtt5"])
def test_client_ids_are_bound_to_usernames(deployed: Deployed, broker, protocol: int) -> None:
    """The only client id an account may use is its username: ids with '+', '#' or '/',
    another plant's id and a random one are refused at CONNECT; B keeps its session."""
    for bad in ("a+b", "#", "x/y"):
        with pytest.raises(ConfigError):  # MqttLink refuses them itself
            MqttLink(deployed.url, bad, username=A, password=deployed.passwords[A])
    with link(deployed, B) as b:
        for bad in ("+", "#", f"{A}/#", f"{A}/x", f"{A}+", B, "", "bridge", "paho-random-1234"):
            if bad == "" and protocol == paho.MQTTv311:
                continue  # paho 3.1.1 sends an empty id only with clean session (below)
            raw = Raw(deployed, A, bad, protocol=protocol)
            try:
                assert raw.refused(), f"client id {bad!r} was accepted for {A}"
            finally:
                raw.close()
        time.sleep(0.3)  # a quiet window: a takeover of B's session would show now
        assert b.connected, "B's session was taken over"
        ok = Raw(deployed, A, A, protocol=protocol)  # positive control
        try:
            assert not ok.refused()
        finally:
            ok.close()
    with pytest.raises(ServiceError, match="not the one account"):  # the refusal says why
        MqttLink(
            deployed.url,
            "gateway-7",
            username=A,
            password=deployed.passwords[A],
            ca_file=deployed.ca,
            clean_start=True,
        ).start(timeout_s=REFUSED_TIMEOUT_S)
    log = broker.output_path.read_text(errors="replace")
    assert "as +" not in log
    assert "as #" not in log
    assert f"as {A}/" not in log


def test_tls_listener_trusts_only_the_generated_ca(
    deployed: Deployed, broker, tmp_path: Path
) -> None:
    with link(deployed, A) as lk:  # generated CA, IP SAN 127.0.0.1
        assert lk.connected
    with link(deployed, A, url=f"mqtts://localhost:{deployed.port}") as lk:  # DNS SAN
        assert lk.connected
    other = tmp_path / "other-ca"
    other.mkdir()
    pki.ensure_ca(other, key_type="ec", name="Somebody Else")
    for ca in (str(other / "ca.crt"), ""):  # a foreign CA; the system's trust store
        lk = MqttLink(
            deployed.url,
            A,
            username=A,
            password=deployed.passwords[A],
            ca_file=ca or None,
            clean_start=True,
        )
        with pytest.raises(ServiceError):
            lk.start(timeout_s=REFUSED_TIMEOUT_S)
    plain = MqttLink(
        f"mqtt://127.0.0.1:{deployed.port}",
        A,
        username=A,
        password=deployed.passwords[A],
        clean_start=True,
    )
    with pytest.raises(ServiceError):  # no plain-text MQTT on the TLS port
        plain.start(timeout_s=REFUSED_TIMEOUT_S)


def _wait_disconnected(lk: MqttLink, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while lk.connected and time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval of a bounded wait
    return not lk.connected


def test_account_changes_reach_a_running_broker_with_apply(tmp_path: Path) -> None:
    """Revoke, rotate and add a plant on a running broker (no restart, no reload): the revoked
    and rotated plants are disconnected at once, the others keep their connections, and a
    change made without --apply waits in dynsec-pending.json until the next --apply."""
    d = deploy(tmp_path / "broker", write_fleet(tmp_path / "fleet.csv"))
    c = PLANTS[2]
    server = start_broker(d, tmp_path / "run")
    try:
        with link(d, A) as a, link(d, B) as b, link(d, c) as cl:
            d2 = deploy(d.out, d.fleet, "--revoke", A, "--rotate", c, "--apply", d.url, port=d.port)
            assert A not in d2.passwords
            assert d2.passwords[B] == d.passwords[B]
            assert d2.passwords[c] != d.passwords[c]
            assert _wait_disconnected(a), "the revoked plant is still connected"
            assert _wait_disconnected(cl), "the rotated plant kept its old login"
            assert b.connected
            a.stop()
            cl.stop()
        assert not (d.out / "dynsec-pending.json").exists()
        for user, password in ((A, d.passwords[A]), (c, d.passwords[c])):
            lk = MqttLink(
                d.url, user, username=user, password=password, ca_file=d.ca, clean_start=True
            )
            with pytest.raises(ServiceError, match="cannot connect"):
                lk.start(timeout_s=REFUSED_TIMEOUT_S)
        with link(d2, c) as lk:  # the new password works
            assert lk.connected
        # a re-run with the same fleet does not bring the revoked account back
        d3 = deploy(d.out, d.fleet, port=d.port)
        assert A not in d3.passwords

        # a new plant in the fleet: written without --apply (pending), then applied
        new = "THR-000099"
        write_fleet(d.fleet, [*PLANTS, new])
        d4 = deploy(d.out, d.fleet, port=d.port)
        assert json.loads((d.out / "dynsec-pending.json").read_text()) == [new]
        with pytest.raises(ServiceError, match="cannot connect"):
            MqttLink(
                d.url, new, username=new, password=d4.passwords[new], ca_file=d.ca, clean_start=True
            ).start(timeout_s=REFUSED_TIMEOUT_S)
        deploy(d.out, d.fleet, "--apply", d.url, port=d.port)
        assert not (d.out / "dynsec-pending.json").exists()
        spy = Inbox()
        with (
            link(d4, "bridge", subscriptions=(f"roshanai/v1/{new}/telemetry",), inbox=spy),
            link(d4, new) as lk,
        ):
            lk.publish(f"roshanai/v1/{new}/telemetry", reading(new, 1))
            lk.publish(f"roshanai/v1/{B}/telemetry", reading(B, 1))  # not its topic
            assert lk.wait_published(10)
            assert spy.wait_for(lambda ms: len(ms) >= 1)
        raw = Raw(d4, new, new)
        try:
            assert raw.subscribe(f"roshanai/v1/{new}/command", "#") == [True, False]
        finally:
            raw.close()
    finally:
        server.stop(timeout_s=15)

    # The broker restarts from the files and the state it saved: the same rights.
    server = start_broker(d4, tmp_path / "run2")
    try:
        with link(d4, new), link(d4, B):
            pass
        with pytest.raises(ServiceError, match="cannot connect"):
            MqttLink(
                d.url, A, username=A, password=d.passwords[A], ca_file=d.ca, clean_start=True
            ).start(timeout_s=REFUSED_TIMEOUT_S)
    finally:
        server.stop(timeout_s=15)


def test_apply_to_an_unreachable_broker_is_one_line_and_keeps_the_change_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = deploy(tmp_path / "broker", write_fleet(tmp_path / "fleet.csv"))
    capsys.readouterr()
    port = free_port()
    assert (
        main(
            [
                "deploy",
                "mosquitto",
                "--fleet",
                str(d.fleet),
                "--out",
                str(d.out),
                "--revoke",
                A,
                "--apply",
                f"mqtts://127.0.0.1:{port}",
            ]
        )
        != 0
    )
    err = capsys.readouterr().err
    assert re.search(r"cannot (reach|connect to) the MQTT broker", err), err
    assert len(err.splitlines()) == 1, err
    assert json.loads((d.out / "dynsec-pending.json").read_text()) == [A]


def test_retained_status_of_others_is_not_delivered_on_subscribe(
    deployed: Deployed, broker
) -> None:
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
            f"roshanai/v1/{A}/status",
            f"roshanai/v1/{B}/status",
        ]
        spy = Raw(deployed, A, A)
        try:
            assert spy.subscribe(
                "#",
                f"roshanai/v1/{B}/status",
                "roshanai/v1/+/+",
                f"roshanai/v1/{A}/command",
                f"roshanai/v1/{A}/#",
            ) == [False, False, False, True, True]
            time.sleep(0.5)  # a quiet window: a denied subscription's message would show now
            assert spy.messages == []
        finally:
            spy.close()
    finally:
        with link(deployed, "bridge") as bridge:  # clear them for the other tests
            for plant in (A, B):
                bridge.publish(f"roshanai/v1/{plant}/status", b"", retain=True)
            assert bridge.wait_published(10)
