"""One MQTT connection per emulated plant, each with that plant's own account.

A production broker (``roshanai deploy mosquitto``) lets an account publish only its own
plant's topics and binds it to the client id equal to its username, so emulating many plants
against it takes many connections: :class:`PlantLinks` opens one :class:`MqttLink` per plant
from ``credentials.csv`` and routes every publish to the connection of the plant its topic
names (``roshanai/v1/<plant_id>/...``). A topic naming no emulated plant (the emulator's bad
payloads include some) goes out on the first connection, where the broker drops it as a real
gateway's would be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from firmware_bridge.mqtt import MqttLink
from telemetry.errors import InputError

__all__ = ["MAX_PLANT_LINKS", "PlantLinks", "read_plant_passwords"]

MAX_PLANT_LINKS = 2000
"""Connections one emulator opens at most (each is a paho network thread)."""


def read_plant_passwords(path: Path, plant_ids: Sequence[str]) -> dict[str, str]:
    """plant id → password from ``credentials.csv`` for the given plants.

    Raises
    ------
    InputError
        Unreadable file, or a plant without an account in it.
    """
    from telemetry.credentials import read_credentials

    if not path.exists():
        raise InputError(f"--credentials {path}: no such file")
    by_plant = {a.plant_id: a for a in read_credentials(path)}
    missing = [p for p in plant_ids if p not in by_plant]
    if missing:
        raise InputError(
            f"--credentials {path}: no account for plant {missing[0]!r}"
            + (f" and {len(missing) - 1:,} more" if len(missing) > 1 else "")
            + " (emulate the fleet the accounts were made from)"
        )
    return {p: by_plant[p].password for p in plant_ids}


class PlantLinks:
    """Connections of many plants, used like one :class:`MqttLink` by the emulator.

    Parameters
    ----------
    url : str
        ``mqtts://host:port`` of the broker.
    passwords : mapping
        plant id (= username = client id) → password.
    ca_file, cert_file, key_file : str, optional
        TLS files, as for :class:`MqttLink`.
    """

    def __init__(
        self,
        url: str,
        passwords: Mapping[str, str],
        *,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
    ) -> None:
        if not passwords:
            raise InputError("no plants to emulate")
        if len(passwords) > MAX_PLANT_LINKS:
            raise InputError(
                f"--credentials: {len(passwords):,} plants would need as many "
                f"connections; at most {MAX_PLANT_LINKS:,} per emulator (run "
                "several with --plants and different fleets)"
            )
        self.url = url
        self.links = {
            p: MqttLink(
                url,
                p,
                username=p,
                password=pw,
                ca_file=ca_file,
                cert_file=cert_file,
                key_file=key_file,
                clean_start=True,
                max_pending_publishes=20,
            )
            for p, pw in passwords.items()
        }
        self._first = next(iter(self.links.values()))

    def start(self, timeout_s: float = 30.0) -> PlantLinks:
        """Connect every plant (a few at a time); the first refusal is raised.

        Raises
        ------
        telemetry.errors.ServiceError
            A plant could not connect (its reason, e.g. a refused password).
        """
        links = list(self.links.values())
        with ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(lk.start, timeout_s) for lk in links]
        failed = [f.exception() for f in futures if f.exception() is not None]
        if failed:
            for future, link in zip(futures, links, strict=True):
                if future.exception() is None:
                    link.stop(timeout_s=1)
            raise failed[0]  # type: ignore[misc]
        return self

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
        """Publish on the connection of the plant the topic names."""
        parts = topic.split("/")
        link = self.links.get(parts[2]) if len(parts) > 2 and parts[0] == "roshanai" else None
        (link or self._first).publish(topic, payload, qos=qos)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Wait for unacknowledged publishes (``timeout_s`` in all), then disconnect."""
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda lk: lk.stop(timeout_s=timeout_s), self.links.values()))
