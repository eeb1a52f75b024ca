"""MQTT topic names: the one place they are spelled (docs/contracts.md, "MQTT").

A plant's topics live under ``roshanai/v1/<plant_id>/``: ``telemetry`` (readings, QoS 1),
``availability`` (the gateway's ``online``/``offline``, its last will), ``status`` (what the
bridge knows of the plant, retained) and ``command`` (to the gateway). OpenDTU and AhoyDTU
gateways publish under their own base topics (``solar``, ``inverter`` by default).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AVAILABILITY",
    "COMMAND",
    "DEFAULT_AHOY_PREFIX",
    "DEFAULT_OPENDTU_PREFIX",
    "PLANT_ROOT",
    "ROOT",
    "STATUS",
    "TELEMETRY",
    "VERSION",
    "plant_filter",
    "plant_topic",
    "plant_tree",
    "split_plant_topic",
]

ROOT: Final = "roshanai"
VERSION: Final = "v1"
#: The prefix of every plant's topics.
PLANT_ROOT: Final = f"{ROOT}/{VERSION}"
TELEMETRY: Final = "telemetry"
AVAILABILITY: Final = "availability"
STATUS: Final = "status"
COMMAND: Final = "command"
DEFAULT_OPENDTU_PREFIX: Final = "solar"
DEFAULT_AHOY_PREFIX: Final = "inverter"


def plant_topic(plant_id: str, leaf: str) -> str:
    """``roshanai/v1/<plant_id>/<leaf>`` (``plant_id`` may be a pattern such as ``%u``)."""
    return f"{PLANT_ROOT}/{plant_id}/{leaf}"


def plant_filter(leaf: str) -> str:
    """The subscription to one leaf of every plant: ``roshanai/v1/+/<leaf>``."""
    return f"{PLANT_ROOT}/+/{leaf}"


def plant_tree(plant_id: str) -> str:
    """Everything of one plant: ``roshanai/v1/<plant_id>/#``."""
    return f"{PLANT_ROOT}/{plant_id}/#"


def split_plant_topic(topic: str) -> tuple[str, str] | None:
    """``roshanai/v1/<plant_id>/<leaf>`` → ``(plant_id, leaf)``; None for another shape."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != ROOT or parts[1] != VERSION:
        return None
    return parts[2], parts[3]
