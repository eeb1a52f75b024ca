"""Settings precedence: flag > ROSHANAI_* environment > TOML file > default; secrets masked."""

from __future__ import annotations

import pytest

from telemetry.errors import ConfigError
from telemetry.settings import load_settings, mask


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
