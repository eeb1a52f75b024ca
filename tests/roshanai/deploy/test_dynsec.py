"""DTU gateways' topics in the generated broker: OpenDTU by serial (lower-case hexadecimal, as
OpenDTU prints it), AhoyDTU by inverter name (inner spaces, any script) and by plant id; the
plugin's file and the classic ACL file grant the same, and a real mosquitto enforces both.
Packets as large as the bridge reads pass; larger ones disconnect their sender.

Every refusal is paired with a positive control: what must not arrive is published before a
marker that must, on the same connection, so "nothing arrived" means something.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_bridge.decode import DEFAULT_MAX_PAYLOAD_BYTES
from roshanai.cli import main
from roshanai.deploy import broker as broker_conf
from roshanai.deploy import control
from tests.roshanai.deploy.conftest import (
    DTU_SERIAL,
    PLANTS,
    Deployed,
    deploy,
    start_broker,
    write_fleet,
)
from tests.roshanai.deploy.test_broker import Inbox, link, reading
from tests.servers import MissingBinaryError, Mosquitto, free_port

A, B, C = PLANTS
GATEWAYS = {
    A: ("1141A2B3C4D5;116190000001", "Dach HM800"),  # mixed-case hex, as a registry may hold it
    B: ("HMS-2000.x_7", "Balkon West;سقف شرقی;THR-000002"),  # not hex: kept; named like B
    C: (DTU_SERIAL, ""),
}
A_SERIAL = "1141a2b3c4d5"  # as OpenDTU publishes it (PRIx32)
BRIDGE_FILTERS = ("roshanai/v1/#", "solar/#", "inverter/#")


def publish_grants(doc: dict[str, Any], plant: str) -> list[str]:
    role = next(r for r in doc["roles"] if r["rolename"] == f"plant:{plant}")
    return [a["topic"] for a in role["acls"] if a["acltype"] == "publishClientSend"]


def acl_blocks(text: str) -> dict[str | None, list[str]]:
    """``user`` → its lines (None: the patterns before the first ``user``), comments dropped."""
    blocks: dict[str | None, list[str]] = {None: []}
    user: str | None = None
    for line in text.splitlines():
        if line.startswith("user "):
            user = line[5:]
            blocks[user] = []
        elif line and not line.startswith("#"):
            blocks[user].append(line)
    return blocks


# -- the files ---------------------------------------------------------------------------------


def test_both_files_grant_serials_in_topic_form_names_and_the_plant_id(tmp_path: Path) -> None:
    d = deploy(tmp_path / "out", write_fleet(tmp_path / "fleet.csv", gateways=GATEWAYS))
    doc = json.loads((d.out / "dynamic-security.json").read_text(encoding="utf-8"))
    own = {p: [f"roshanai/v1/{p}/telemetry", f"roshanai/v1/{p}/availability"] for p in PLANTS}
    assert publish_grants(doc, A) == [
        *own[A],
        f"solar/{A_SERIAL}/#",
        "solar/116190000001/#",
        "inverter/Dach HM800/#",
        f"inverter/{A}/#",
    ]
    assert publish_grants(doc, B) == [
        *own[B],
        "solar/HMS-2000.x_7/#",
        "inverter/Balkon West/#",
        "inverter/سقف شرقی/#",
        f"inverter/{B}/#",
    ]  # B once
    assert publish_grants(doc, C) == [*own[C], f"solar/{DTU_SERIAL}/#", f"inverter/{C}/#"]

    acl_text = (d.out / "acl").read_text(encoding="utf-8")
    blocks = acl_blocks(acl_text)
    assert "pattern write inverter/%u/#" in blocks[None]  # every plant's own id, one line
    assert blocks[A] == [
        f"topic write solar/{A_SERIAL}/#",
        "topic write solar/116190000001/#",
        "topic write inverter/Dach HM800/#",
    ]
    assert blocks[B] == [
        "topic write solar/HMS-2000.x_7/#",
        "topic write inverter/Balkon West/#",
        "topic write inverter/سقف شرقی/#",
    ]
    assert blocks[C] == [f"topic write solar/{DTU_SERIAL}/#"]
    assert "topic deny inverter/bridge/#" in blocks["bridge"]  # the pattern is not the bridge's
    # the upper-case spelling reaches no file: OpenDTU never publishes it
    for text in (acl_text, json.dumps(doc)):
        assert "1141A2B3C4D5" not in text
        assert f"inverter/{A_SERIAL}" not in text  # serials are not AhoyDTU topics
        assert f"inverter/{DTU_SERIAL}" not in text


def test_other_prefixes_and_ahoydtu_turned_off(tmp_path: Path) -> None:
    d = deploy(
        tmp_path / "out",
        write_fleet(tmp_path / "fleet.csv", gateways=GATEWAYS),
        "--opendtu-prefix",
        "site/opendtu",
        "--ahoy-prefix",
        "",
    )
    doc = json.loads((d.out / "dynamic-security.json").read_text(encoding="utf-8"))
    assert publish_grants(doc, A)[2:] == [
        f"site/opendtu/{A_SERIAL}/#",
        "site/opendtu/116190000001/#",
    ]
    assert not [
        t
        for r in doc["roles"]
        for a in r["acls"]
        if (t := a["topic"]).startswith(("inverter/", "$share/+/inverter/"))
    ]
    blocks = acl_blocks((d.out / "acl").read_text(encoding="utf-8"))
    assert not [x for x in blocks[None] if "inverter" in x]
    assert blocks[A] == [
        f"topic write site/opendtu/{A_SERIAL}/#",
        "topic write site/opendtu/116190000001/#",
    ]
    assert B not in blocks or not [x for x in blocks[B] if "inverter" in x]


def test_changed_serials_or_names_wait_for_apply_and_case_alone_is_no_change(
    tmp_path: Path,
) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv", gateways=GATEWAYS)
    d = deploy(tmp_path / "out", fleet)
    write_fleet(fleet, gateways={**GATEWAYS, A: (GATEWAYS[A][0].lower(), GATEWAYS[A][1])})
    deploy(d.out, fleet, port=d.port)
    assert not (d.out / "dynsec-pending.json").exists()  # the same topics
    write_fleet(fleet, gateways={**GATEWAYS, A: ("116190000002", "Dach Ost")})
    deploy(d.out, fleet, port=d.port)
    assert json.loads((d.out / "dynsec-pending.json").read_text()) == [A]
    write_fleet(
        fleet,
        gateways={**GATEWAYS, A: ("116190000002", "Dach Ost"), B: (GATEWAYS[B][0], "Balkon West")},
    )
    deploy(d.out, fleet, port=d.port)
    assert json.loads((d.out / "dynsec-pending.json").read_text()) == [A, B]


def test_names_of_other_accounts_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every account may publish under inverter/<its id>/: a name that is a bridge's or a
    departed plant's account would share that tree."""
    fleet = write_fleet(tmp_path / "fleet.csv", gateways=GATEWAYS)
    out = tmp_path / "out"
    args = ["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(out)]
    write_fleet(fleet, gateways={A: ("", "bridge-2")})
    assert main(args) == 2
    assert "'bridge-2' of plant THR-000001 is a bridge account's name" in capsys.readouterr().err
    assert not out.exists()

    d = deploy(out, write_fleet(fleet, gateways=GATEWAYS))
    write_fleet(fleet, [A, B], gateways={**GATEWAYS, B: ("", f"Balkon West;{C}")})  # C left
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main([*args, "--port", str(d.port)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"'{C}' of plant {B} is the account of a plant no longer in the fleet" in err
    assert f"--revoke {C}" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    deploy(out, fleet, "--revoke", C, port=d.port)
    doc = json.loads((out / "dynamic-security.json").read_text(encoding="utf-8"))
    assert f"inverter/{C}/#" in publish_grants(doc, B)
    assert C not in {c["username"] for c in doc["clients"]}


# -- a real broker -----------------------------------------------------------------------------


def classic_config(d: Deployed) -> Path:
    """The generated configuration with the classic files instead of the plugin."""
    lines = []
    for line in (d.out / "mosquitto.conf").read_text().splitlines():
        if line.startswith("plugin "):
            line = f"password_file {d.out.resolve()}/passwd"
        elif line.startswith("plugin_opt_config_file "):
            line = f"acl_file {d.out.resolve()}/acl"
        lines.append(line)
    path = d.out / "mosquitto-classic.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module", params=["plugin", "classic"])
def gw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Deployed, Mosquitto]]:
    """A deployment of the gateways' fleet and a broker from it: with the dynamic-security
    plugin (what is deployed), or with the passwd and acl files it writes beside it."""
    base = tmp_path_factory.mktemp(f"gateways-{request.param}")
    d = deploy(base / "broker", write_fleet(base / "fleet.csv", gateways=GATEWAYS))
    config = d.out / "mosquitto.conf" if request.param == "plugin" else classic_config(d)
    try:
        server = Mosquitto(base / "run", config_file=config).start()
    except MissingBinaryError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield d, server
    finally:
        server.stop(timeout_s=15)
        shutil.rmtree(server.workdir, ignore_errors=True)


def publish_then_marker(
    d: Deployed, plant: str, inbox: Inbox, topics: list[str], qos: int
) -> list[Any]:
    """Publish ``topics`` as ``plant`` at ``qos``, then a QoS 1 marker on its canonical topic;
    the messages the bridge got before the marker."""
    marker = f"roshanai/v1/{plant}/telemetry"
    start = len(inbox.messages)
    with link(d, plant) as lk:
        for i, topic in enumerate(topics):
            lk.publish(topic, str(1000 + i).encode(), qos=qos)
        lk.publish(marker, reading(plant, 1), qos=1)
        assert lk.wait_published(10)
    assert inbox.wait_for(lambda ms: any(m.topic == marker for m in ms[start:])), "no marker"
    time.sleep(0.2)  # a quiet window: a message the ACL should have dropped would show now
    return [m for m in inbox.messages[start:] if m.topic != marker]


@pytest.mark.services
@pytest.mark.parametrize("qos", [0, 1])
def test_a_plant_publishes_under_its_own_gateway_topics_only(
    gw: tuple[Deployed, Mosquitto], qos: int
) -> None:
    d, _ = gw
    own_a = [
        f"solar/{A_SERIAL}/0/power",
        "solar/116190000001/1/voltage",
        "inverter/Dach HM800/ch0/P_AC",
        f"inverter/{A}/last_success",
    ]
    others = [
        "solar/hms-2000.x_7/0/power",
        "solar/HMS-2000.x_7/0/power",  # B's serial
        f"solar/{DTU_SERIAL}/0/power",  # C's serial
        "inverter/Balkon West/ch0/P_AC",
        "inverter/سقف شرقی/ch0/P_AC",  # B's names
        f"inverter/{B}/last_success",
        f"inverter/{C}/ch0/P_AC",  # B's, C's ids
        f"inverter/{A_SERIAL}/ch0/P_AC",  # its serial is no AhoyDTU topic any more
        "solar/Dach HM800/0/power",  # its name is no OpenDTU topic
        "inverter/Dach/ch0/P_AC",
        "inverter/Dach HM800 2/ch0/P_AC",  # near its name
        "solar/dtu/uptime",
        f"roshanai/v1/{B}/telemetry",
    ]
    inbox = Inbox()
    with link(d, "bridge", subscriptions=BRIDGE_FILTERS, inbox=inbox):
        got = publish_then_marker(d, A, inbox, [*others, *own_a], qos)
        assert [m.topic for m in got] == own_a
        assert [m.payload for m in got] == [
            str(1000 + len(others) + i).encode() for i in range(len(own_a))
        ]
        assert {m.qos for m in got} == {qos}
        own_b = [
            "solar/HMS-2000.x_7/0/power",
            "inverter/Balkon West/ch1/U_DC",
            "inverter/سقف شرقی/ch0/P_AC",
            f"inverter/{B}/ch0/P_AC",
        ]
        got = publish_then_marker(
            d, B, inbox, [f"solar/{A_SERIAL}/0/power", "inverter/Dach HM800/ch0/P_AC", *own_b], qos
        )
        assert [m.topic for m in got] == own_b


class RawPublisher:
    """A plain paho client (MQTT 3.1.1: it learns no packet limit from the broker and sends
    whatever it is given), to see what the broker does with an oversized packet."""

    def __init__(self, d: Deployed, user: str) -> None:
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=user, protocol=paho.MQTTv311)
        c.username_pw_set(user, d.passwords[user])
        c.tls_set(ca_certs=d.ca)
        c.on_connect = lambda *_a: self.connected.set()
        c.on_disconnect = lambda *_a: self.disconnected.set()
        c.reconnect_delay_set(60, 60)  # no second attempt within the test
        c.connect("127.0.0.1", d.port)
        c.loop_start()
        assert self.connected.wait(10), "no CONNACK"
        self.client = c

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def batch_of_exactly(plant: str, size: int) -> bytes:
    """A canonical batch of readings, padded with JSON whitespace to ``size`` bytes."""
    one = {
        "ts": "2026-07-01T09:00:00Z",
        "ac_power_w": 3200.5,
        "energy_total_wh": 1234567,
        "dc": [{"v": 350.1, "a": 5.2, "w": 1820.0}],
        "temp_c": 41.2,
        "status": "producing",
    }
    n = (size - 100) // (len(json.dumps(one)) + 2)
    body = json.dumps({"v": 1, "plant_id": plant, "readings": [one] * n}).encode()
    assert len(body) <= size
    return body[:-1] + b" " * (size - len(body)) + b"}"


@pytest.mark.services
def test_packets_as_large_as_the_bridge_reads_pass_and_larger_ones_disconnect(
    gw: tuple[Deployed, Mosquitto],
) -> None:
    d, server = gw
    topic = f"roshanai/v1/{A}/telemetry"
    inbox = Inbox()
    with link(d, "bridge", subscriptions=(topic,), inbox=inbox):
        sizes = (1_000_000, DEFAULT_MAX_PAYLOAD_BYTES)
        payloads = [batch_of_exactly(A, n) for n in sizes]
        assert [len(p) for p in payloads] == list(sizes)
        json.loads(payloads[0])  # a real batch
        t0 = time.monotonic()
        with link(d, A) as lk:
            for p in payloads:
                lk.publish(topic, p, qos=1)
            assert lk.wait_published(20)
        assert inbox.wait_for(lambda ms: len(ms) >= 2, timeout_s=20)
        elapsed_s = time.monotonic() - t0
        assert [m.payload for m in inbox.messages] == payloads
        print(
            f"two payloads of {sizes[0]:,} and {sizes[1]:,} bytes over TLS to the bridge "
            f"account: {elapsed_s:.2f} s"
        )

        # At the limit (mosquitto: remaining length + 1 <= max_packet_size; a QoS 0 PUBLISH is
        # 2 + topic + payload), then one byte more: the broker hangs up, the packet is dropped.
        at_limit = broker_conf.MAX_PACKET_BYTES - 1 - 2 - len(topic)
        raw = RawPublisher(d, A)
        try:
            raw.client.publish(topic, b"x" * at_limit, qos=0)
            raw.client.publish(topic, b"y" * (at_limit + 1), qos=0)
            assert raw.disconnected.wait(10), "an oversized packet was accepted"
        finally:
            raw.close()
        with link(d, A) as lk:  # positive control: the account still works
            lk.publish(topic, reading(A, 9), qos=1)
            assert lk.wait_published(10)
        assert inbox.wait_for(lambda ms: len(ms) >= 4)
        time.sleep(0.2)  # a quiet window: an extra delivery would show now
        assert [len(m.payload) for m in inbox.messages[2:]] == [at_limit, len(reading(A, 9))]
    log = server.output_path.read_text(errors="replace")
    assert f"Client {A} disconnected due to oversize packet." in log


@pytest.mark.services
def test_apply_sends_changed_serials_and_names_to_a_running_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A plant's new inverter (serial) and renamed AhoyDTU inverter reach the running broker
    with --apply, no restart: the new topics pass, the old ones no longer; the plant whose
    rules did not change keeps its connection; a re-run then finds nothing to send."""
    fleet = write_fleet(tmp_path / "fleet.csv", gateways=GATEWAYS)
    d = deploy(tmp_path / "broker", fleet)
    server = start_broker(d, tmp_path / "run")
    try:
        inbox = Inbox()
        old = [f"solar/{A_SERIAL}/0/power", "inverter/Dach HM800/ch0/P_AC"]
        new = ["solar/116190000002/0/power", "inverter/Dach Ost/ch0/P_AC"]
        kept = ["solar/116190000001/0/power", f"inverter/{A}/last_success"]
        with link(d, "bridge", subscriptions=BRIDGE_FILTERS, inbox=inbox), link(d, C) as c:
            got = publish_then_marker(d, A, inbox, [*new, *old, *kept], qos=1)
            assert [m.topic for m in got] == [*old, *kept]
            write_fleet(fleet, gateways={**GATEWAYS, A: ("116190000002;116190000001", "Dach Ost")})
            capsys.readouterr()
            deploy(d.out, fleet, "--apply", d.url, port=d.port)
            assert "applied to" in capsys.readouterr().out
            assert not (d.out / "dynsec-pending.json").exists()
            got = publish_then_marker(d, A, inbox, [*old, *new, *kept], qos=1)
            assert [m.topic for m in got] == [*new, *kept]
            time.sleep(0.3)  # a quiet window: a disconnect of the unchanged plant would show now
            assert c.connected, "a plant whose rules did not change was disconnected"
        deploy(d.out, fleet, "--apply", d.url, port=d.port)
        assert "no account changes to send" in capsys.readouterr().out
    finally:
        server.stop(timeout_s=15)


def test_apply_that_would_stall_the_broker_longer_than_a_restart_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade that adds a topic to every plant's rules (as the AhoyDTU plant-id grant did)
    makes every account pending; at fleet scale sending them would hold the broker for hours
    (the plugin rewrites its file after each command), so --apply says to restart instead,
    before it connects (the URL here has no broker), and the changes stay pending."""
    fleet = write_fleet(tmp_path / "fleet.csv", gateways=GATEWAYS)
    d = deploy(tmp_path / "out", fleet)
    path = d.out / "dynamic-security.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    for role in doc["roles"]:  # as the previous version wrote it: no inverter/<plant id>/#
        own = f"inverter/{role['rolename'].removeprefix('plant:')}/#"
        role["acls"] = [a for a in role["acls"] if a["topic"] != own]
    path.write_text(json.dumps(doc), encoding="utf-8")
    # 3 plants x 4 commands with 5 accounts: about 1 ms at the measured rate; make that too long
    monkeypatch.setattr(control, "MAX_APPLY_STALL_S", 1e-4)
    capsys.readouterr()
    assert (
        main(
            [
                "deploy",
                "mosquitto",
                "--fleet",
                str(fleet),
                "--out",
                str(d.out),
                "--apply",
                f"mqtts://127.0.0.1:{free_port()}",
            ]
        )
        == 2
    )
    err = " ".join(capsys.readouterr().err.split())
    assert "--apply: 3 changed accounts are 12 plugin commands" in err
    assert "restart the broker at a quiet hour instead" in err
    assert "cannot reach" not in err
    assert json.loads((d.out / "dynsec-pending.json").read_text()) == sorted(PLANTS)
