"""OpenDTU and AhoyDTU: one value per MQTT message, gathered per inverter into one record.

Layouts (as the firmwares publish them; OpenDTU ``docs/MQTT_Topics.md`` and
``src/MqttHandleInverter.cpp``, AhoyDTU ``src/publisher/pubMqttIvData.h``):

OpenDTU, under its base topic (default ``solar/``), per inverter serial, every publish interval:
``<serial>/status/reachable`` and ``/status/producing`` (0/1), ``<serial>/status/last_update``
(Unix time [s] of the statistics, ``0`` before the first), then — only when the statistics
changed — ``<serial>/0/<field>`` for the AC side (``power`` [W], ``voltage`` [V], ``current``
[A], ``frequency`` [Hz], ``temperature`` [°C], ``yieldtotal`` [kWh], ``yieldday`` [Wh],
``powerdc``, ``efficiency``, ...) and ``<serial>/<1..n>/<field>`` per DC input (``power``,
``voltage``, ``current``, ``yieldday``, ``yieldtotal``, ``irradiation``).

AhoyDTU, under its base topic (default ``inverter/``), per inverter name: ``<name>/last_success``
(Unix time [s]), then ``<name>/ch0/<Field>`` (``P_AC``, ``U_AC``, ``I_AC``, ``F_AC``, ``Temp``,
``YieldTotal`` [kWh], ``YieldDay`` [Wh], ...) and ``<name>/ch<N>/<Field>`` (``U_DC``, ``I_DC``,
``P_DC``, ...), or with the JSON option one object per channel ``<name>/ch<N>`` =
``{"P_AC": ..., ..., "ts": <Unix time [s]>}``; then ``<name>/radio_stat`` ends the reading.
``<name>/available`` (0 off, 1 starting, 2 producing, 3 was producing, 4 was on) is sent,
retained, when the state changes; ``<name>/rssi`` on HMS/HMT inverters.

Aggregation: the values that follow a ``last_update`` / ``last_success`` belong to it and take
its time as ``ts``; without one, ``ts`` is the receive time of the first value, truncated to the
second. A reading completes when the next cycle starts (a status message or time stamp arrives
after values, a field repeats, or an AhoyDTU JSON channel carries another ``ts``), when
AhoyDTU's ``radio_stat`` ends it, or when :meth:`DtuAggregator.flush` finds it older than the
timeout. The tokens of its messages are returned only then. Messages the record does not use
(DTU-wide topics, firmware versions, limits, commands, daily yields) are accounted for at once.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from firmware_bridge.rejection import PLANT_ID_RE, Decoded, Rejection, excerpt, reject
from telemetry.record import DcString, TelemetryRecord, parse_ts

__all__ = ["MAX_PENDING_INVERTERS", "DtuAggregator"]

#: Inverters with an unfinished reading at once; beyond, new ones are refused (``oversized``).
MAX_PENDING_INVERTERS: Final = 200_000
#: Highest DC input number read (``<serial>/<n>/...``, ``ch<n>``).
MAX_DC_INPUT: Final = 16
_MAX_VALUE_BYTES: Final = 64

_NUMBER_RE: Final = re.compile(rb"\s*-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*")
_NON_FINITE: Final = frozenset({b"nan", b"-nan", b"inf", b"-inf", b"+inf", b"infinity",
                                b"-infinity", b"+infinity"})

# Record attribute per AC-side field name, and the factor to the record's unit.
_OPENDTU_AC: Final = {
    "power": ("ac_power_w", 1.0),
    "voltage": ("ac_voltage_v", 1.0),
    "current": ("ac_current_a", 1.0),
    "frequency": ("ac_freq_hz", 1.0),
    "temperature": ("temp_c", 1.0),
    "yieldtotal": ("energy_total_wh", 1000.0),  # kWh
}
_AHOY_AC: Final = {
    "P_AC": ("ac_power_w", 1.0),
    "U_AC": ("ac_voltage_v", 1.0),
    "I_AC": ("ac_current_a", 1.0),
    "F_AC": ("ac_freq_hz", 1.0),
    "Temp": ("temp_c", 1.0),
    "YieldTotal": ("energy_total_wh", 1000.0),  # kWh
}
# DC input fields → slot in DcString (voltage_v, current_a, power_w).
_OPENDTU_DC: Final = {"voltage": 0, "current": 1, "power": 2}
_AHOY_DC: Final = {"U_DC": 0, "I_DC": 1, "P_DC": 2}
#: AhoyDTU ``available`` → record status.
_AHOY_STATUS: Final = {0: "off", 1: "starting", 2: "producing", 3: "standby", 4: "standby"}

_OPENDTU = "OpenDTU"
_AHOY = "AhoyDTU"

_JSON_CHANNEL: Final = msgspec.json.Decoder(dict[str, float | int | str | bool | None])


class _Partial:
    """A reading being gathered for one inverter."""

    __slots__ = ("dc", "first_ns", "first_value_ns", "tokens", "ts_ns", "values")

    def __init__(self, first_ns: int, ts_ns: int | None = None) -> None:
        self.ts_ns = ts_ns
        self.values: dict[str, float] = {}
        self.dc: dict[tuple[int, int], float] = {}
        self.tokens: list[object] = []
        self.first_ns = first_ns
        self.first_value_ns: int | None = None

    def has(self, key: str | tuple[int, int]) -> bool:
        return key in self.dc if isinstance(key, tuple) else key in self.values

    def put(self, key: str | tuple[int, int], value: float, received_ns: int) -> None:
        if isinstance(key, tuple):
            self.dc[key] = value
        else:
            self.values[key] = value
        if self.first_value_ns is None:
            self.first_value_ns = received_ns


_Key = tuple[str, str]  # (firmware, serial or name)
_Value = tuple[str | tuple[int, int], float]


class DtuAggregator:
    """Gathers OpenDTU / AhoyDTU values per inverter (see the module docstring).

    Parameters
    ----------
    serials : dict
        Inverter serial or name → plant_id.
    timeout_ns : int
        Age of an unfinished reading at which :meth:`flush` completes it. [ns]
    """

    def __init__(self, serials: dict[str, str], timeout_ns: int) -> None:
        self._serials = serials
        self._timeout_ns = timeout_ns
        self._partials: dict[_Key, _Partial] = {}
        # Last status seen per inverter (AhoyDTU sends it only on change).
        self._status: dict[_Key, dict[str, int]] = {}

    def pending(self) -> int:
        return len(self._partials)

    # -- per firmware: topic → event ---------------------------------------------------------

    def feed_opendtu(self, rest: str, payload: bytes, token: object, now: int) -> Decoded:
        parts = rest.split("/")
        if len(parts) != 3 or parts[0] in ("dtu", "ac", "dc"):
            return Decoded([], [], [token])  # DTU-wide topics, names, totals
        serial, group, name = parts
        key = (_OPENDTU, serial)
        if group == "status":
            if name == "last_update":
                return self._header(key, payload, token, now)
            if name in ("reachable", "producing"):
                return self._status_event(key, name, payload, token, now)
            return Decoded([], [], [token])
        if not group.isdigit() or not group.isascii():
            return Decoded([], [], [token])  # device/..., cmd/...
        channel = int(group)
        if channel == 0:
            target = _OPENDTU_AC.get(name)
            if target is None:
                return Decoded([], [], [token])
            return self._value(key, target[0], target[1], payload, token, now)
        slot = _OPENDTU_DC.get(name)
        if slot is None or channel > MAX_DC_INPUT:
            return Decoded([], [], [token])
        return self._value(key, (channel - 1, slot), 1.0, payload, token, now)

    def feed_ahoy(self, rest: str, payload: bytes, token: object, now: int) -> Decoded:
        parts = rest.split("/")
        if len(parts) < 2 or parts[0] in ("total", "ctrl", "setup", "status"):
            return Decoded([], [], [token])
        name = parts[0]
        key = (_AHOY, name)
        leaf = parts[1]
        if len(parts) == 2:
            if leaf == "last_success":
                return self._header(key, payload, token, now)
            if leaf == "available":
                return self._status_event(key, "available", payload, token, now)
            if leaf == "radio_stat":
                return self._end(key, token)
            if leaf == "rssi":
                return self._value(key, "rssi_dbm", 1.0, payload, token, now)
            if leaf.startswith("ch") and leaf[2:].isdigit() and leaf[2:].isascii():
                return self._ahoy_json(key, int(leaf[2:]), payload, token, now)
            return Decoded([], [], [token])
        if len(parts) != 3 or not leaf.startswith("ch") or not leaf[2:].isdigit() \
                or not leaf[2:].isascii():
            return Decoded([], [], [token])
        channel = int(leaf[2:])
        field = parts[2]
        if channel == 0:
            if field == "rssi":  # older firmware: <name>/ch0/rssi
                return self._value(key, "rssi_dbm", 1.0, payload, token, now)
            target = _AHOY_AC.get(field)
            if target is None:
                return Decoded([], [], [token])
            return self._value(key, target[0], target[1], payload, token, now)
        slot = _AHOY_DC.get(field)
        if slot is None or channel > MAX_DC_INPUT:
            return Decoded([], [], [token])
        return self._value(key, (channel - 1, slot), 1.0, payload, token, now)

    def _ahoy_json(self, key: _Key, channel: int, payload: bytes, token: object,
                   now: int) -> Decoded:
        try:
            obj = _JSON_CHANNEL.decode(payload)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            reason = "non_finite" if "out of range" in str(exc) else "bad_schema"
            return self._refuse(key, reason, f"{_where(key)} ch{channel}: {exc}: "
                                f"{excerpt(payload)}", token)
        ts_ns: int | None = None
        values: list[_Value] = []
        table: dict[str, tuple[str, float]] | dict[str, int]
        table = _AHOY_AC if channel == 0 else _AHOY_DC
        for field, value in obj.items():
            if field == "ts":
                if type(value) is not int or not value:
                    continue
                try:
                    ts_ns = parse_ts(value * 1000)
                except (ValueError, OverflowError) as exc:
                    return self._refuse(key, "bad_schema", f"{_where(key)} ch{channel}: {exc}",
                                        token)
                continue
            target = table.get(field)
            if target is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                return self._refuse(key, "bad_schema", f"{_where(key)} ch{channel}: {field} is "
                                    f"{excerpt(value)}, not a number", token)
            if channel == 0:
                attr, factor = target  # type: ignore[misc]
                values.append((attr, _scale(float(value), factor)))
            elif channel <= MAX_DC_INPUT:
                values.append(((channel - 1, target), float(value)))  # type: ignore[arg-type]
        return self._values(key, ts_ns, values, token, now)

    # -- events ------------------------------------------------------------------------------

    def _header(self, key: _Key, payload: bytes, token: object, now: int) -> Decoded:
        """``last_update`` / ``last_success``: the time of the values that follow."""
        number = _number(payload)
        if isinstance(number, Rejection):
            return self._refuse(key, number.reason, f"{_where(key)} time: {number.detail}", token)
        if number == 0:
            return Decoded([], [], [token])  # no statistics yet
        try:
            ts_ns = parse_ts(int(number) * 1000)
        except (ValueError, OverflowError) as exc:
            return self._refuse(key, "bad_schema", f"{_where(key)} time: {exc}", token)
        out = Decoded([], [], [])
        partial = self._partials.get(key)
        if partial is not None:
            if partial.first_value_ns is not None:
                self._complete(key, out)
                partial = None
            elif partial.ts_ns is not None:  # an earlier cycle without new values: superseded
                out.tokens += self._partials.pop(key).tokens
                partial = None
        if partial is None:
            partial = self._start(key, now, out)
            if partial is None:
                out.tokens.append(token)
                return out
        partial.ts_ns = ts_ns
        partial.tokens.append(token)
        return out

    def _status_event(self, key: _Key, name: str, payload: bytes, token: object,
                      now: int) -> Decoded:
        number = _number(payload)
        if isinstance(number, Rejection):
            return self._refuse(key, number.reason, f"{_where(key)} {name}: {number.detail}",
                                token)
        out = Decoded([], [], [])
        partial = self._partials.get(key)
        if partial is not None and partial.first_value_ns is not None:
            self._complete(key, out)  # the status opens the next cycle
            partial = None
        status = self._status.get(key)
        if status is None:
            if len(self._status) >= MAX_PENDING_INVERTERS:
                self._status.clear()  # junk serials: forget, rather than grow without bound
            status = self._status[key] = {}
        status[name] = int(number)
        if partial is None:
            partial = self._start(key, now, out)
        if partial is None:
            out.tokens.append(token)
        else:
            partial.tokens.append(token)
        return out

    def _value(self, key: _Key, target: str | tuple[int, int], factor: float, payload: bytes,
               token: object, now: int) -> Decoded:
        number = _number(payload)
        if isinstance(number, Rejection):
            return self._refuse(key, number.reason, f"{_where(key)} {_name(target)}: "
                                f"{number.detail}", token)
        return self._values(key, None, [(target, _scale(number, factor))], token, now)

    def _values(self, key: _Key, ts_ns: int | None, values: list[_Value], token: object,
                now: int) -> Decoded:
        out = Decoded([], [], [])
        partial = self._partials.get(key)
        if partial is not None and partial.first_value_ns is not None and (
                (ts_ns is not None and partial.ts_ns is not None and ts_ns != partial.ts_ns)
                or any(partial.has(target) for target, _ in values)):
            self._complete(key, out)  # a new cycle
            partial = None
        if partial is None:
            partial = self._start(key, now, out)
            if partial is None:
                out.tokens.append(token)
                return out
        if partial.ts_ns is None:
            partial.ts_ns = ts_ns
        for target, value in values:
            partial.put(target, value, now)
        partial.tokens.append(token)
        return out

    def _end(self, key: _Key, token: object) -> Decoded:
        """AhoyDTU ``radio_stat``: the inverter's values for this cycle are all out."""
        out = Decoded([], [], [token])
        if key in self._partials:
            self._complete(key, out)
        return out

    def flush(self, now_ns: int, force: bool) -> Decoded:
        out = Decoded([], [], [])
        limit = now_ns - self._timeout_ns
        for key, partial in list(self._partials.items()):
            if force or partial.first_ns <= limit:
                self._complete(key, out)
        return out

    # -- helpers -----------------------------------------------------------------------------

    def _start(self, key: _Key, now: int, out: Decoded) -> _Partial | None:
        if len(self._partials) >= MAX_PENDING_INVERTERS:
            out.rejections.append(reject(
                "oversized", f"{_where(key)}: more than {MAX_PENDING_INVERTERS} inverters "
                f"with unfinished readings", self._plant(key[1])))
            return None
        partial = self._partials[key] = _Partial(now)
        return partial

    def _refuse(self, key: _Key, reason: str, detail: str, token: object) -> Decoded:
        return Decoded([], [reject(reason, detail, self._plant(key[1]))], [token])

    def _plant(self, serial: str) -> str | None:
        plant_id = self._serials.get(serial)
        if plant_id is None and PLANT_ID_RE.fullmatch(serial):
            plant_id = serial
        return plant_id

    def _complete(self, key: _Key, out: Decoded) -> None:
        """Turn the inverter's partial reading into a record (or a rejection); free tokens."""
        partial = self._partials.pop(key)
        out.tokens += partial.tokens
        if partial.first_value_ns is None:
            return  # only status and time: nothing to store
        plant_id = self._plant(key[1])
        if plant_id is None:
            out.rejections.append(reject(
                "unknown_plant", f"{_where(key)} is not in the fleet's inverter_serial column "
                f"({len(partial.tokens)} messages)"))
            return
        ts_ns = partial.ts_ns
        if ts_ns is None:
            ts_ns = partial.first_value_ns // 1_000_000_000 * 1_000_000_000
        dc: tuple[DcString, ...] = ()
        if partial.dc:
            count = max(i for i, _ in partial.dc) + 1
            slots = [[None, None, None] for _ in range(count)]
            for (i, slot), value in partial.dc.items():
                slots[i][slot] = value  # type: ignore[call-overload]
            dc = tuple(DcString(*s) for s in slots)
        values = partial.values
        out.records.append(TelemetryRecord(
            plant_id=plant_id,
            ts_ns=ts_ns,
            ac_power_w=values.get("ac_power_w"),
            ac_voltage_v=values.get("ac_voltage_v"),
            ac_current_a=values.get("ac_current_a"),
            ac_freq_hz=values.get("ac_freq_hz"),
            energy_total_wh=values.get("energy_total_wh"),
            dc=dc,
            temp_c=values.get("temp_c"),
            status=_status_of(key[0], self._status.get(key)),
            rssi_dbm=values.get("rssi_dbm"),
        ))


def _status_of(firmware: str, status: dict[str, int] | None) -> str | None:
    if not status:
        return None
    if firmware == _AHOY:
        return _AHOY_STATUS.get(status.get("available", -1))
    if status.get("producing"):
        return "producing"
    reachable = status.get("reachable")
    if reachable is None:
        return None
    return "standby" if reachable else "off"


def _scale(value: float, factor: float) -> float:
    """kWh → Wh without binary noise (1.005 kWh is 1005.0 Wh, not 1004.9999999999999)."""
    return value if factor == 1.0 else round(value * factor, 6)


def _where(key: _Key) -> str:
    return f"{key[0]} inverter {excerpt(key[1])}"


def _name(target: str | tuple[int, int]) -> str:
    if isinstance(target, tuple):
        return f"DC input {target[0] + 1} {('voltage', 'current', 'power')[target[1]]}"
    return target


def _number(payload: bytes) -> float | Rejection:
    """A plain-text value (``"228.1"``) → float, or why not."""
    if len(payload) > _MAX_VALUE_BYTES:
        return reject("bad_schema", f"value of {len(payload)} bytes: {excerpt(payload)}")
    if _NUMBER_RE.fullmatch(payload):
        value = float(payload)
        if value in (float("inf"), float("-inf")):
            return reject("non_finite", f"{excerpt(payload)} is not a finite number")
        return value
    if payload.strip().lower() in _NON_FINITE:
        return reject("non_finite", f"{excerpt(payload)} is not a finite number")
    return reject("bad_schema", f"{excerpt(payload)} is not a number")

