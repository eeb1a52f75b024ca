"""The MQTT boundary: the only module that imports paho-mqtt.

:class:`MqttLink` wraps a paho 2.x client speaking MQTT 5 with what the bridge and the emulator
need and nothing else: TLS and credentials from settings, a persistent session (clean start off,
session expiry), manual acknowledgement that is refused for messages of an earlier connection
(their message ids mean nothing after a reconnect; the broker redelivers them), and publishing
with backpressure (paho stalls once ~65,000 QoS 1 messages wait for acknowledgement). paho's
callbacks are thin: they hand an :class:`InboundMessage` to the caller's function and return.
paho's exceptions never leave this module; they become :class:`telemetry.errors.ServiceError`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from telemetry.errors import ConfigError, ServiceError, ServiceUnreachable

__all__ = ["InboundMessage", "MqttLink", "parse_mqtt_url"]

_PUBACK = struct.Struct("!BBH")

log = logging.getLogger("roshanai.mqtt")

DEFAULT_SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the broker keeps a disconnected bridge's session and queued messages. [s]"""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One received PUBLISH.

    Attributes
    ----------
    topic : str
    payload : bytes
    mid : int
        Message id (meaningful only within ``generation``).
    qos : int
    dup : bool
        The broker's redelivery flag.
    retain : bool
    received_ns : int
        Local receive time [ns since the epoch].
    generation : int
        Connection counter of the link when it arrived; acks of older generations are dropped.
    """

    topic: str
    payload: bytes
    mid: int
    qos: int
    dup: bool
    retain: bool
    received_ns: int
    generation: int


def parse_mqtt_url(url: str) -> tuple[bool, str, int]:
    """``mqtt://host:port`` or ``mqtts://host:port`` → (tls, host, port)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(f"MQTT URL {url!r} must look like mqtt://host:1883 or mqtts://host:8883")
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError:
        raise ConfigError(f"MQTT URL {url!r} has an invalid port") from None
    return tls, parts.hostname, port


class MqttLink:
    """A paho MQTT 5 client with a persistent session, manual acks and publish backpressure.

    Parameters
    ----------
    url : str
        ``mqtt://host:port`` or ``mqtts://host:port``.
    client_id : str
        Fixed client id (the persistent session is keyed by it).
    username, password : str, optional
    ca_file, cert_file, key_file : str, optional
        TLS trust anchor and optional client certificate.
    clean_start : bool, default False
        False keeps the session (subscriptions and queued QoS 1 messages) across reconnects.
    session_expiry_s : int
        Session Expiry Interval sent on CONNECT. [s]
    manual_ack : bool, default False
        Received QoS 1 messages are acknowledged only by :meth:`ack`.
    on_message : callable, optional
        Called from paho's network thread with each :class:`InboundMessage`; keep it short.
    subscriptions : sequence of str
        Topic filters subscribed at QoS 1 on every (re)connect.
    retained_once : bool, default False
        Subscribe with MQTT 5 Retain Handling 1: the broker sends its retained messages when a
        subscription is made, not again when a persistent session resubscribes after a
        reconnect (a DTU gateway keeps some 50 retained topics per inverter: a bridge of a
        large fleet would otherwise be sent them all on every reconnect).
    will : (topic, payload, retain), optional
        Last will published by the broker if this client vanishes.
    max_pending_publishes : int
        Backpressure: :meth:`publish` waits while this many QoS ≥ 1 publishes are unacknowledged.
    receive_maximum : int
        MQTT 5 Receive Maximum: unacknowledged QoS 1 messages the broker may have in flight to us.
    threaded : bool, default True
        True: paho's own network thread runs the connection (:meth:`start` starts it). False:
        the caller runs it, one step at a time, with :meth:`pump` — the bridge does, from the
        thread that also decodes and commits: a Python thread that wakes per MQTT packet and
        hands the GIL to another thread per message costs about twice the CPU of one that
        does all the work itself (measured in ``benchmarks/bench_bridge.py``).
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        clean_start: bool = False,
        session_expiry_s: int = DEFAULT_SESSION_EXPIRY_S,
        manual_ack: bool = False,
        on_message: Callable[[InboundMessage], None] | None = None,
        subscriptions: Sequence[str] = (),
        retained_once: bool = False,
        will: tuple[str, bytes, bool] | None = None,
        max_pending_publishes: int = 2000,
        receive_maximum: int = 10_000,
        keepalive_s: int = 30,
        threaded: bool = True,
    ) -> None:
        self.url = url
        self.tls, self.host, self.port = parse_mqtt_url(url)
        if not client_id or any(c in client_id for c in "+#/"):
            raise ConfigError(f"client id {client_id!r} must be non-empty without '+', '#', '/'")
        self.client_id = client_id
        self._tls_files = (ca_file, cert_file, key_file)
        self._clean_start = clean_start
        self._session_expiry_s = int(session_expiry_s)
        self._receive_maximum = int(receive_maximum)
        self._keepalive_s = int(keepalive_s)
        self._on_message = on_message
        self._subscriptions = list(subscriptions)
        self._subscribe_options = SubscribeOptions(qos=1, retainHandling=1 if retained_once else 0)
        self._generation = 0
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._last_error = ""
        self._pending = threading.Semaphore(max_pending_publishes)
        self._pending_lock = threading.Lock()
        self._pending_mids: set[int] = set()
        self._acked_early: set[int] = set()
        self._max_pending = max_pending_publishes
        self._ack_lock = threading.Lock()
        self._threaded = bool(threaded)
        self._reconnect_at: float | None = None  # caller-driven mode: when to dial again
        self._reconnect_delay_s = 1.0
        self._stopping = False
        self._pump_thread: int | None = None
        self._outbox: dict[str, tuple[bytes | str, int, bool]] = {}
        self._outbox_lock = threading.Lock()

        c = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5,
            manual_ack=manual_ack,
        )
        c.max_inflight_messages_set(min(max_pending_publishes, 65_000))
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(1, 30)
        self._username = username
        if username is not None:
            c.username_pw_set(username, password)
        if self.tls:
            try:
                c.tls_set(
                    ca_certs=ca_file,
                    certfile=cert_file,
                    keyfile=key_file,
                    cert_reqs=ssl.CERT_REQUIRED,
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            except (OSError, ssl.SSLError, ValueError) as exc:
                raise ConfigError(f"MQTT TLS files: {exc}") from None
        if will is not None:
            topic, payload, retain = will
            c.will_set(topic, payload, qos=1, retain=retain)
        c.on_connect = self._handle_connect
        c.on_disconnect = self._handle_disconnect
        c.on_message = self._handle_message
        c.on_publish = self._handle_publish
        c.on_subscribe = self._handle_subscribe
        self._client = c

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout_s: float = 15.0) -> MqttLink:
        """Connect and start paho's network thread; wait until connected (and subscribed).

        Raises
        ------
        ServiceUnreachable
            Nothing answers at the broker's address (refused, unknown host, no route).
        ServiceError
            The broker refuses the connection (credentials, TLS, a denied subscription) or
            does not complete it within ``timeout_s``.
        """
        try:  # a plain TCP probe first: "connection refused" says more than a timeout
            socket.create_connection((self.host, self.port), timeout=min(timeout_s, 5.0)).close()
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
            raise ServiceUnreachable("the MQTT broker", self.url, why.lower()) from None
        problem = self._tls_problem()  # a certificate paho would refuse, said at once
        if problem:
            raise ServiceError(f"cannot connect to the MQTT broker at {self.url}: {problem}")
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        props.ReceiveMaximum = self._receive_maximum
        try:
            if self._threaded:
                self._client.connect_async(
                    self.host,
                    self.port,
                    keepalive=self._keepalive_s,
                    clean_start=self._clean_start,
                    properties=props,
                )
            else:
                self._client.connect(
                    self.host,
                    self.port,
                    keepalive=self._keepalive_s,
                    clean_start=self._clean_start,
                    properties=props,
                )
        except (OSError, ValueError) as exc:
            raise ServiceUnreachable("the MQTT broker", self.url, str(exc)) from None
        if self._threaded:
            self._client.loop_start()
        else:
            self._pump_thread = threading.get_ident()
        want = self._subscribed if self._subscriptions else self._connected
        deadline = time.monotonic() + timeout_s
        # A refusal (bad credentials, a subscription denied) is the broker's final answer:
        # report it now rather than after paho's retries have used up the timeout.
        while not want.is_set():
            if self._threaded:
                want.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            elif self._client.loop(min(0.05, max(0.0, deadline - time.monotonic()))):
                break  # the connection failed: paho said why through the callbacks
            if time.monotonic() >= deadline or "refused" in self._last_error:
                break
        if not want.is_set():
            if self._threaded:
                self._client.loop_stop()
            self._client.disconnect()
            why = self._last_error or "no answer"
            raise ServiceError(f"cannot connect to the MQTT broker at {self.url}: {why}")
        return self

    def _tls_problem(self) -> str:
        """Why a TLS handshake with the broker fails, or "" (also when the network is at fault:
        the connection then retries). paho's network thread retries TLS failures silently, so an
        untrusted or misnamed certificate would otherwise read as "no answer"."""
        if not self.tls:
            return ""
        ca_file, cert_file, key_file = self._tls_files
        try:
            ctx = ssl.create_default_context(cafile=ca_file)
            if cert_file:
                ctx.load_cert_chain(cert_file, key_file)
            with (
                socket.create_connection((self.host, self.port), timeout=5.0) as sock,
                ctx.wrap_socket(sock, server_hostname=self.host),
            ):
                return ""
        except ssl.SSLCertVerificationError as exc:
            return f"TLS: certificate verify failed: {exc.verify_message}"
        except ssl.SSLError as exc:
            return f"TLS handshake failed: {exc.reason or exc}"
        except OSError:
            return ""

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect cleanly (the session stays on the broker) and stop the network thread."""
        self._stopping = True
        try:
            if self._threaded:
                self.wait_published(timeout_s)
            self._client.disconnect()
        finally:
            if self._threaded:
                self._client.loop_stop()

    def pump(self, timeout_s: float) -> None:
        """Caller-driven mode (``threaded=False``): run one step of the network loop in this
        thread — wait up to ``timeout_s`` for the socket, read what arrived (its messages go
        to ``on_message`` before this returns), send what is queued, keep the connection alive;
        after a lost connection, dial again with a backoff of 1 s doubling to 30 s.
        """
        c = self._client
        self._pump_thread = threading.get_ident()
        while self._outbox and self._connected.is_set():
            with self._outbox_lock:
                topic, (payload, qos, retain) = next(iter(self._outbox.items()))
                if qos and not self._pending.acquire(blocking=False):
                    break  # backpressure: the rest waits for the broker's acknowledgements
                del self._outbox[topic]
            problem = self._publish_now(topic, payload, qos, retain)
            if problem:
                log.warning("MQTT publish to %r failed: %s", topic, problem)
        if self._reconnect_at is not None:
            wait = self._reconnect_at - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, timeout_s))
                return
            try:
                c.reconnect()
            except Exception as exc:  # OSError, ssl errors: the broker is away, try again later
                self._last_error = f"reconnect failed: {exc}"
                self._schedule_reconnect()
                return
            self._reconnect_at = None
        try:
            rc = c.loop(timeout_s)
        except Exception as exc:  # never end the caller's thread: treat it as a lost link
            log.warning("MQTT network loop failed (%s: %s); reconnecting", type(exc).__name__, exc)
            with contextlib.suppress(Exception):
                c.disconnect()  # closes the socket; the next step dials again
            rc = paho.MQTT_ERR_UNKNOWN
        if rc != paho.MQTT_ERR_SUCCESS and not self._stopping:
            self._connected.clear()
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        """Dial again after the current backoff, which doubles up to 30 s (a CONNACK resets it
        to 1 s)."""
        self._reconnect_at = time.monotonic() + self._reconnect_delay_s
        self._reconnect_delay_s = min(30.0, self._reconnect_delay_s * 2)

    def __enter__(self) -> MqttLink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        """True while the broker connection is up."""
        return self._connected.is_set()

    @property
    def threaded(self) -> bool:
        """True when paho's own thread runs the network loop; False: :meth:`pump` must."""
        return self._threaded

    @property
    def generation(self) -> int:
        """Number of successful connections so far."""
        return self._generation

    def wait_connected(self, timeout_s: float) -> bool:
        """Block until connected (True) or ``timeout_s`` passed (False)."""
        return self._connected.wait(timeout_s)

    # ------------------------------------------------------------------ receiving

    def ack_many(self, messages: Sequence[InboundMessage]) -> int:
        """Acknowledge ``messages`` (manual-ack mode) in one socket write; returns how many were
        acknowledged.

        Messages of an earlier connection are not acknowledged: their ids may now name other
        messages, and the broker redelivers them anyway (the store is idempotent on ``ts``).
        """
        with self._ack_lock:
            if not self._connected.is_set():
                return 0
            mids = [m.mid for m in messages if m.qos == 1 and m.generation == self._generation]
            if not mids:
                return 0
            queue_packet = getattr(self._client, "_packet_queue", None)
            if queue_packet is None:  # a paho without it: one PUBACK per call
                return sum(self._client.ack(mid, 1) == paho.MQTT_ERR_SUCCESS for mid in mids)
            # The PUBACKs back to back as one outgoing "packet": one write instead of one per
            # message (MQTT 5 PUBACK without reason code or properties: 0x40, length 2, id).
            acks = b"".join(_PUBACK.pack(0x40, 2, mid) for mid in mids)
            queue_packet(paho.PUBACK, acks, 0, 0)
            return len(mids)

    # ------------------------------------------------------------------ publishing

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout_s: float = 60.0,
    ) -> None:
        """Publish, waiting (backpressure) while too many QoS ≥ 1 messages are unacknowledged.

        Raises
        ------
        ServiceError
            Backpressure did not clear within ``timeout_s`` or paho refused the message.
        """
        if self._pump_thread is not None and threading.get_ident() != self._pump_thread:
            # Caller-driven mode: paho is not thread-safe for writing, so the thread that runs
            # the loop publishes it at one of its next steps, as the backpressure allows (a
            # failure is logged there). Never waiting here: that thread may itself be waiting
            # for this one. Per topic only the newest payload waits (retained status).
            with self._outbox_lock:
                self._outbox.pop(topic, None)
                self._outbox[topic] = (payload, qos, retain)
            return
        if qos and not self._pending.acquire(timeout=timeout_s):
            raise ServiceError(
                f"MQTT broker at {self.url} acknowledged nothing for {timeout_s:g} s"
            )
        rc = self._publish_now(topic, payload, qos, retain)
        if rc is not None:
            raise ServiceError(f"MQTT publish to {topic!r} failed: {rc}")

    def _publish_now(self, topic: str, payload: bytes | str, qos: int, retain: bool) -> str | None:
        """Hand one publish to paho (the backpressure slot is taken); the error, or None."""
        # Not under _pending_lock: paho holds its own lock while calling on_publish.
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if not qos:
            return None
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            self._pending.release()
            return paho.error_string(info.rc)
        with self._pending_lock:
            if info.mid in self._acked_early:  # on_publish came before publish() returned
                self._acked_early.discard(info.mid)
                self._pending.release()
            else:
                self._pending_mids.add(info.mid)
        return None

    def wait_published(self, timeout_s: float = 30.0) -> bool:
        """Block until every QoS ≥ 1 publish is acknowledged (True) or ``timeout_s`` passed."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._pending_lock:
                if not self._pending_mids:
                    return True
            time.sleep(0.01)
        return False

    @property
    def pending_publishes(self) -> int:
        """QoS ≥ 1 publishes not yet acknowledged by the broker."""
        with self._pending_lock:
            return len(self._pending_mids)

    # ------------------------------------------------------------------ paho callbacks

    def _handle_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._last_error = f"refused: {reason_code}"
            if (
                self._username
                and self._username != self.client_id
                and str(reason_code).lower().startswith("not authori")
            ):
                # The broker of `roshanai deploy mosquitto` binds each account to one id.
                self._last_error += (
                    f" (or client id {self.client_id!r} is not the one account "
                    f"{self._username!r} is bound to)"
                )
            return
        with self._ack_lock:
            self._generation += 1
        self._reconnect_delay_s = 1.0
        self._connected.set()
        if self._subscriptions:
            client.subscribe([(t, self._subscribe_options) for t in self._subscriptions])

    def _handle_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            self._last_error = f"subscription refused: {', '.join(failed)}"
            return
        self._subscribed.set()

    def _handle_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        # After a refused CONNECT the broker closes the socket: keep its reason ("Bad user name
        # or password"), not the "Protocol error" paho reports for the close.
        if (
            reason_code is not None
            and reason_code.is_failure
            and (was_connected or not self._last_error.startswith("refused"))
        ):
            self._last_error = f"disconnected: {reason_code}"

    def _handle_message(self, client, userdata, msg) -> None:
        if self._on_message is None:
            return
        try:
            topic = msg.topic
        except UnicodeDecodeError:  # a broker should refuse these; never crash on one
            topic = bytes(msg._topic).decode("utf-8", "replace")
        self._on_message(
            InboundMessage(
                topic=topic,
                payload=msg.payload,
                mid=msg.mid,
                qos=msg.qos,
                dup=bool(msg.dup),
                retain=bool(msg.retain),
                received_ns=time.time_ns(),
                generation=self._generation,
            )
        )

    def _handle_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._pending_lock:
            if mid in self._pending_mids:
                self._pending_mids.discard(mid)
                self._pending.release()
            else:
                self._acked_early.add(mid)
