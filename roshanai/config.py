"""Configuration loading lives in :mod:`telemetry.settings` (every package needs it; none may
import the CLI's package); this module keeps the old import path working."""

from __future__ import annotations

from telemetry.settings import (
    ENV_PREFIX,
    SECRET_KEYS,
    Settings,
    command_settings,
    load_settings,
    mask,
)

__all__ = ["ENV_PREFIX", "SECRET_KEYS", "Settings", "command_settings", "load_settings", "mask"]
