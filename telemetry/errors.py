"""The one exception hierarchy of Roshanai.

Every package raises these (or subclasses); the CLI translates them into one clear line and a
non-zero exit code, the bridge into a quarantine reason or a retry. Library exceptions (pandas,
requests, paho) are mapped to these at the boundary where they occur.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FleetFileError",
    "InputError",
    "RoshanaiError",
    "ServiceError",
    "WeatherFileError",
]


class RoshanaiError(Exception):
    """Base class: a problem Roshanai can explain to its user in one line."""

    exit_code: int = 1


class InputError(RoshanaiError):
    """Bad input from a user or a device (file, flag, payload)."""

    exit_code = 2


class FleetFileError(InputError):
    """The fleet file breaks its contract; the message names the row and column."""


class WeatherFileError(InputError):
    """The weather file is unreadable, has gaps, NaNs, or the wrong length."""


class ConfigError(InputError):
    """A setting (flag, environment variable or TOML file) is invalid."""


class ServiceError(RoshanaiError):
    """A server (MQTT broker, InfluxDB, Dask scheduler) is unreachable or refused us."""

    exit_code = 3
