"""The emulator and the MQTT link against the generated broker: TLS with the generated CA and a
plant's own account from the environment, and failures that say what is wrong.

``roshanai emulate`` runs as a subprocess with ``ROSHANAI_MQTT_USERNAME/PASSWORD/CA_FILE`` as a
gateway would be provisioned from credentials.csv; the bridge account counts what arrived.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_bridge.mqtt import MqttLink
from roshanai.deploy import pki
from telemetry.errors import ServiceError
from tests.roshanai.deploy.conftest import PLANTS, Deployed
from tests.roshanai.deploy.test_broker import REFUSED_TIMEOUT_S, Inbox, link

pytestmark = pytest.mark.services

A = PLANTS[0]
REFUSED = "refused: (not authori[sz]ed|bad user name or password)"
NEVER_S = 3600.0
"""A start() timeout no test waits out: a failure must come from the broker's answer. [s]"""


def emulate(
    d: Deployed,
    cwd: Path,
    *args: str,
    user: str = A,
    password: str | None = None,
    ca: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    env.update(
        ROSHANAI_MQTT_USERNAME=user,
        ROSHANAI_MQTT_PASSWORD=d.passwords[user] if password is None else password,
    )
    if ca != "":
        env["ROSHANAI_MQTT_CA_FILE"] = ca or d.ca
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "roshanai",
            "emulate",
            "--mqtt-url",
            d.url,
            "--fleet",
            str(d.fleet),
            "--plants",
            "1",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_emulator_publishes_over_tls_with_a_plants_account(
    deployed: Deployed, broker, tmp_path: Path
) -> None:
    inbox = Inbox()
    with link(deployed, "bridge", subscriptions=("roshanai/v1/#",), inbox=inbox):
        run = emulate(
            deployed,
            tmp_path,
            "--backfill-hours",
            "2",
            "--duration",
            "2",
            "--interval",
            "60",
            "--speed",
            "600",
            "--cuts",
            "none",  # else the plant's gateway is down in its zone's cut at some hours
        )
        assert run.returncode == 0, run.stderr
        published = int(
            re.search(r"published ([\d,]+) messages", run.stdout).group(1).replace(",", "")
        )
        assert published >= 2  # the backfill batch and live readings
        assert inbox.wait_for(lambda ms: len(ms) >= published, timeout_s=30)
    assert {m.topic for m in inbox.messages} == {f"roshanai/v1/{A}/telemetry"}
    assert len(inbox.messages) == published
    batches = [json.loads(m.payload) for m in inbox.messages]
    assert all(b["plant_id"] == A for b in batches)
    assert any("readings" in b for b in batches)
    output = run.stdout + run.stderr
    assert deployed.passwords[A] not in output


@pytest.mark.parametrize("case", ["wrong password", "foreign CA", "system trust store"])
def test_emulator_refused_says_why_and_prints_no_secret(
    deployed: Deployed, broker, tmp_path: Path, case: str
) -> None:
    other = tmp_path / "other-ca"
    other.mkdir()
    pki.ensure_ca(other, key_type="ec", name="Somebody Else")
    kwargs = {
        "wrong password": {"password": "not-the-password"},
        "foreign CA": {"ca": str(other / "ca.crt")},
        "system trust store": {"ca": ""},
    }[case]
    run = emulate(deployed, tmp_path, "--duration", "1", **kwargs)
    assert run.returncode == 3, run.stdout + run.stderr
    why = {
        "wrong password": REFUSED,  # mosquitto 2.0.11 answers "Not authorized"
        "foreign CA": "tls: certificate verify failed",
        "system trust store": "tls: certificate verify failed",
    }[case]
    assert re.search(why, run.stderr.lower()), run.stderr
    assert deployed.passwords[A] not in run.stdout + run.stderr
    assert "not-the-password" not in run.stdout + run.stderr


@pytest.mark.timeout(120)  # a start() that waited for its timeout would never end in time
def test_link_errors_name_the_cause(deployed: Deployed, broker, tmp_path: Path) -> None:
    """A refusal is reported as the broker's reason, a TLS failure as the certificate check that
    failed, not as the disconnect that follows or as "no answer"; and at once: with a timeout far
    beyond the test's, only the broker's answer can end the wait."""
    wrong = MqttLink(
        deployed.url, A, username=A, password="wrong", ca_file=deployed.ca, clean_start=True
    )
    with pytest.raises(ServiceError, match=f"(?i){REFUSED}"):
        wrong.start(timeout_s=NEVER_S)  # the broker's answer ends the wait, not the timeout
    anonymous = MqttLink(deployed.url, "probe", ca_file=deployed.ca, clean_start=True)
    with pytest.raises(ServiceError, match="refused: "):
        anonymous.start(timeout_s=REFUSED_TIMEOUT_S)
    other = tmp_path / "other-ca"
    other.mkdir()
    pki.ensure_ca(other, key_type="ec", name="Somebody Else")
    foreign = MqttLink(
        deployed.url,
        A,
        username=A,
        password=deployed.passwords[A],
        ca_file=str(other / "ca.crt"),
        clean_start=True,
    )
    with pytest.raises(ServiceError, match="TLS: certificate verify failed"):
        foreign.start(timeout_s=NEVER_S)


def test_emulator_speaks_for_each_plant_with_its_own_account(
    deployed: Deployed, broker, tmp_path: Path
) -> None:
    """--credentials: one connection per plant, so every plant's readings get through; without
    it, one account can speak only for its own plant (positive and negative control)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHANAI_")}
    env["ROSHANAI_MQTT_CA_FILE"] = deployed.ca
    base = [
        sys.executable,
        "-m",
        "roshanai",
        "emulate",
        "--mqtt-url",
        deployed.url,
        "--fleet",
        str(deployed.fleet),
        "--plants",
        "3",
        "--duration",
        "1",
        "--interval",
        "60",
        "--speed",
        "600",
        # A fixed past noon: the emulated cuts are deterministic, and none falls on these
        # plants' ten minutes then (at other hours a plant may be in a cut and send nothing).
        "--start",
        "2026-11-30T12:00:00+03:30",
    ]
    inbox = Inbox()
    with link(deployed, "bridge", subscriptions=("roshanai/v1/+/telemetry",), inbox=inbox):
        run = subprocess.run(
            [*base, "--credentials", str(deployed.out / "credentials.csv")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        published = int(
            re.search(r"published ([\d,]+) messages", run.stdout).group(1).replace(",", "")
        )
        assert published >= 3
        assert inbox.wait_for(lambda ms: len(ms) >= published, timeout_s=30)
    assert {m.topic for m in inbox.messages} == {f"roshanai/v1/{p}/telemetry" for p in PLANTS}
    assert not any(pw in run.stdout + run.stderr for pw in deployed.passwords.values())

    # A fleet plant without an account is a one-line error before anything is sent.
    creds = tmp_path / "two.csv"
    lines = (deployed.out / "credentials.csv").read_text().splitlines()
    creds.write_text("\n".join(x for x in lines if not x.startswith(PLANTS[2])) + "\n")
    run = subprocess.run(
        [*base, "--credentials", str(creds)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode != 0
    assert f"no account for plant '{PLANTS[2]}'" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
