"""Configuration: flags, then ``ROSHANAI_*`` environment variables, then a TOML file, then defaults.

The TOML file is ``--config FILE``, else ``$ROSHANAI_CONFIG``, else ``./roshanai.toml`` or
``~/.config/roshanai/config.toml`` if present. Its tables mirror the setting names::

    [mqtt]
    url = "mqtts://broker.example:8883"
    username = "bridge"
    password = "..."          # or leave it to ROSHANAI_MQTT_PASSWORD

    [influx]
    url = "http://127.0.0.1:8086"
    db = "roshanai"

    state_dir = "/var/lib/roshanai"

A key ``a_b`` at the top level equals ``b`` under ``[a]``; the environment variable of setting
``mqtt_url`` is ``ROSHANAI_MQTT_URL``.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telemetry.errors import ConfigError

__all__ = ["ENV_PREFIX", "SECRET_KEYS", "Settings", "command_settings", "load_settings", "mask"]

ENV_PREFIX = "ROSHANAI_"
SECRET_KEYS = frozenset({"mqtt_password", "influx_token", "influx_password"})


@dataclass(frozen=True)
class Settings:
    """Effective settings; every field has the same name as its flag and variable.

    Attributes
    ----------
    mqtt_url : str
        ``mqtt://host:port`` or ``mqtts://host:port`` (TLS).
    mqtt_username, mqtt_password : str or None
        Broker credentials.
    mqtt_ca_file, mqtt_cert_file, mqtt_key_file : str or None
        TLS trust anchor and optional client certificate/key (PEM files).
    influx_url : str or None
        InfluxDB base URL; None means results are not written to InfluxDB.
    influx_db : str
        Database (1.x) or bucket (2.x/3.x).
    influx_token, influx_username, influx_password, influx_org : str or None
        InfluxDB credentials.
    influx_api : str
        ``auto`` (from the server's version), ``v1`` (HTTP /write) or ``v2``.
    state_dir : str
        Bridge spool and quarantine directory.
    client_id : str
        MQTT client id of the bridge (fixed, so its persistent session survives restarts).
    fleet : str or None
        Fleet file used by the bridge and emulator.
    max_payload_kb : str
        Largest MQTT payload the bridge reads [KiB] (an integer; default 1024). Keep it at or
        below the broker's limit (``max_packet_size``).
    opendtu_prefix, ahoy_prefix : str
        Base topics of the OpenDTU and AhoyDTU gateways the bridge reads (``solar``,
        ``inverter``); empty turns one off.
    timezone : str
        Zone for days, months and reports (IANA name).
    out_dir : str
        Where commands write reports when no explicit path is given.
    """

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_ca_file: str | None = None
    mqtt_cert_file: str | None = None
    mqtt_key_file: str | None = None
    influx_url: str | None = None
    influx_db: str = "roshanai"
    influx_token: str | None = None
    influx_username: str | None = None
    influx_password: str | None = None
    influx_org: str | None = None
    influx_api: str = "auto"
    state_dir: str = "roshanai-state"
    client_id: str = ""
    fleet: str | None = None
    max_payload_kb: str = "1024"
    opendtu_prefix: str = "solar"
    ahoy_prefix: str = "inverter"
    timezone: str = "Asia/Tehran"
    out_dir: str = "roshanai-out"

    @property
    def max_payload_bytes(self) -> int:
        """:attr:`max_payload_kb` in bytes."""
        return int(self.max_payload_kb) * 1024

    def as_dict(self) -> dict[str, Any]:
        """Settings as a plain dict (secrets included: do not print it)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_NAMES = tuple(f.name for f in fields(Settings))


def mask(key: str, value: Any) -> Any:
    """Hide a secret value, keeping only whether it is set."""
    if key in SECRET_KEYS and value:
        return "********"
    if key.endswith("_url") and isinstance(value, str) and "@" in value:
        parts = urlsplit(value)
        if parts.password:
            return value.replace(f":{parts.password}@", ":********@")
    return value


def _default_config_path(env: Mapping[str, str]) -> Path | None:
    if env.get(ENV_PREFIX + "CONFIG"):
        return Path(env[ENV_PREFIX + "CONFIG"])
    for candidate in (Path("roshanai.toml"), Path.home() / ".config" / "roshanai" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}_{sub}"] = v
        else:
            flat[key] = value
    unknown = sorted(set(flat) - set(_NAMES))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return flat


def load_settings(
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
) -> tuple[Settings, dict[str, str]]:
    """Merge the sources and validate.

    Parameters
    ----------
    flags : mapping
        Values given on the command line; None means "not given".
    env : mapping
        Environment (default ``os.environ``).
    config_file : path, optional
        TOML file; default as described in the module docstring.

    Returns
    -------
    (Settings, dict)
        The settings and, per setting, where its value came from (``flag``, ``env``,
        ``file``, ``default``).

    Raises
    ------
    ConfigError
        Unknown keys, bad URLs, unknown time zone.
    """
    env = os.environ if env is None else env
    path = Path(config_file) if config_file else _default_config_path(env)
    file_values = _read_toml(path) if path else {}
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name in _NAMES:
        flag = (flags or {}).get(name)
        env_value = env.get(ENV_PREFIX + name.upper())
        if flag is not None:
            values[name], origin[name] = flag, "flag"
        elif env_value not in (None, ""):
            values[name], origin[name] = env_value, "env"
        elif name in file_values:
            values[name], origin[name] = file_values[name], f"file {path}"
        else:
            origin[name] = "default"
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            values[name] = str(value)
    settings = Settings(**values)
    if not settings.client_id:
        # A production broker binds each account to the client id equal to its username.
        settings = Settings(
            **{**settings.as_dict(), "client_id": settings.mqtt_username or _default_client_id()}
        )
    _validate(settings)
    return settings, origin


def command_settings(ctx: Any, **flags: Any) -> Settings:
    """The settings of one command: its flags (None = not given) over the environment and the
    configuration file the root command was given (``roshanai --config FILE``, kept in the
    root context's ``obj``). Every command loads its settings through this one function.

    Parameters
    ----------
    ctx : typer.Context or click.Context
    **flags
        Setting name → the command's flag value.
    """
    root = ctx.find_root().obj or {}
    return load_settings(flags=flags, config_file=root.get("config_file"))[0]


def _default_client_id() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_")[:40]
    return f"roshanai-bridge-{host or 'local'}"


def _validate(s: Settings) -> None:
    url = urlsplit(s.mqtt_url)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        raise ConfigError(
            f"mqtt_url {s.mqtt_url!r} must look like mqtt://host:1883 or mqtts://host:8883"
        )
    try:
        url.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"mqtt_url {s.mqtt_url!r} has an invalid port") from None
    if s.influx_url:
        iu = urlsplit(s.influx_url)
        if iu.scheme not in ("http", "https") or not iu.hostname:
            raise ConfigError(f"influx_url {s.influx_url!r} must look like http://host:8086")
    if s.influx_api not in ("auto", "v1", "v2"):
        raise ConfigError(f"influx_api {s.influx_api!r} must be auto, v1 or v2")
    if not s.influx_db or any(c in s.influx_db for c in "\n\r\"'"):
        raise ConfigError(f"influx_db {s.influx_db!r} is not a valid database name")
    if any(c in s.client_id for c in "+#/") or len(s.client_id) > 128:
        raise ConfigError(f"client_id {s.client_id!r} must not contain '+', '#' or '/'")
    try:
        kb = int(s.max_payload_kb)
    except ValueError:
        kb = 0
    if not 1 <= kb <= 262_143:  # MQTT's largest packet is 256 MiB
        raise ConfigError(
            f"max_payload_kb {s.max_payload_kb!r} must be a whole number of KiB from 1 to 262143"
        )
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone {s.timezone!r} is not an IANA time zone") from None
