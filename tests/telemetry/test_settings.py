"""Settings precedence: flag > ROSHANAI_* environment > TOML file > default; secrets masked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from telemetry.errors import ConfigError
from telemetry.settings import load_settings, mask
from tests.conftest import HARNESS_VARIABLES


def test_precedence(tmp_path):
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        'timezone = "UTC"\n[mqtt]\nurl = "mqtt://file:1883"\n[influx]\ndb = "filedb"\n'
        'url = "http://file:8086"\n'
    )
    env = {"ROSHANAI_MQTT_URL": "mqtt://env:1883", "ROSHANAI_INFLUX_DB": "envdb"}
    s, origin = load_settings({"mqtt_url": "mqtt://flag:1883"}, env, cfg)
    assert s.mqtt_url == "mqtt://flag:1883"
    assert origin["mqtt_url"] == "flag"
    assert s.influx_db == "envdb"
    assert origin["influx_db"] == "env"
    assert s.influx_url == "http://file:8086"
    assert origin["influx_url"].startswith("file")
    assert s.timezone == "UTC"
    assert s.state_dir == "roshanai-state"
    assert origin["state_dir"] == "default"
    assert s.client_id.startswith("roshanai-bridge-")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"mqtt_url": "http://x:1883"}, "mqtt_url"),
        ({"mqtt_url": "mqtt://x:99999"}, "invalid port"),
        ({"influx_url": "ftp://x"}, "influx_url"),
        ({"influx_api": "v3"}, "influx_api"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"client_id": "a/b"}, "client_id"),
    ],
)
def test_invalid(flags, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(flags, {}, None)


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_settings({}, {}, bad)
    unknown = tmp_path / "u.toml"
    unknown.write_text('[mqtt]\nurll = "x"\n')
    with pytest.raises(ConfigError, match=r"unknown setting.*mqtt_urll"):
        load_settings({}, {}, unknown)
    with pytest.raises(ConfigError, match="not found"):
        load_settings({}, {}, tmp_path / "missing.toml")


def test_mask():
    assert mask("mqtt_password", "s3cret") == "********"
    assert mask("influx_token", None) is None
    assert mask("influx_url", "http://u:pw@h:8086") == "http://u:********@h:8086"
    assert mask("mqtt_url", "mqtt://h:1883") == "mqtt://h:1883"


# -- the tests' own isolation (tests/conftest.py, isolated_home) ---------------------------------

REPO = Path(__file__).resolve().parents[2]


def test_home_and_cwd_are_temporary(isolated_home: Path, tmp_path: Path) -> None:
    assert Path.home() == isolated_home
    assert Path("~").expanduser() == isolated_home
    assert os.environ["XDG_CONFIG_HOME"] == str(isolated_home / ".config")
    assert not any(isolated_home.iterdir())
    cwd = Path.cwd()
    assert cwd != REPO
    assert cwd != tmp_path
    assert not any(cwd.iterdir())
    assert cwd.parent == isolated_home.parent == tmp_path.parent  # the session's basetemp


def test_no_setting_comes_from_the_environment_or_a_file() -> None:
    """What a developer's shell exports, or a config in their real home, would show here."""
    assert not [n for n in os.environ if n.startswith("ROSHANAI_") and n not in HARNESS_VARIABLES]
    _, origin = load_settings()
    assert set(origin.values()) == {"default"}


def test_user_config_is_read_from_the_temporary_home(isolated_home: Path) -> None:
    config = isolated_home / ".config" / "roshanai" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[influx]\ndb = "from-home"\n')
    s, origin = load_settings()
    assert s.influx_db == "from-home"
    assert origin["influx_db"] == f"file {config}"
    Path("roshanai.toml").write_text('[influx]\ndb = "from-cwd"\n')  # the temporary cwd's
    s, origin = load_settings()
    assert s.influx_db == "from-cwd"
    assert origin["influx_db"] == f"file {Path('roshanai.toml')}"


def test_the_callers_home_and_environment_do_not_reach_a_test(tmp_path: Path) -> None:
    """Run a test in a child pytest whose HOME has a config file and whose environment sets a
    setting: the child's test still sees only defaults."""
    home = tmp_path / "developer"
    (home / ".config" / "roshanai").mkdir(parents=True)
    (home / ".config" / "roshanai" / "config.toml").write_text('timezone = "UTC"\n')
    env = {**os.environ, "HOME": str(home), "ROSHANAI_INFLUX_DB": "leaked", "ROSHANAI_DEBUG": "1"}
    target = f"{Path(__file__).resolve()}::test_no_setting_comes_from_the_environment_or_a_file"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
