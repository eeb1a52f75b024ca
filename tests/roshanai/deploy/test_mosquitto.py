"""``roshanai deploy mosquitto`` files: hash format, permissions, re-runs, revocation, sizing."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware_bridge.decode import DEFAULT_MAX_PAYLOAD_BYTES
from roshanai.cli import main
from roshanai.config import load_settings, mask
from roshanai.deploy import broker, pki
from roshanai.deploy.passwords import (
    hash_password,
    read_password_file,
    verify_password,
)
from tests.roshanai.deploy.conftest import PLANTS, deploy, write_fleet

SECRET_FILES = (
    "credentials.csv",
    "passwd",
    "acl",
    "server.key",
    "ca.key",
    "bridge.env",
    "dynamic-security.json",
    "admin.env",
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_hash_format_is_mosquitto_passwd_s(tmp_path: Path) -> None:
    if shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto_passwd is not installed; run bin/bootstrap --services")
    pw = tmp_path / "pw"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(pw), "alice", "s3cret-Ünicode"],
        check=True,
        capture_output=True,
    )
    theirs = read_password_file(pw)["alice"]
    assert verify_password("s3cret-Ünicode", theirs)
    assert not verify_password("s3cret", theirs)
    ours = hash_password("s3cret-Ünicode", salt=bytes(range(12)))
    assert ours.split("$")[:3] == theirs.split("$")[:3] == ["", "7", "101"]
    assert len(ours) == len(theirs)  # 12-byte salt and 64-byte digest, base64 with padding
    assert verify_password("s3cret-Ünicode", ours)


def test_files_modes_and_contents(tmp_path: Path) -> None:
    d = deploy(tmp_path / "out", write_fleet(tmp_path / "fleet.csv"))
    assert mode(d.out) == 0o750
    for name in SECRET_FILES:
        assert mode(d.out / name) == 0o600, name
    for name in ("ca.crt", "server.crt", "mosquitto.conf"):
        assert mode(d.out / name) == 0o644, name
    assert set(d.passwords) == {"bridge", *PLANTS}
    assert len(set(d.passwords.values())) == len(d.passwords)
    assert all(len(p) >= 32 for p in d.passwords.values())
    hashes = read_password_file(d.out / "passwd")
    assert set(hashes) == set(d.passwords)
    assert all(verify_password(d.passwords[u], h) for u, h in hashes.items())
    header = (d.out / "credentials.csv").read_text().splitlines()[0]
    assert header == "plant_id,username,password"
    conf = (d.out / "mosquitto.conf").read_text()
    for line in (
        "allow_anonymous false",
        "persistence true",
        f"listener {d.port} 127.0.0.1",
        "tls_version tlsv1.2",
        "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
        f"plugin_opt_config_file {d.out.resolve()}/dynamic-security.json",
    ):
        assert line in conf.splitlines(), line
    # the plugin alone decides: no password file or ACL that would let an account it does not
    # know in, and no client id replacement that would hide a bad id
    for word in ("password_file", "acl_file", "use_username_as_clientid"):
        assert not [x for x in conf.splitlines() if x.startswith(word)], word
    doc = json.loads((d.out / "dynamic-security.json").read_text())
    assert doc["defaultACLAccess"] == {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }
    clients = {c["username"]: c for c in doc["clients"]}
    assert set(clients) == {*d.passwords, "roshanai-admin"}
    assert all(c["clientid"] == u for u, c in clients.items())
    for user, c in clients.items():  # the password file's hash, in the plugin's fields
        if user in hashes:
            assert hashes[user] == f"$7${c['iterations']}${c['salt']}${c['password']}"
    roles = {r["rolename"]: r["acls"] for r in doc["roles"]}
    assert {(a["acltype"], a["topic"]) for a in roles[f"plant:{PLANTS[0]}"]} == {
        ("publishClientSend", f"roshanai/v1/{PLANTS[0]}/telemetry"),
        ("publishClientSend", f"roshanai/v1/{PLANTS[0]}/availability"),
        ("publishClientSend", f"inverter/{PLANTS[0]}/#"),  # an AhoyDTU named like the plant
        ("publishClientReceive", f"roshanai/v1/{PLANTS[0]}/command"),
        ("subscribePattern", f"roshanai/v1/{PLANTS[0]}/#"),
    }
    assert "ROSHANAI_MQTT_USERNAME=roshanai-admin" in (d.out / "admin.env").read_text()
    assert "\nlistener" not in conf.replace(f"\nlistener {d.port} 127.0.0.1", "")  # only one
    env = (d.out / "bridge.env").read_text()
    assert f"ROSHANAI_MQTT_PASSWORD={d.passwords['bridge']}" in env
    assert "ROSHANAI_CLIENT_ID=bridge" in env


def test_rerun_keeps_credentials_adds_new_plants_and_reports_departed(
    tmp_path: Path, capsys
) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    d1 = deploy(tmp_path / "out", fleet)
    passwd_before = (d1.out / "passwd").read_text()
    cert_before = (d1.out / "server.crt").read_bytes()
    ca_before = (d1.out / "ca.crt").read_bytes()
    grown = write_fleet(tmp_path / "fleet2.csv", [*PLANTS[1:], "KRM-000001"])  # one left
    capsys.readouterr()
    d2 = deploy(d1.out, grown, port=d1.port)
    printed = capsys.readouterr().out
    assert {u: d2.passwords[u] for u in d1.passwords} == d1.passwords
    assert "KRM-000001" in d2.passwords
    assert "1 added, 1 passwords hashed" in printed
    assert f"1 account(s) of plants no longer in fleet2.csv ({PLANTS[0]})" in printed
    lines_after = (d2.out / "passwd").read_text().splitlines()
    assert lines_after[: len(passwd_before.splitlines())] == passwd_before.splitlines()
    assert (d2.out / "server.crt").read_bytes() == cert_before  # nothing changed: kept
    assert (d2.out / "ca.crt").read_bytes() == ca_before


def test_rotate_revoke_reinstate(tmp_path: Path, capsys) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    d1 = deploy(tmp_path / "out", fleet, "--bridges", "2")
    a, b = PLANTS[0], PLANTS[1]
    d2 = deploy(
        d1.out,
        fleet,
        "--rotate",
        a,
        "--rotate",
        "bridge-2",
        "--revoke",
        b,
        "--bridges",
        "2",
        port=d1.port,
    )
    assert d2.passwords[a] != d1.passwords[a]
    assert d2.passwords["bridge-2"] != d1.passwords["bridge-2"]
    assert "bridge-2" in (d2.out / "bridge-2.env").read_text()
    assert d2.passwords["bridge-2"] in (d2.out / "bridge-2.env").read_text()
    assert b not in d2.passwords
    assert b not in read_password_file(d2.out / "passwd")
    assert (d2.out / "revoked.csv").read_text().startswith(f"plant_id,revoked_at\n{b},")
    d3 = deploy(d1.out, fleet, "--bridges", "2", port=d1.port)  # the fleet still lists b
    assert b not in d3.passwords
    d4 = deploy(d1.out, fleet, "--reinstate", b, "--bridges", "2", port=d1.port)
    assert d4.passwords[b] not in (d1.passwords[b], "")
    assert verify_password(d4.passwords[b], read_password_file(d4.out / "passwd")[b])
    assert (d4.out / "revoked.csv").read_text() == "plant_id,revoked_at\n"
    printed = capsys.readouterr().out
    for pw in {**d1.passwords, **d2.passwords, **d4.passwords}.values():
        assert pw not in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--revoke", "NOPE-1"], "--revoke NOPE-1: no such account"),
        (["--rotate", "NOPE-1"], "--rotate NOPE-1: no such account"),
        (["--reinstate", PLANTS[0]], "not a revoked account"),
        (["--tls-hostname", "bad host"], "neither a DNS name nor an IP"),
        (["--opendtu-prefix", "roshanai/v1"], "outside roshanai/"),
        (["--ahoy-prefix", "solar"], "must be separate trees"),
        (["--opendtu-prefix", "inverter/dtu"], "must be separate trees"),
        (["--bridges", "0"], "--bridges 0"),
        (["--config-dir", "relative/dir"], "absolute path"),
    ],
)
def test_bad_requests_are_one_line_errors(tmp_path: Path, capsys, args, message) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    deploy(tmp_path / "out", fleet)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    code = main(
        ["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(tmp_path / "out"), *args]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert message in " ".join(err.split())
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before


def test_plant_named_like_a_bridge_is_refused(tmp_path: Path, capsys) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv", [PLANTS[0], "bridge-3"])
    code = main(["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "reserved" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_hashes_that_disagree_with_credentials_are_redone(tmp_path: Path, capsys) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    d = deploy(tmp_path / "out", fleet)
    passwd = d.out / "passwd"
    passwd.write_text("".join(f"{u}:{hash_password('stale')}\n" for u in d.passwords))
    capsys.readouterr()
    deploy(d.out, fleet, port=d.port)
    assert "every password rehashed" in capsys.readouterr().out
    hashes = read_password_file(passwd)
    assert all(verify_password(d.passwords[u], hashes[u]) for u in d.passwords)


def test_server_certificate_names_and_renewal(tmp_path: Path) -> None:
    d = deploy(
        tmp_path / "out",
        write_fleet(tmp_path / "fleet.csv"),
        "--tls-hostname",
        "mqtt.roshanai.example",
        "--tls-hostname",
        "10.1.2.3",
    )
    info = pki.cert_info(d.out / "server.crt")
    assert info.hostnames == {"127.0.0.1", "mqtt.roshanai.example", "10.1.2.3", "localhost", "::1"}
    assert info.not_after - datetime.now(UTC) > timedelta(days=pki.SERVER_DAYS - 2)
    hosts = pki.normalize_hostnames(["127.0.0.1", "mqtt.roshanai.example", "10.1.2.3"])
    assert pki.ensure_server_cert(d.out, hosts, key_type="ec") is None
    later = datetime.now(UTC) + timedelta(days=pki.SERVER_DAYS - 10)
    assert pki.ensure_server_cert(d.out, hosts, key_type="ec", now=later).startswith("expires")
    subprocess.run(
        ["openssl", "verify", "-CAfile", str(d.out / "ca.crt"), str(d.out / "server.crt")],
        check=True,
        capture_output=True,
    )
    ca = subprocess.run(
        ["openssl", "x509", "-in", str(d.out / "ca.crt"), "-noout", "-text"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "CA:TRUE" in ca


def test_queue_limit_holds_an_hour_of_the_full_fleet() -> None:
    opts = broker.BrokerOptions(report_interval_s=60, outage_hours=1)
    z = broker.queue_sizing(500_000, opts)
    assert z.messages_per_hour == 30_000_000
    assert z.max_queued_messages == 45_000_000
    assert 17 < z.memory_gib < 20
    conf = broker.mosquitto_conf(opts, z, generated="now", fleet_source="f.csv")
    assert "max_queued_messages 45000000" in conf
    assert "500,000 plants x 3600 s / 60 s = 30,000,000 messages per hour" in conf
    # payloads are bounded as well: a message may now carry a 1 MiB batch
    assert z.max_queued_bytes == 45_000_000 * broker.QUEUED_PAYLOAD_BYTES_PER_MESSAGE
    assert f"max_queued_bytes {z.max_queued_bytes}" in conf.splitlines()
    assert z.memory_gib < z.limit_memory_gib < 3.5 * z.memory_gib
    small = broker.queue_sizing(10, broker.BrokerOptions(report_interval_s=300))
    assert small.max_queued_messages == broker.MIN_QUEUED_MESSAGES
    assert small.max_queued_bytes == 100 * DEFAULT_MAX_PAYLOAD_BYTES  # a hundred full batches


def test_packet_limit_leaves_room_beside_the_bridges_largest_payload() -> None:
    opts = broker.BrokerOptions()
    conf = broker.mosquitto_conf(
        opts, broker.queue_sizing(10, opts), generated="now", fleet_source="f.csv"
    ).splitlines()
    limit = int(next(x for x in conf if x.startswith("max_packet_size ")).split()[1])
    assert limit == broker.MAX_PACKET_BYTES == DEFAULT_MAX_PAYLOAD_BYTES + 64 * 1024
    # the figure is explained where the operator reads it
    assert any("1,048,576 bytes of payload" in x for x in conf if x.startswith("#"))
    # the bridge's largest payload on a canonical topic (64-character plant id), with the fixed
    # header, topic length, packet id and MQTT 5 properties: far inside
    topic = len("roshanai/v1/") + 64 + len("/telemetry")
    assert DEFAULT_MAX_PAYLOAD_BYTES + 5 + 2 + topic + 2 + 1024 < limit


def test_dtu_serials_get_their_own_acl_lines(tmp_path: Path) -> None:
    d = deploy(tmp_path / "out", write_fleet(tmp_path / "fleet.csv"))
    acl = (d.out / "acl").read_text().splitlines()
    i = acl.index(f"user {PLANTS[2]}")
    assert acl[i + 1 :] == ["topic write solar/114182345678/#"]  # OpenDTU only: by serial
    assert "pattern write roshanai/v1/%u/telemetry" in acl
    assert "pattern write inverter/%u/#" in acl
    assert not any(line.startswith("topic") and line.split()[-1] == "#" for line in acl)


def test_config_show_masks_the_bridge_password(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = deploy(tmp_path / "out", write_fleet(tmp_path / "fleet.csv"))
    for line in (d.out / "bridge.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("ROSHANAI_INFLUX_TOKEN", "tok-QX-secret")
    monkeypatch.setenv("ROSHANAI_MQTT_URL", "mqtts://bridge:pw-in-url-QX@127.0.0.1:8883")
    monkeypatch.setenv("ROSHANAI_MQTT_CA_FILE", str(d.out / "ca.crt"))
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    assert d.passwords["bridge"] not in out
    assert "tok-QX-secret" not in out
    assert "pw-in-url-QX" not in out
    assert "bridge" in out  # the username is shown
    s, _ = load_settings()
    assert mask("mqtt_password", s.mqtt_password) == "********"


def test_rerun_with_only_fleet_and_out_keeps_the_first_runs_options(tmp_path: Path, capsys) -> None:
    """Adding a plant is `deploy mosquitto --fleet F --out DIR`: it must not fall back to the
    defaults for the certificate's names, the container paths, the bridges or the owner (a
    reload would then lose the gateways' host name or the broker its own files)."""
    first = [
        "--bridges",
        "2",
        "--tls-hostname",
        "mqtt.example.ir",
        "--tls-hostname",
        "mosquitto",
        "--config-dir",
        "/mosquitto/config",
        "--data-dir",
        "/mosquitto/data",
        "--port",
        "18883",
        "--key-type",
        "ec",
        "--report-interval-s",
        "300",
    ]
    as_root = os.geteuid() == 0
    if as_root:
        first += ["--broker-user", "1883:1883"]
    fleet = write_fleet(tmp_path / "fleet.csv")
    out = tmp_path / "mosquitto"
    assert main(["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(out), *first]) == 0
    conf = (out / "mosquitto.conf").read_text()
    server_crt = (out / "server.crt").read_bytes()
    write_fleet(fleet, [*PLANTS, "SHZ-000001"])
    capsys.readouterr()
    assert main(["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "as the last run:" in printed
    assert "--tls-hostname mqtt.example.ir mosquitto" in printed
    again = (out / "mosquitto.conf").read_text()

    def directives(text: str) -> list[str]:
        return [line for line in text.splitlines() if line and not line.startswith("#")]

    assert directives(again) == directives(conf)  # max_queued_messages: 10,000 both times
    assert "plugin_opt_config_file /mosquitto/config/dynamic-security.json" in again
    assert "plugin /usr/lib/mosquitto_dynamic_security.so" in again  # the image's path
    assert "listener 18883" in again
    assert (out / "server.crt").read_bytes() == server_crt  # not reissued for other names
    assert (out / "bridge-2.env").exists()
    creds = (out / "credentials.csv").read_text()
    assert "SHZ-000001" in creds
    if as_root:
        for name in ("passwd", "acl", "mosquitto.conf", "server.key", "dynamic-security.json"):
            st = (out / name).stat()
            assert (st.st_uid, st.st_gid) == (1883, 1883), name
    # a flag given on the re-run wins and is remembered
    assert (
        main(
            ["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(out), "--outage-hours", "2"]
        )
        == 0
    )
    assert "--outage-hours 2" not in capsys.readouterr().out
    assert main(["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(out)]) == 0
    assert "2 h bridge outage" in capsys.readouterr().out
    assert mode(out / "deploy-options.json") == 0o644
    saved = (out / "deploy-options.json").read_text()
    for password in (line.rsplit(",", 1)[1] for line in creds.splitlines()[1:]):
        assert password not in saved


def test_a_damaged_options_file_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    fleet = write_fleet(tmp_path / "fleet.csv")
    out = tmp_path / "mosquitto"
    out.mkdir()
    (out / "deploy-options.json").write_text('{"port": "eighty"}')
    assert main(["deploy", "mosquitto", "--fleet", str(fleet), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "deploy-options.json" in err
    assert "port" in err
    assert not (out / "credentials.csv").exists()


def test_a_folder_from_before_the_plugin_is_told_to_restart_the_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = deploy(tmp_path / "out", write_fleet(tmp_path / "fleet.csv"))
    (d.out / "dynamic-security.json").unlink()  # as an older version left the folder
    capsys.readouterr()
    d2 = deploy(d.out, d.fleet, port=d.port)
    assert "restart the broker" in capsys.readouterr().out
    assert d2.passwords == d.passwords
    doc = json.loads((d.out / "dynamic-security.json").read_text())
    assert {c["username"] for c in doc["clients"]} == {*d.passwords, "roshanai-admin"}
    assert not (d.out / "dynsec-pending.json").exists()  # nothing to send: a restart loads it
