"""OpenDTU and AhoyDTU: one value per MQTT message, gathered per inverter into readings.

What the gateways publish, read in their sources (the golden cases under
``tests/firmware_bridge/testdata/gateways`` replay it through a real broker):

**OpenDTU** (``src/MqttHandleInverter.cpp``, ``lib/Hoymiles/src/parser/StatisticsParser.cpp``),
under its base topic (default ``solar/``), per inverter serial (lower-case hexadecimal), every
publish interval (default 5 s), QoS 0 and retained by default: ``<serial>/name``,
``<serial>/radio/...`` (``radio/rssi`` [dBm]), ``<serial>/device/...``,
``<serial>/status/limit_*``, ``<serial>/status/reachable`` and ``/status/producing`` (0/1),
``<serial>/status/last_update`` (Unix time [s] of the statistics, ``0`` before the first;
computed as ``time(0) - (millis() - lastUpdate) / 1000``, so it may differ by 1 s between
cycles), then — only when the statistics changed since the last publish — ``<serial>/0/<field>``
(AC and inverter fields: ``power`` [W], ``voltage`` [V], ``current`` [A], ``frequency`` [Hz],
``temperature`` [°C], ``yieldtotal`` [kWh], ``yieldday`` [Wh], ``powerdc``, ``efficiency``,
``powerfactor``, ``reactivepower``) and ``<serial>/<n>/<field>`` for DC input n ≥ 1
(``voltage``, ``current``, ``power``, ``yieldday``, ``yieldtotal``, ``irradiation``,
``name``), as text with the field's digits (``String(value, digits)``: ``"228.10"``,
``"nan"``). With "zero runtime data" on, an unreachable inverter's runtime fields are
republished as zeros under the last real reading's ``last_update``. DTU-wide topics
(``dtu/...``, ``ac/...``, ``dc/...``) and the OnBattery fork's (``battery/...``,
``victron/<serial>/...``, ``huawei/...``, ``powerlimiter/...``, ``powermeter/...``) name no
inverter and are passed over quietly.

**AhoyDTU** (``src/publisher/pubMqttIvData.h``, ``src/publisher/pubMqtt.h``,
``src/hm/hmDefines.h``), under its base topic (default ``inverter/``), per inverter NAME (as
configured in AhoyDTU): ``<name>/last_success`` (Unix time [s] of the record, retained),
``<name>/rssi`` (HMS/HMT), then ``<name>/ch0/<Field>`` (``P_AC``, ``U_AC``, ``I_AC``,
``F_AC``, ``Temp``, ``YieldTotal`` [kWh], ``YieldDay`` [Wh], ...) and
``<name>/ch<n>/<Field>`` (``U_DC``, ``I_DC``, ``P_DC``, ...) printed with ``%g``; or, with the
JSON option, one object per channel ``<name>/ch<n>`` = ``{"P_AC": ..., "ts": ...}``; then
``<name>/radio_stat`` ends the cycle. ``last_success`` is also sent before the records that
carry no readings (device information, power limit). ``<name>/available`` (0 off, 1 starting,
2 producing, 3 was producing, 4 was on) is published, retained, when the state changes, and
just before it ``sendData()`` republishes the last values without ``last_success``.

The rules the readings follow:

- a cycle's values belong to the timestamp published before them in the same cycle (AhoyDTU's
  JSON channels carry it as well); that timestamp is the reading's time;
- a cycle is a new reading only if its timestamp is more than :data:`SAME_READING_S` after the
  inverter's previous reading: repeats, zeroed runtime data and midnight resets never create
  or rewrite a point, and values without a timestamp in their cycle are no reading;
- the zeros OpenDTU republishes for an unreachable inverter (``status/reachable`` 0, every
  runtime value 0) are never a reading, whatever their timestamp; real readings of an OpenDTU
  that does not poll at night (statistics still requested for commands, ``reachable`` 0) are
  kept, without a status;
- an empty payload (an unnamed DC input's ``name``, a cleared retained topic) is passed over;
- retained messages replayed by the broker at (re)subscription update the status only; their
  timestamps tell which readings are already known;
- ``reachable``/``producing``/``available`` are reported as :class:`GatewayStatus` the moment
  they come, with or without values after them;
- an inverter the fleet does not list is quarantined once per inverter and hour
  (``unknown_plant``, naming the fleet column to fill); its other messages are counted and
  dropped.

A cycle completes when the next one starts (a timestamp or status message after values, a field
that repeats, a JSON channel with another ``ts``), at AhoyDTU's ``radio_stat``, or when
:meth:`DtuAggregator.flush` finds it older than the timeout; its messages' tokens are returned
then. Messages that carry nothing for a reading are accounted for at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

import msgspec

from firmware_bridge.rejection import (
    PLANT_ID_RE,
    Decoded,
    GatewayStatus,
    Rejection,
    excerpt,
    reject,
)
from telemetry.record import DcString, TelemetryRecord, parse_ts
from telemetry.registry import topic_serial

__all__ = [
    "AHOY",
    "MAX_DC_INPUT",
    "MAX_INVERTERS",
    "OPENDTU",
    "SAME_READING_S",
    "UNKNOWN_REPORT_S",
    "DtuAggregator",
]

OPENDTU: Final = "OpenDTU"
AHOY: Final = "AhoyDTU"

#: Inverters tracked at once; beyond, new ones are refused (``oversized``).
MAX_INVERTERS: Final = 200_000
#: Highest DC input number read (``<serial>/<n>/...``, ``ch<n>``).
MAX_DC_INPUT: Final = 16
#: A cycle whose timestamp is at most this much after the inverter's previous reading is the
#: same reading (OpenDTU's ``last_update`` wobbles by a second between publishes). [s]
SAME_READING_S: Final = 1
#: An inverter missing from the fleet is quarantined at most once in this period. [s]
UNKNOWN_REPORT_S: Final = 3600
_SAME_NS: Final = SAME_READING_S * 1_000_000_000
_AHEAD_NS: Final = 600 * 1_000_000_000  # the validator's max_future_s
_UNKNOWN_NS: Final = UNKNOWN_REPORT_S * 1_000_000_000
_MAX_VALUE_BYTES: Final = 64

_NUMBER_RE: Final = re.compile(rb"\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*")
_NON_FINITE: Final = frozenset(
    {
        b"nan",
        b"-nan",
        b"+nan",
        b"inf",
        b"-inf",
        b"+inf",
        b"infinity",
        b"-infinity",
        b"+infinity",
        b"ovf",
    }
)
#: What OpenDTU serials look like (12 hexadecimal digits for Hoymiles): used only to tell an
#: inverter missing from the fleet from a DTU-wide or OnBattery topic.
_SERIAL_SHAPE: Final = re.compile(r"[0-9a-fA-F]{8,16}")
_CHANNEL_RE: Final = re.compile(r"ch([0-9]{1,2})")
_OPENDTU_INVERTER_GROUPS: Final = frozenset({"status", "radio", "device", "cmd", "name"})
#: AhoyDTU topics with more than one level that belong to the DTU, not to an inverter.
_AHOY_DTU_WIDE: Final = frozenset(
    {
        "total",
        "ctrl",
        "setup",
        "status",
        "mqtt",
        "uptime",
        "wifi_rssi",
        "free_heap",
        "heap_frag",
        "sunrise",
        "sunset",
        "comm_start",
        "comm_stop",
        "comm_disabled",
        "comm_dis_ts",
        "version",
        "device",
        "ip_addr",
    }
)
_AHOY_INVERTER_LEAVES: Final = frozenset({"last_success", "available", "rssi", "radio_stat"})

# Record attribute per AC-side field name, and the factor to the record's unit.
_OPENDTU_AC: Final = {
    "power": ("ac_power_w", 1.0),
    "voltage": ("ac_voltage_v", 1.0),
    "current": ("ac_current_a", 1.0),
    "frequency": ("ac_freq_hz", 1.0),
    "temperature": ("temp_c", 1.0),
    "yieldtotal": ("energy_total_wh", 1000.0),  # kWh
    "yieldday": ("energy_today_wh", 1.0),  # Wh
}
_AHOY_AC: Final = {
    "P_AC": ("ac_power_w", 1.0),
    "U_AC": ("ac_voltage_v", 1.0),
    "I_AC": ("ac_current_a", 1.0),
    "F_AC": ("ac_freq_hz", 1.0),
    "Temp": ("temp_c", 1.0),
    "YieldTotal": ("energy_total_wh", 1000.0),  # kWh
    "YieldDay": ("energy_today_wh", 1.0),  # Wh
}
# DC input fields → slot in DcString (voltage_v, current_a, power_w).
_OPENDTU_DC: Final = {"voltage": 0, "current": 1, "power": 2}
_AHOY_DC: Final = {"U_DC": 0, "I_DC": 1, "P_DC": 2}
#: AhoyDTU ``available`` (InverterStatus) → record status.
_AHOY_STATUS: Final = {0: "off", 1: "starting", 2: "producing", 3: "standby", 4: "standby"}

#: Gateway-reported states kept across restarts with the reading times.
_STATE_FIELDS: Final = ("reachable", "producing", "available")

_JSON_CHANNEL: Final = msgspec.json.Decoder(dict[str, float | int | str | bool | None])

_Key = tuple[str, str]  # (firmware, serial or name as in the topic)
_Target = str | tuple[int, int]  # record attribute, or (DC input index, DcString slot)


class _Inverter:
    """One gateway inverter: its plant, state, and the cycle being gathered."""

    __slots__ = (
        "available",
        "cycle_rssi_dbm",
        "cycle_ts_ns",
        "dc",
        "firmware",
        "first_ns",
        "label",
        "last_ts_ns",
        "live_status",
        "plant_id",
        "producing",
        "reachable",
        "rssi_dbm",
        "tag",
        "tokens",
        "values",
    )

    def __init__(
        self, firmware: str, label: str, plant_id: str, tag: str | None, last_ts_ns: int
    ) -> None:
        self.firmware = firmware
        self.label = label
        self.plant_id = plant_id
        self.tag = tag  # the record's ``inverter`` (plants with several), else None
        self.last_ts_ns = last_ts_ns  # time of the latest reading known [ns]
        self.cycle_ts_ns: int | None = None
        self.values: dict[str, float] = {}
        self.dc: dict[tuple[int, int], float] = {}
        self.tokens: list[object] = []
        self.first_ns: int | None = None  # receive time of the cycle's first message
        self.reachable: int | None = None
        self.producing: int | None = None
        self.available: int | None = None
        self.live_status = False
        self.rssi_dbm: float | None = None  # OpenDTU's radio/rssi, sent before the cycle
        self.cycle_rssi_dbm: float | None = None  # ... and the one of the cycle in progress

    def has(self, target: _Target) -> bool:
        return target in self.dc if isinstance(target, tuple) else target in self.values

    def put(self, target: _Target, value: float) -> None:
        if isinstance(target, tuple):
            self.dc[target] = value
        else:
            self.values[target] = value

    def state(self) -> str | None:
        """The inverter's state as :data:`telemetry.record.STATUSES` name it, or None."""
        if self.firmware == AHOY:
            return None if self.available is None else _AHOY_STATUS.get(self.available)
        if self.reachable is None and self.producing is None:
            return None
        if self.reachable == 0:
            # isProducing() is only "the last AC power > 0": it stays 1 for an inverter that
            # stopped answering (unless zero runtime data is on).
            return "off"
        return "producing" if self.producing else "standby"


class DtuAggregator:
    """Gathers OpenDTU / AhoyDTU values per inverter into readings (see the module docstring).

    Parameters
    ----------
    serials : mapping
        OpenDTU serial in topic form (:func:`telemetry.registry.topic_serial`) → plant_id.
    names : mapping
        AhoyDTU inverter name → plant_id.
    plants : set of str or None
        The fleet's plant ids: an AhoyDTU inverter named like a plant belongs to it, and any
        other inverter is unknown. None (no fleet): a serial or name that is a valid plant_id
        is taken as the plant_id.
    several : set of str
        Plants with more than one gateway inverter: their records name the inverter.
    timeout_ns : int
        Age of an unfinished cycle at which :meth:`flush` completes it. [ns]
    """

    def __init__(
        self,
        serials: Mapping[str, str],
        timeout_ns: int,
        *,
        names: Mapping[str, str] | None = None,
        plants: frozenset[str] | None = None,
        several: frozenset[str] = frozenset(),
    ) -> None:
        self._serials = {topic_serial(k): v for k, v in serials.items()}
        self._names = dict(names or {})
        self._plants = plants
        self._several = several
        self._timeout_ns = timeout_ns
        self._now_ns = 0  # receive time of the latest message (or flush)
        self._inverters: dict[_Key, _Inverter] = {}
        self._open: dict[_Key, None] = {}  # inverters with a cycle in progress, oldest first
        self._reported: dict[_Key, int] = {}  # unknown inverter → when last quarantined
        self._saved: dict[str, dict[str, int]] = {}  # loaded from a previous run

    def pending(self) -> int:
        """Inverters with a cycle being gathered."""
        return len(self._open)

    # -- state across restarts ---------------------------------------------------------------

    def state(self) -> dict[str, dict[str, int]]:
        """What to persist per inverter (``"<firmware>/<serial or name>"``): the time of its
        latest reading [ns] and the state its gateway last reported (AhoyDTU sends
        ``available`` only when it changes, and a resubscribing bridge is not sent it again)."""
        out = dict(self._saved)
        for (firmware, label), inv in self._inverters.items():
            entry = {"ts_ns": inv.last_ts_ns}
            for name in _STATE_FIELDS:
                value = getattr(inv, name)
                if value is not None:
                    entry[name] = value
            if inv.last_ts_ns or len(entry) > 1:
                out[f"{firmware}/{label}"] = entry
        return out

    def load_state(self, state: object) -> int:
        """Restore :meth:`state` output (malformed entries are skipped); the entries taken."""
        if not isinstance(state, dict):
            return 0
        taken = 0
        for key, entry in state.items():
            if not (isinstance(key, str) and "/" in key and isinstance(entry, dict)):
                continue
            clean = {
                k: v
                for k, v in entry.items()
                if k in ("ts_ns", *_STATE_FIELDS) and type(v) is int and v >= 0
            }
            if clean:
                self._saved[key] = clean
                taken += 1
        return taken

    # -- per firmware: topic → event ---------------------------------------------------------

    def feed_opendtu(
        self, rest: str, payload: bytes, token: object, now: int, retained: bool = False
    ) -> Decoded:
        """One message under OpenDTU's base topic (``rest`` = the topic after it)."""
        self._now_ns = max(self._now_ns, now)
        if not payload.strip():
            return _ignored(token)  # an unnamed DC input's name, a retained topic cleared
        parts = rest.split("/")
        if len(parts) < 2:
            return _ignored(token)  # e.g. an OnBattery "battery" without a level
        label, group = parts[0], parts[1]
        key = (OPENDTU, label)
        inv = self._inverters.get(key)
        if inv is None:
            shaped = _SERIAL_SHAPE.fullmatch(label) is not None and (
                group in _OPENDTU_INVERTER_GROUPS or group.isdigit()
            )
            if not shaped and topic_serial(label) not in self._serials:
                return _ignored(token)  # dtu/, ac/, dc/, battery/, victron/, huawei/, ...
            found = self._inverter(key, token, now)
            if not isinstance(found, _Inverter):
                return found
            inv = found
        if len(parts) != 3:
            return _ignored(token)  # <serial>/name, deeper levels
        name = parts[2]
        if group == "status":
            if name == "last_update":
                return self._header(inv, payload, token, now, retained)
            if name in ("reachable", "producing"):
                return self._status(inv, name, payload, token, retained)
            return _ignored(token)  # limit_relative, limit_absolute
        if group == "radio":
            if name == "rssi" and not retained:
                number = _number(payload)
                if not isinstance(number, Rejection):
                    inv.rssi_dbm = number  # goes with the cycle's reading, if one follows
            return _ignored(token)
        if not (group.isascii() and group.isdigit()):
            return _ignored(token)  # device/..., cmd/...
        channel = int(group)
        if channel == 0:
            target = _OPENDTU_AC.get(name)
            if target is None:
                return _ignored(token)  # powerdc, efficiency, powerfactor, reactivepower, ...
            return self._value(inv, target[0], target[1], payload, token, now, retained)
        slot = _OPENDTU_DC.get(name)
        if slot is None or channel > MAX_DC_INPUT:
            return _ignored(token)  # per-input yields, irradiation, name
        return self._value(inv, (channel - 1, slot), 1.0, payload, token, now, retained)

    def feed_ahoy(
        self, rest: str, payload: bytes, token: object, now: int, retained: bool = False
    ) -> Decoded:
        """One message under AhoyDTU's base topic (``rest`` = the topic after it)."""
        self._now_ns = max(self._now_ns, now)
        if not payload.strip():
            return _ignored(token)  # a retained topic cleared
        parts = rest.split("/")
        if len(parts) < 2 or parts[0] in _AHOY_DTU_WIDE:
            return _ignored(token)
        label, leaf = parts[0], parts[1]
        channel_match = _CHANNEL_RE.fullmatch(leaf)
        key = (AHOY, label)
        inv = self._inverters.get(key)
        if inv is None:
            shaped = (len(parts) == 2 and (leaf in _AHOY_INVERTER_LEAVES or channel_match)) or (
                len(parts) == 3 and channel_match is not None
            )
            if not shaped:
                return _ignored(token)  # <name>/firmware, alarm/..., dis_night_comm, ...
            found = self._inverter(key, token, now)
            if not isinstance(found, _Inverter):
                return found
            inv = found
        if len(parts) == 2:
            if leaf == "last_success":
                return self._header(inv, payload, token, now, retained)
            if leaf == "available":
                return self._status(inv, "available", payload, token, retained)
            if leaf == "radio_stat":
                return self._end(inv, token)
            if leaf == "rssi":
                return self._value(inv, "rssi_dbm", 1.0, payload, token, now, retained)
            if channel_match is not None:
                return self._ahoy_json(inv, int(channel_match[1]), payload, token, now, retained)
            return _ignored(token)
        if len(parts) != 3 or channel_match is None:
            return _ignored(token)
        channel = int(channel_match[1])
        field = parts[2]
        if channel == 0:
            if field == "rssi":  # older firmware: <name>/ch0/rssi
                return self._value(inv, "rssi_dbm", 1.0, payload, token, now, retained)
            target = _AHOY_AC.get(field)
            if target is None:
                return _ignored(token)  # PF_AC, Q_AC, P_DC, Efficiency, MaxPower, ...
            return self._value(inv, target[0], target[1], payload, token, now, retained)
        slot = _AHOY_DC.get(field)
        if slot is None or channel > MAX_DC_INPUT:
            return _ignored(token)
        return self._value(inv, (channel - 1, slot), 1.0, payload, token, now, retained)

    # -- inverters ---------------------------------------------------------------------------

    def _inverter(self, key: _Key, token: object, now: int) -> _Inverter | Decoded:
        """The state of a newly seen inverter, or the outcome for a message of an unknown one."""
        firmware, label = key
        plant_id = self._plant_of(firmware, label)
        if plant_id is None:
            return self._unknown(key, token, now)
        if len(self._inverters) >= MAX_INVERTERS:
            return Decoded(
                [],
                [
                    reject(
                        "oversized",
                        f"{_where(key)}: more than {MAX_INVERTERS} inverters tracked",
                        plant_id,
                    )
                ],
                [token],
            )
        saved = self._saved.pop(f"{firmware}/{label}", {})
        inv = _Inverter(
            firmware,
            label,
            plant_id,
            label if plant_id in self._several else None,
            saved.get("ts_ns", 0),
        )
        for name in _STATE_FIELDS:
            setattr(inv, name, saved.get(name))
        self._inverters[key] = inv
        return inv

    def _plant_of(self, firmware: str, label: str) -> str | None:
        if firmware == OPENDTU:
            plant_id = self._serials.get(topic_serial(label))
        else:
            plant_id = self._names.get(label)
            if plant_id is None and self._plants is not None and label in self._plants:
                plant_id = label  # an AhoyDTU inverter named like its plant
            if plant_id is None:
                plant_id = self._serials.get(topic_serial(label))  # ... or like its serial
        if plant_id is None and self._plants is None and PLANT_ID_RE.fullmatch(label):
            plant_id = label  # no fleet: the serial or name is the plant
        return plant_id

    def _unknown(self, key: _Key, token: object, now: int) -> Decoded:
        """A message of an inverter the fleet does not know: quarantined once an hour."""
        last = self._reported.get(key)
        if last is not None and now - last < _UNKNOWN_NS:
            return Decoded([], [], [token], unregistered=1)
        if len(self._reported) >= MAX_INVERTERS:
            self._reported.clear()  # junk names: forget, rather than grow without bound
        self._reported[key] = now
        firmware = key[0]
        later = (
            f"its other messages in the next {UNKNOWN_REPORT_S // 60} min are counted and dropped"
        )
        if self._plants is None:
            return Decoded(
                [],
                [
                    reject(
                        "bad_tag",
                        f"{_where(key)} is not a plant_id (letters, "
                        f"digits, '-', '_'; at most 64) and no --fleet maps it "
                        f"to one; {later}",
                    )
                ],
                [token],
            )
        column = "inverter_serial" if firmware == OPENDTU else "inverter_name"
        what = "serial" if firmware == OPENDTU else "name as configured in AhoyDTU"
        return Decoded(
            [],
            [
                reject(
                    "unknown_plant",
                    f"{_where(key)} is not in the fleet: add "
                    f"its {what} to the {column} column of its plant; {later}",
                )
            ],
            [token],
        )

    # -- events ------------------------------------------------------------------------------

    def _header(
        self, inv: _Inverter, payload: bytes, token: object, now: int, retained: bool
    ) -> Decoded:
        """``last_update`` / ``last_success``: the time of the values that follow."""
        number = _number(payload)
        if isinstance(number, Rejection):
            return self._refuse(inv, number.reason, f"time: {number.detail}", token)
        ts_ns: int | None = None
        if number != 0:  # 0: no statistics yet
            try:
                ts_ns = parse_ts(int(number) * 1000)
            except (ValueError, OverflowError) as exc:
                return self._refuse(
                    inv,
                    "out_of_range",
                    f"time {excerpt(payload)}: {exc} (is the gateway's clock set?)",
                    token,
                )
        if retained:
            # A replay of the newest timestamp: its readings were published before this
            # subscription, and what the broker replays after it must not become a point.
            if ts_ns is not None:
                inv.last_ts_ns = max(inv.last_ts_ns, ts_ns)
            return Decoded([], [], [token], stale=1)
        out = Decoded([], [], [])
        if inv.values or inv.dc or inv.cycle_ts_ns is not None:
            self._complete(inv, out)  # values, or an earlier timestamp without values
        self._hold(inv, token, now)
        inv.cycle_ts_ns = ts_ns
        inv.cycle_rssi_dbm = inv.rssi_dbm  # OpenDTU sends radio/rssi before last_update
        return out

    def _status(
        self, inv: _Inverter, name: str, payload: bytes, token: object, retained: bool
    ) -> Decoded:
        """``reachable`` / ``producing`` / ``available``: the state, reported at once."""
        number = _number(payload)
        if isinstance(number, Rejection):
            return self._refuse(inv, number.reason, f"{name}: {number.detail}", token)
        out = Decoded([], [], [token], stale=int(retained))
        if retained and inv.live_status:
            return out  # the gateway has told us since: the replay is older
        if not retained and (inv.values or inv.dc):
            self._complete(inv, out)  # the status opens the next cycle
        setattr(inv, name, int(number))
        inv.live_status = inv.live_status or not retained
        state = inv.state()
        if state is not None:
            out.statuses.append(GatewayStatus(inv.plant_id, inv.label, state, not retained))
        return out

    def _value(
        self,
        inv: _Inverter,
        target: _Target,
        factor: float,
        payload: bytes,
        token: object,
        now: int,
        retained: bool,
    ) -> Decoded:
        if retained:
            return Decoded([], [], [token], stale=1)  # yesterday's value, replayed
        number = _number(payload)
        if isinstance(number, Rejection):
            return self._refuse(inv, number.reason, f"{_name(target)}: {number.detail}", token)
        return self._values(inv, None, [(target, _scale(number, factor))], token, now)

    def _ahoy_json(
        self, inv: _Inverter, channel: int, payload: bytes, token: object, now: int, retained: bool
    ) -> Decoded:
        """AhoyDTU's JSON option: one channel's fields and its ``ts`` in one object."""
        if retained:
            return Decoded([], [], [token], stale=1)
        try:
            obj = _JSON_CHANNEL.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            reason = "non_finite" if "out of range" in str(exc) else "bad_schema"
            return self._refuse(inv, reason, f"ch{channel}: {exc}: {excerpt(payload)}", token)
        ts_ns: int | None = None
        values: list[tuple[_Target, float]] = []
        for field, value in obj.items():
            if field == "ts":
                if type(value) is not int or not value:
                    continue
                try:
                    ts_ns = parse_ts(value * 1000)
                except (ValueError, OverflowError) as exc:
                    return self._refuse(inv, "out_of_range", f"ch{channel} ts: {exc}", token)
                continue
            if channel == 0:
                ac = _AHOY_AC.get(field)
                if ac is None:
                    continue
                target: _Target = ac[0]
                factor = ac[1]
            else:
                slot = _AHOY_DC.get(field)
                if slot is None or channel > MAX_DC_INPUT:
                    continue
                target, factor = (channel - 1, slot), 1.0
            if isinstance(value, bool) or not isinstance(value, int | float):
                return self._refuse(
                    inv,
                    "bad_schema",
                    f"ch{channel}: {field} is {excerpt(value)}, not a number",
                    token,
                )
            values.append((target, _scale(float(value), factor)))
        return self._values(inv, ts_ns, values, token, now)

    def _values(
        self,
        inv: _Inverter,
        ts_ns: int | None,
        values: list[tuple[_Target, float]],
        token: object,
        now: int,
    ) -> Decoded:
        out = Decoded([], [], [])
        if (inv.values or inv.dc) and (
            (ts_ns is not None and inv.cycle_ts_ns is not None and ts_ns != inv.cycle_ts_ns)
            or any(inv.has(target) for target, _ in values)
        ):
            self._complete(inv, out)  # a new cycle (with no timestamp of its own, if no ts)
        self._hold(inv, token, now)
        if inv.cycle_ts_ns is None:
            inv.cycle_ts_ns = ts_ns
        for target, value in values:
            inv.put(target, value)
        return out

    def _end(self, inv: _Inverter, token: object) -> Decoded:
        """AhoyDTU ``radio_stat``: the inverter's values for this cycle are all out."""
        out = Decoded([], [], [token])
        if inv.first_ns is not None:
            self._complete(inv, out)
        return out

    def flush(self, now_ns: int, force: bool) -> Decoded:
        """Complete the cycles older than the timeout (every cycle if ``force``)."""
        out = Decoded([], [], [])
        self._now_ns = max(self._now_ns, now_ns)
        limit = now_ns - self._timeout_ns
        for key in list(self._open):
            inv = self._inverters[key]
            if force or (inv.first_ns is not None and inv.first_ns <= limit):
                self._complete(inv, out)
        return out

    # -- helpers -----------------------------------------------------------------------------

    def _hold(self, inv: _Inverter, token: object, now: int) -> None:
        """Keep ``token`` with the cycle in progress (opening one)."""
        if inv.first_ns is None:
            inv.first_ns = now
            self._open[(inv.firmware, inv.label)] = None
        inv.tokens.append(token)

    def _refuse(self, inv: _Inverter, reason: str, detail: str, token: object) -> Decoded:
        return Decoded(
            [],
            [reject(reason, f"{_where((inv.firmware, inv.label))} {detail}", inv.plant_id)],
            [token],
        )

    def _complete(self, inv: _Inverter, out: Decoded) -> None:
        """End the inverter's cycle: a record if it is a new reading; free its tokens."""
        self._open.pop((inv.firmware, inv.label), None)
        out.tokens += inv.tokens
        values, dc, ts_ns, rssi = inv.values, inv.dc, inv.cycle_ts_ns, inv.cycle_rssi_dbm
        inv.tokens, inv.values, inv.dc, inv.cycle_ts_ns, inv.first_ns = [], {}, {}, None, None
        inv.cycle_rssi_dbm = None
        if not dc and not (values.keys() - {"rssi_dbm"}):
            if not values and ts_ns is not None and inv.firmware == OPENDTU:
                # OpenDTU sends values only when its statistics changed: a timestamp without
                # values is a reading published before (AhoyDTU also sends last_success for
                # records that hold no reading, so only OpenDTU's tells this).
                inv.last_ts_ns = max(inv.last_ts_ns, ts_ns)
            return
        unreachable = inv.firmware == OPENDTU and inv.reachable == 0
        if (
            ts_ns is None
            or ts_ns <= inv.last_ts_ns + _SAME_NS
            or (unreachable and _zeroed(values, dc))
        ):
            out.stale += 1  # a repeat, zeroed runtime data, or values without a time
            return
        if ts_ns <= self._now_ns + _AHEAD_NS:
            # A clock far ahead (refused as future_ts by the validator) must not make the
            # inverter's readings look old once its clock is right again.
            inv.last_ts_ns = ts_ns
        dc_inputs: tuple[DcString, ...] = ()
        if dc:
            count = max(i for i, _ in dc) + 1
            slots: list[list[float | None]] = [[None, None, None] for _ in range(count)]
            for (i, slot), value in dc.items():
                slots[i][slot] = value
            dc_inputs = tuple(DcString(*s) for s in slots)
        rssi = values.get("rssi_dbm", rssi)
        out.records.append(
            TelemetryRecord(
                plant_id=inv.plant_id,
                ts_ns=ts_ns,
                ac_power_w=values.get("ac_power_w"),
                ac_voltage_v=values.get("ac_voltage_v"),
                ac_current_a=values.get("ac_current_a"),
                ac_freq_hz=values.get("ac_freq_hz"),
                energy_total_wh=values.get("energy_total_wh"),
                energy_today_wh=values.get("energy_today_wh"),
                dc=dc_inputs,
                temp_c=values.get("temp_c"),
                # An OpenDTU that does not poll at night still asks for statistics when commands
                # are on (the default): real readings, with reachable 0 and producing 0 that say
                # nothing of the inverter's state.
                status=None if unreachable else inv.state(),
                rssi_dbm=rssi,
                inverter=inv.tag,
            )
        )


_RUNTIME: Final = ("ac_power_w", "ac_voltage_v", "ac_current_a", "ac_freq_hz")


def _zeroed(values: dict[str, float], dc: dict[tuple[int, int], float]) -> bool:
    """OpenDTU's "zero runtime data" of an unreachable inverter: every runtime value 0 (an
    inverter that answers measures the grid, so its AC voltage and frequency are not 0)."""
    return (not any(values.get(k) for k in _RUNTIME)) and not any(dc.values())


def _ignored(token: object) -> Decoded:
    """A message that carries nothing for a reading: accounted for at once."""
    return Decoded([], [], [token])


def _scale(value: float, factor: float) -> float:
    """kWh → Wh without binary noise (1.005 kWh is 1005.0 Wh, not 1004.9999999999999)."""
    return value if factor == 1.0 else round(value * factor, 6)


def _where(key: _Key) -> str:
    return f"{key[0]} inverter {excerpt(key[1])}"


def _name(target: _Target) -> str:
    if isinstance(target, tuple):
        return f"DC input {target[0] + 1} {('voltage', 'current', 'power')[target[1]]}"
    return target


def _number(payload: bytes) -> float | Rejection:
    """A plain-text value (``"228.10"``, ``"1.23457e+06"``) → float, or why not."""
    if len(payload) > _MAX_VALUE_BYTES:
        return reject("bad_schema", f"value of {len(payload)} bytes: {excerpt(payload)}")
    if _NUMBER_RE.fullmatch(payload):
        value = float(payload)
        if value in (float("inf"), float("-inf")):
            return reject("non_finite", f"{excerpt(payload)} is not a finite number")
        return value
    if payload.strip().lower() in _NON_FINITE:  # Arduino's String(float): nan, inf, ovf
        return reject("non_finite", f"{excerpt(payload)} is not a finite number")
    return reject("bad_schema", f"{excerpt(payload)} is not a number")
