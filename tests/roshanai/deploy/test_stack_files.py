"""deploy/compose.yaml, deploy/Dockerfile, deploy/influxdb/init and deploy/systemd, checked
without a container engine: structure against what the rest of the project writes and reads,
``docker compose config`` (or ``docker-compose config``) where a client is installed, ``sh -n``
and ``systemd-analyze verify`` where available."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from roshanai.config import Settings
from roshanai.deploy.broker import bridge_accounts
from tests.roshanai.deploy.conftest import deploy, write_fleet

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SETTINGS = {f"ROSHANAI_{f.name.upper()}" for f in dataclasses.fields(Settings)}
BROKER_FILES = {"mosquitto.conf", "dynamic-security.json", "ca.crt", "server.crt", "server.key"}
DUMMY_ENV = {
    "INFLUX_ADMIN_PASSWORD": "p1",
    "INFLUX_ADMIN_TOKEN": "t1",
    "GRAFANA_ADMIN_PASSWORD": "p2",
    "GRAFANA_INFLUX_PASSWORD": "p3",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def bridges(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if n.startswith("bridge-")}


def test_services_images_and_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"mosquitto", "influxdb", "grafana"} <= set(services)
    assert len(bridges(compose)) >= 2
    for name, svc in services.items():
        image = svc["image"]
        if not image.startswith("roshanai:"):
            tag = image.rpartition(":")[2]
            assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{name}: image {image} is not pinned"
        for vol in svc.get("volumes", []):
            source = vol.split(":")[0]
            if source.startswith("."):
                continue
            assert source in compose["volumes"], f"{name}: volume {source} is not declared"
    assert services["influxdb"]["image"].startswith("influxdb:2.")
    assert "ports" not in services["influxdb"]


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for key, value in env_of(svc).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", value), f"{name}: {key}={value}"


def test_roshanai_variables_are_settings(compose: dict[str, Any]) -> None:
    """A misspelt ROSHANAI_* variable would be ignored silently."""
    script = (DEPLOY / "influxdb" / "init" / "roshanai.sh").read_text()
    for name, svc in compose["services"].items():
        for key in env_of(svc):
            if not key.startswith("ROSHANAI_"):
                continue
            if name == "influxdb":
                assert f"${{{key}" in script, key  # read by the init script
            elif name == "grafana":
                datasource = (
                    ROOT / "dashboards" / "provisioning" / "datasources" / "roshanai.yaml"
                ).read_text()
                assert f"${{{key}}}" in datasource, key
            else:
                assert key in SETTINGS or key == "ROSHANAI_VERSION", f"{name}: {key}"


def test_bridges_have_own_accounts_spools_and_one_share_group(compose: dict[str, Any]) -> None:
    bs = bridges(compose)
    env_files = [s["env_file"][0] for s in bs.values()]
    assert [Path(f).name for f in env_files] == [f"{a}.env" for a in bridge_accounts(len(bs))]
    states = [
        v.split(":")[0]
        for s in bs.values()
        for v in s["volumes"]
        if v.endswith(":/var/lib/roshanai")
    ]
    assert len(set(states)) == len(bs)
    groups = {
        re.search(r"--share-group (\S+)", " ".join(s["command"])).group(1) for s in bs.values()
    }
    assert len(groups) == 1
    for s in bs.values():
        env = env_of(s)
        assert env["ROSHANAI_MQTT_URL"].startswith("mqtts://mosquitto:")
        assert "ca.crt" in env["ROSHANAI_MQTT_CA_FILE"]
        assert any(v.endswith(f":{env['ROSHANAI_MQTT_CA_FILE']}:ro") for v in s["volumes"])


def test_broker_gets_only_its_files_and_the_generated_config_matches(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    mounts = compose["services"]["mosquitto"]["volumes"]
    files = {
        Path(m.split(":")[0]).name: m.split(":")[1] for m in mounts if m.startswith("./mosquitto/")
    }
    assert set(files) == BROKER_FILES  # never credentials.csv, ca.key or a bridge's .env
    d = deploy(
        tmp_path / "mosquitto",
        write_fleet(tmp_path / "fleet.csv"),
        "--bridges",
        "2",
        "--config-dir",
        "/mosquitto/config",
        "--data-dir",
        "/mosquitto/data",
    )
    assert {p.name for p in d.out.iterdir()} >= BROKER_FILES
    conf = (d.out / "mosquitto.conf").read_text()
    for key, name in (
        ("plugin_opt_config_file", "dynamic-security.json"),
        ("certfile", "server.crt"),
        ("keyfile", "server.key"),
    ):
        assert f"{key} {files[name]}" in conf.splitlines()
    data = next(m.split(":")[1] for m in mounts if m.startswith("mosquitto-data:"))
    assert f"persistence_location {data}/" in conf.splitlines()
    health = " ".join(compose["services"]["mosquitto"]["healthcheck"]["test"])
    assert files["ca.crt"] in health


def test_grafana_provisioning_and_dockerfile_sources_exist(compose: dict[str, Any]) -> None:
    mount = next(
        v
        for v in compose["services"]["grafana"]["volumes"]
        if v.endswith(":/etc/grafana/provisioning:ro")
    )
    provisioning = (DEPLOY / mount.split(":")[0]).resolve()
    assert provisioning == ROOT / "dashboards" / "provisioning"
    assert (provisioning / "datasources").is_dir()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src


def test_influxdb_init_script_parses() -> None:
    script = DEPLOY / "influxdb" / "init" / "roshanai.sh"
    subprocess.run(["sh", "-n", str(script)], check=True)
    text = script.read_text()
    for needle in (
        "v1 dbrp create",
        "--rp autogen",
        "--default",
        "v1 auth create",
        "--username grafana",
        "umask 077",
    ):
        assert needle in text


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_config_validates(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker compose / docker-compose client; the structural tests above ran")
    work = tmp_path / "repo"
    shutil.copytree(DEPLOY, work / "deploy", ignore=shutil.ignore_patterns("mosquitto", ".env"))
    shutil.copytree(ROOT / "dashboards" / "provisioning", work / "dashboards" / "provisioning")
    write_fleet(work / "deploy" / "fleet.csv")
    deploy(
        work / "deploy" / "mosquitto",
        work / "deploy" / "fleet.csv",
        "--bridges",
        "2",
        "--config-dir",
        "/mosquitto/config",
        "--data-dir",
        "/mosquitto/data",
    )
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path), **DUMMY_ENV}
    run = subprocess.run(
        [*cli, "-f", "deploy/compose.yaml", "config"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    resolved = yaml.safe_load(run.stdout)
    assert {"mosquitto", "influxdb", "grafana", "bridge-1", "bridge-2"} <= set(resolved["services"])
    assert "p3" in str(resolved["services"]["grafana"]["environment"])
    missing = {k: v for k, v in env.items() if k != "GRAFANA_INFLUX_PASSWORD"}
    run = subprocess.run(
        [*cli, "-f", "deploy/compose.yaml", "config"],
        cwd=work,
        env=missing,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode != 0
    assert "GRAFANA_INFLUX_PASSWORD" in run.stderr + run.stdout


def test_systemd_units(tmp_path: Path) -> None:
    units = {p.name: p.read_text() for p in (DEPLOY / "systemd").iterdir()}
    assert {"roshanai-mosquitto.service", "roshanai-bridge@.service"} <= set(units)
    bridge = units["roshanai-bridge@.service"]
    for line in (
        "EnvironmentFile=/etc/roshanai/mosquitto/%i.env",
        "StateDirectory=roshanai/%i",
        "Environment=ROSHANAI_STATE_DIR=/var/lib/roshanai/%i",
        "User=roshanai",
    ):
        assert line in bridge.splitlines()
    assert (
        "ExecStart=/usr/sbin/mosquitto -c /etc/roshanai/mosquitto/mosquitto.conf"
        in units["roshanai-mosquitto.service"]
    )
    assert "ExecReload=/bin/kill -HUP $MAINPID" in units["roshanai-mosquitto.service"]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    paths = []
    for name, text in units.items():  # templates are verified as an instance
        path = tmp_path / name.replace("@.", "@bridge.")
        path.write_text(text)
        paths.append(str(path))
    run = subprocess.run(
        [analyze, "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [
        line
        for line in run.stderr.splitlines()
        if line.strip()
        and "is not executable" not in line
        and "No such file or directory" not in line
    ]
    assert problems == []
