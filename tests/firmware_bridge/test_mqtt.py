"""``firmware_bridge.mqtt.MqttLink``: what a failure to reach the broker is called.

A broker nobody answers for is a :class:`~telemetry.errors.ServiceUnreachable` (transient: the
same connection may succeed later, exit 3), as an unreachable InfluxDB is; a broker that answers
and refuses is a plain :class:`~telemetry.errors.ServiceError`.
"""

from __future__ import annotations

import pytest

from firmware_bridge.mqtt import MqttLink
from telemetry.errors import ServiceError, ServiceUnreachable, TransientServiceError
from tests.servers import free_port


def test_closed_port_is_unreachable() -> None:
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    with pytest.raises(ServiceUnreachable) as caught:
        MqttLink(url, "test-unreachable").start(timeout_s=5)
    err = caught.value
    assert isinstance(err, TransientServiceError)
    assert err.exit_code == 3
    assert str(err) == f"cannot reach the MQTT broker at {url}: connection refused"
    assert err.service == "the MQTT broker"


def test_unknown_host_is_unreachable() -> None:
    with pytest.raises(ServiceUnreachable) as caught:
        MqttLink("mqtt://no-such-broker.invalid:1883", "test-unknown-host").start(timeout_s=5)
    assert str(caught.value).startswith("cannot reach the MQTT broker at mqtt://no-such-broker")


def test_a_broker_that_answers_is_reachable(mosquitto) -> None:
    """The positive control: the same call against a real broker connects."""
    link = MqttLink(mosquitto.url, "test-reachable", clean_start=True).start(timeout_s=10)
    try:
        assert link.connected
    finally:
        link.stop()


def test_refusal_is_not_called_unreachable() -> None:
    """The class split is by meaning: ServiceUnreachable is a ServiceError, not the reverse."""
    assert issubclass(ServiceUnreachable, ServiceError)
    assert not issubclass(ServiceError, ServiceUnreachable)
