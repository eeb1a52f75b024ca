"""Models of what OpenDTU and AhoyDTU publish, written from their sources, to generate the golden
cases of ``tests/firmware_bridge/test_gateways_golden.py`` (``generate.py`` composes the cases).

Sources read (bare mirrors, ``git show HEAD:<path>``):

- OpenDTU ``tbnobody/OpenDTU`` @ b6f0353b (2026-03-30): ``src/MqttHandleInverter.cpp``,
  ``include/MqttHandleInverter.h``, ``src/MqttSettings.cpp``, ``src/MqttHandleDtu.cpp``,
  ``src/MqttHandleInverterTotal.cpp``, ``src/Datastore.cpp``, ``include/defaults.h``,
  ``lib/Hoymiles/src/parser/StatisticsParser.cpp/.h``, ``lib/Hoymiles/src/inverters/*``,
  ``lib/Hoymiles/src/Hoymiles.cpp``; the Arduino-ESP32 core's ``String(float, digits)`` is
  ``dtostrf(value, digits + 2, digits)`` (``cores/esp32/stdlib_noniso.c``), which
  ``MqttSettingsClass::publish`` trims.
- OpenDTU-OnBattery ``hoylabs/OpenDTU-OnBattery`` @ 1bfc0cc6: same inverter code, extra
  ``battery/``, ``victron/<SER>/``, ``huawei/``, ``powerlimiter/``, ``powermeter/`` topics.
- AhoyDTU ``lumapu/ahoy`` @ c4fe30f1 (0.8.156): ``src/publisher/pubMqtt.h``,
  ``src/publisher/pubMqttIvData.h``, ``src/hm/hmDefines.h``, ``src/hm/hmInverter.h``,
  ``src/hm/Communication.h``, ``src/app.cpp``, ``src/config/config.h``,
  ``src/config/settings.h``, ``src/utils/helper.cpp``; ArduinoJson 6.21.5 (``TextFormatter``,
  ``FloatParts``) for the JSON mode.

Arithmetic is float32 where the firmware's is (``numpy.float32``), so the texts are the
firmware's to the digit. Times are offsets in seconds from the runner's ``t0``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

F32 = np.float32

# -- text formatting of the firmware -----------------------------------------------------------


def tpl(offset: int) -> str:
    """The runner's placeholder for ``t0 + offset`` seconds."""
    return "{t0}" if offset == 0 else f"{{t0{offset:+d}}}"


def untemplate(text: str) -> str:
    """``text`` with every time placeholder replaced by 0 (to parse a JSON payload here)."""
    return re.sub(r"\{t0(?:[+-]\d+)?\}", "0", text)


def dtostrf(number: float, width: int, prec: int) -> str:
    """Arduino-ESP32 ``dtostrf`` (cores/esp32/stdlib_noniso.c), step by step in double."""
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf"
    out: list[str] = []
    fillme = width
    if prec > 0:
        fillme -= prec + 1
    negative = False
    if number < 0.0:
        negative = True
        fillme -= 1
        number = -number
    rounding = 2.0
    for _ in range(prec):
        rounding *= 10.0
    rounding = 1.0 / rounding
    number += rounding
    tenpow = 1.0
    digitcount = 1
    while number >= 10.0 * tenpow:
        tenpow *= 10.0
        digitcount += 1
    number /= tenpow
    fillme -= digitcount
    while fillme > 0:
        out.append(" ")
        fillme -= 1
    if negative:
        out.append("-")
    digitcount += prec
    while digitcount > 0:
        digitcount -= 1
        digit = min(int(number), 9)
        out.append(chr(0x30 | digit))
        if digitcount == prec and prec > 0:
            out.append(".")
        number -= digit
        number *= 10.0
    return "".join(out)


def arduino_float(value: float | np.floating, digits: int = 2) -> str:
    """``String(float, digits)`` as ``MqttSettingsClass::publish`` sends it (trimmed)."""
    return dtostrf(float(value), digits + 2, digits).strip()


def round3(value: float) -> float:
    """AhoyDTU ``ah::round3`` (src/utils/helper.cpp:41): ``(int)(v * 1000 + 0.5) / 1000.0``."""
    return int(value * 1000 + 0.5) / 1000.0


def printf_g(value: float) -> str:
    """C ``%g``: six significant digits."""
    return f"{value:g}"


def ajson_float(value: float) -> str:
    """ArduinoJson 6.21 ``TextFormatter::writeFloat`` for a double (``FloatParts``)."""
    if math.isnan(value) or math.isinf(value):
        return "null"
    sign = ""
    if value < 0.0:
        sign, value = "-", -value
    if value != 0.0 and not (1e-5 < value < 1e7):
        raise ValueError(f"{value!r}: exponent form not modelled")
    max_decimal_part, decimal_places = 1_000_000_000, 9
    integral = int(value)
    tmp = integral
    while tmp >= 10:
        max_decimal_part //= 10
        decimal_places -= 1
        tmp //= 10
    remainder = (value - float(integral)) * float(max_decimal_part)
    decimal = int(remainder)
    remainder -= float(decimal)
    decimal += int(remainder * 2)
    if decimal >= max_decimal_part:
        decimal, integral = 0, integral + 1
    while decimal % 10 == 0 and decimal_places > 0:
        decimal //= 10
        decimal_places -= 1
    text = f"{sign}{integral}"
    if decimal_places:
        text += "." + str(decimal).rjust(decimal_places, "0")
    return text


# -- steps ---------------------------------------------------------------------------------------


class Steps:
    """The ``steps.jsonl`` of one case, in publish order."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def publish(self, topic: str, payload: str, *, qos: int = 0, retain: bool = False) -> None:
        self.items.append({"publish": topic, "payload": payload, "qos": qos, "retain": retain})

    def sleep(self, seconds: float) -> None:
        self.items.append({"sleep_s": seconds})

    def bridge(self, action: str) -> None:
        assert action in ("stop", "start", "restart")
        self.items.append({"bridge": action})

    def gateway(self, action: str) -> None:
        assert action == "reconnect"
        self.items.append({"gateway": action})

    def text(self) -> str:
        return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in self.items)


# -- readings ------------------------------------------------------------------------------------


@dataclass
class Reading:
    """One statistics payload of a Hoymiles inverter as raw integers (the bytes' values).

    ``udc``/``idc``/``pdc``/``yd``/``yt`` per DC input: [0.1 V], [0.01 A], [0.1 W], [Wh],
    [Wh = 0.001 kWh]; AC: ``uac`` [0.1 V], ``iac`` [0.01 A], ``pac`` [0.1 W], ``q`` [0.1 var],
    ``f`` [0.01 Hz], ``pf`` [0.001], ``t`` [0.1 °C], ``evt`` (event log counter).
    """

    udc: list[int]
    idc: list[int]
    pdc: list[int]
    yd: list[int]
    yt: list[int]
    uac: int
    iac: int
    pac: int
    q: int
    f: int
    pf: int
    t: int
    evt: int = 2

    def zero_runtime(self) -> Reading:
        """StatisticsParser::zeroRuntimeData: runtime fields zero, yields kept."""
        n = len(self.udc)
        return Reading(
            [0] * n, [0] * n, [0] * n, list(self.yd), list(self.yt), 0, 0, 0, 0, 0, 0, 0, self.evt
        )


def reading(
    dc: Sequence[tuple[float, float]],
    *,
    uac: float,
    freq: float,
    temp: float,
    yd: Sequence[int],
    yt_kwh: Sequence[float],
    eff: float = 0.958,
    q: float = 0.0,
    pf: float = 1.0,
    evt: int = 2,
    pac: float | None = None,
) -> Reading:
    """A physically consistent reading: DC power = U·I per input, AC = eff · DC unless given."""
    pdc = [round(v * a, 1) for v, a in dc]
    ac = round(sum(pdc) * eff, 1) if pac is None else pac
    return Reading(
        udc=[round(v * 10) for v, _ in dc],
        idc=[round(a * 100) for _, a in dc],
        pdc=[round(p * 10) for p in pdc],
        yd=list(yd),
        yt=[round(k * 1000) for k in yt_kwh],
        uac=round(uac * 10),
        iac=round(ac / uac * 100) if uac else 0,
        pac=round(ac * 10),
        q=round(q * 10),
        f=round(freq * 100),
        pf=round(pf * 1000),
        t=round(temp * 10),
        evt=evt,
    )


# -- OpenDTU -------------------------------------------------------------------------------------

OPENDTU_TOPIC_NAMES = {
    "UDC": "voltage",
    "IDC": "current",
    "PDC": "power",
    "YD": "yieldday",
    "YT": "yieldtotal",
    "UAC": "voltage",
    "IAC": "current",
    "PAC": "power",
    "F": "frequency",
    "T": "temperature",
    "PF": "powerfactor",
    "EFF": "efficiency",
    "IRR": "irradiation",
    "Q": "reactivepower",
}
"""StatisticsParser.h ``fields[]`` lowered (MqttHandleInverter.cpp getTopic)."""
OPENDTU_PUBLISH_FIELDS = (
    "UDC",
    "IDC",
    "PDC",
    "YD",
    "YT",
    "UAC",
    "IAC",
    "PAC",
    "F",
    "T",
    "PF",
    "EFF",
    "IRR",
    "Q",
)
"""include/MqttHandleInverter.h ``_publishFields``: the order within a channel."""
OPENDTU_RUNTIME_FIELDS = frozenset({"UDC", "IDC", "PDC", "UAC", "IAC", "PAC", "F", "T", "PF", "Q"})


@dataclass(frozen=True)
class DtuAssign:
    """One ``byteAssign_t`` row: where a field comes from, divisor, signedness, digits."""

    type: str  # "AC" | "DC" | "INV"
    ch: int
    field: str
    src: tuple[str, int]  # ("udc", input) ... or ("calc:<name>", argument)
    div: int
    signed: bool
    digits: int


def _dc_rows(ch: int, udc: tuple[str, int] | None = None) -> list[DtuAssign]:
    return [
        DtuAssign("DC", ch, "UDC", udc or ("udc", ch), 10, False, 1),
        DtuAssign("DC", ch, "IDC", ("idc", ch), 100, False, 2),
        DtuAssign("DC", ch, "PDC", ("pdc", ch), 10, False, 1),
        DtuAssign("DC", ch, "YD", ("yd", ch), 1, False, 0),
        DtuAssign("DC", ch, "YT", ("yt", ch), 1000, False, 3),
        DtuAssign("DC", ch, "IRR", ("calc:irr", ch), 0, False, 3),
    ]


_AC_ROWS = [
    DtuAssign("AC", 0, "UAC", ("uac", 0), 10, False, 1),
    DtuAssign("AC", 0, "IAC", ("iac", 0), 100, False, 2),
    DtuAssign("AC", 0, "PAC", ("pac", 0), 10, False, 1),
    DtuAssign("AC", 0, "Q", ("q", 0), 10, True, 1),
    DtuAssign("AC", 0, "F", ("f", 0), 100, False, 2),
    DtuAssign("AC", 0, "PF", ("pf", 0), 1000, False, 3),
]
_INV_ROWS = [
    DtuAssign("INV", 0, "T", ("t", 0), 10, True, 1),
    DtuAssign("INV", 0, "EVT_LOG", ("evt", 0), 1, False, 0),
    DtuAssign("INV", 0, "YD", ("calc:total_yd", 0), 0, False, 0),
    DtuAssign("INV", 0, "YT", ("calc:total_yt", 0), 0, False, 3),
    DtuAssign("INV", 0, "PDC", ("calc:total_pdc", 0), 0, False, 1),
    DtuAssign("INV", 0, "EFF", ("calc:total_eff", 0), 0, False, 3),
]

HM_2CH = [*_dc_rows(0), *_dc_rows(1), *_AC_ROWS, *_INV_ROWS]
"""lib/Hoymiles/src/inverters/HM_2CH.cpp byteAssignment (HM-600/700/800-2T)."""
HMS_4CH = [*_dc_rows(0), *_dc_rows(1), *_dc_rows(2), *_dc_rows(3), *_AC_ROWS, *_INV_ROWS]
"""lib/Hoymiles/src/inverters/HMS_4CH.cpp byteAssignment (HMS-1600/1800/2000-4T)."""
HM_4CH = [
    *_dc_rows(0),
    *_dc_rows(1, ("calc:ch_udc", 0)),
    *_dc_rows(2),
    *_dc_rows(3, ("calc:ch_udc", 2)),
    *_AC_ROWS,
    *_INV_ROWS,
]
"""lib/Hoymiles/src/inverters/HM_4CH.cpp: inputs 2 and 4 share the voltage of 1 and 3."""


@dataclass
class DevInfo:
    bootloader: int = 1
    fw_build: int = 10012
    fw_datetime: str = "2021-10-25 18:37:00"
    hw_part: int = 0x10113001  # HM-800-2T (DevInfoParser.cpp devInfo[])
    hw_version: str = "01.00"
    max_power: int = 800


class OpenDtuInverter:
    """One inverter as OpenDTU holds it: statistics, radio counters, reachability."""

    def __init__(
        self,
        serial: str,
        name: str,
        table: list[DtuAssign],
        *,
        channel_names: Sequence[str],
        string_max_power: Sequence[int],
        devinfo: DevInfo | None,
        limit_percent: float | None = 100.0,
        cmt: bool = False,
        zero_runtime: bool = False,
        zero_day: bool = False,
    ) -> None:
        self.serial, self.name, self.table = serial, name, table
        self.channel_names = list(channel_names)
        self.string_max_power = list(string_max_power)
        self.devinfo, self.limit_percent, self.cmt = devinfo, limit_percent, cmt
        self.zero_runtime_enabled, self.zero_day_enabled = zero_runtime, zero_day
        self.devinfo_known = devinfo is not None
        self.sysconfig_known = limit_percent is not None
        self.raw: Reading | None = None
        self.stats_at: int | None = None  # t0 offset of Statistics()->getLastUpdate(); None = 0
        self.internal = 0  # getLastUpdateFromInternal() changes
        self.published_internal = 0  # _lastPublishStats[i]
        self.failures = 0
        self.threshold = 2  # REACHABLE_THRESHOLD (defaults.h:108)
        self.polling = True
        self.rssi = -127  # InverterAbstract.h:139
        self.radio = dict.fromkeys(
            (
                "tx_request",
                "tx_re_request",
                "rx_success",
                "rx_fail_nothing",
                "rx_fail_partial",
                "rx_fail_corrupt",
            ),
            0,
        )
        self.channels = sorted({a.ch for a in table if a.type == "DC"})

    # state changes ---------------------------------------------------------------------------

    def stats(self, raw: Reading, at: int, rssi: int | None = None) -> None:
        """RealTimeRunDataCommand::handleResponse: new statistics at ``at``."""
        self.radio["tx_request"] += 2  # RealTimeRunData + AlarmData requests of the poll
        self.radio["rx_success"] += 2
        self.raw, self.stats_at = raw, at
        self.failures = 0
        self.internal += 1
        self.rssi = rssi if rssi is not None else (-71 if self.cmt else -30)

    def timeout(self) -> None:
        """RealTimeRunDataCommand::gotTimeout: a poll without answer."""
        self.radio["tx_request"] += 2
        self.radio["rx_fail_nothing"] += 2
        self.failures += 1

    def poll(self) -> None:
        """Hoymiles.cpp:65-67: zero the runtime data at the start of a poll if unreachable."""
        if self.zero_runtime_enabled and not self.reachable and self.raw is not None:
            self.raw = self.raw.zero_runtime()
            self.internal += 1

    def midnight(self) -> None:
        """InverterAbstract::performDailyTask: yield day zeroed (if configured), radio reset."""
        if self.zero_day_enabled and self.raw is not None:
            r = self.raw
            self.raw = Reading(
                r.udc,
                r.idc,
                r.pdc,
                [0] * len(r.yd),
                r.yt,
                r.uac,
                r.iac,
                r.pac,
                r.q,
                r.f,
                r.pf,
                r.t,
                r.evt,
            )
            self.internal += 1
        self.radio = dict.fromkeys(self.radio, 0)

    @property
    def reachable(self) -> bool:
        """InverterAbstract::isReachable."""
        return self.polling and self.failures <= self.threshold

    @property
    def producing(self) -> bool:
        """InverterAbstract::isProducing: AC power of the stored statistics, not reachability."""
        return self.polling and float(self.value("AC", 0, "PAC")) > 0

    # values ----------------------------------------------------------------------------------

    def _row(self, type_: str, ch: int, fld: str) -> DtuAssign | None:
        for a in self.table:
            if a.type == type_ and a.ch == ch and a.field == fld:
                return a
        return None

    def value(self, type_: str, ch: int, fld: str) -> np.float32:
        """StatisticsParser::getChannelFieldValue (float32)."""
        a = self._row(type_, ch, fld)
        if a is None or self.raw is None:
            return F32(0)
        kind, arg = a.src
        if not kind.startswith("calc:"):
            data = getattr(self.raw, kind)
            raw = data[arg] if isinstance(data, list) else data
            return F32(raw) / F32(a.div)
        name = kind[5:]
        dc = [c for c in self.channels]
        if name in ("total_yt", "total_yd", "total_pdc"):
            fld2 = {"total_yt": "YT", "total_yd": "YD", "total_pdc": "PDC"}[name]
            acc = F32(0)
            for c in dc:
                acc = F32(acc + self.value("DC", c, fld2))
            return acc
        if name == "total_eff":
            ac = F32(self.value("AC", 0, "PAC"))
            dcp = F32(0)
            for c in dc:
                dcp = F32(dcp + self.value("DC", c, "PDC"))
            return F32(F32(ac / dcp) * F32(100.0)) if dcp > 0 else F32(0)
        if name == "irr":
            mp = self.string_max_power[arg]
            if mp > 0:
                return F32(F32(self.value("DC", arg, "PDC") / F32(mp)) * F32(100.0))
            return F32(0)
        if name == "ch_udc":
            return self.value("DC", arg, "UDC")
        raise ValueError(name)

    def text(self, type_: str, ch: int, fld: str) -> str:
        a = self._row(type_, ch, fld)
        assert a is not None
        return arduino_float(self.value(type_, ch, fld), a.digits)

    # publishing ------------------------------------------------------------------------------

    def cycle(
        self,
        pub: Callable[[str, str], None],
        jitter: int = 0,
        override: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """MqttHandleInverterClass::loop for this inverter (MqttHandleInverter.cpp:43-112).

        ``jitter`` is the ±1 s of ``time(0) - (millis() - lastUpdate) / 1000``; ``override``
        replaces payloads by topic suffix (fault injection). Returns suffix → payload.
        """
        out: dict[str, str] = {}

        def send(suffix: str, payload: str) -> None:
            if override and suffix in override:
                payload = override[suffix]
            out[suffix] = payload
            pub(f"{self.serial}/{suffix}", payload)

        send("name", self.name)
        for key in (
            "tx_request",
            "tx_re_request",
            "rx_success",
            "rx_fail_nothing",
            "rx_fail_partial",
            "rx_fail_corrupt",
        ):
            send(f"radio/{key}", str(self.radio[key]))
        send("radio/rssi", str(self.rssi))
        if self.devinfo_known and self.devinfo is not None:
            d = self.devinfo
            send("device/bootloaderversion", str(d.bootloader))
            send("device/fwbuildversion", str(d.fw_build))
            send("device/fwbuilddatetime", d.fw_datetime)
            send("device/hwpartnumber", str(d.hw_part))
            send("device/hwversion", d.hw_version)
        if self.sysconfig_known and self.limit_percent is not None:
            pct = F32(self.limit_percent)
            send("status/limit_relative", arduino_float(pct))
            maxpower = self.devinfo.max_power if self.devinfo_known and self.devinfo else 0
            if maxpower > 0:
                send("status/limit_absolute", arduino_float(F32(F32(pct * F32(maxpower)) / 100)))
        send("status/reachable", "1" if self.reachable else "0")
        send("status/producing", "1" if self.producing else "0")
        send("status/last_update", "0" if self.stats_at is None else tpl(self.stats_at + jitter))
        if self.stats_at is not None and self.internal != self.published_internal:
            self.published_internal = self.internal
            for type_ in ("AC", "DC", "INV"):
                chans = sorted({a.ch for a in self.table if a.type == type_})
                for c in chans:
                    if type_ == "DC":
                        send(f"{c + 1}/name", self.channel_names[c])
                    for fld in OPENDTU_PUBLISH_FIELDS:
                        if self._row(type_, c, fld) is None:
                            continue
                        topic = (
                            "powerdc"
                            if (type_, fld) == ("INV", "PDC")
                            else OPENDTU_TOPIC_NAMES[fld]
                        )
                        num = c + 1 if type_ == "DC" else c
                        send(f"{num}/{topic}", self.text(type_, c, fld))
        return out


class OpenDtu:
    """One OpenDTU (base topic ``solar/``, retain on, QoS 0: defaults.h:40-41,
    MqttSettings.cpp:210-219) with its inverters."""

    PREFIX = "solar/"

    def __init__(
        self,
        steps: Steps,
        inverters: Sequence[OpenDtuInverter],
        *,
        hostname: str = "OpenDTU-4F3A21",
        ip: str = "192.168.1.57",
        uptime_s: int = 25_417,
    ) -> None:
        self.steps, self.inverters = steps, list(inverters)
        self.hostname, self.ip, self.uptime_s = hostname, ip, uptime_s
        self.heap_free = 141_244

    def pub(self, subtopic: str, payload: str) -> None:
        # MqttSettingsClass::publish: prefix + subtopic, payload trimmed, QoS 0, retain config.
        self.steps.publish(self.PREFIX + subtopic, payload.strip(), qos=0, retain=True)

    def connect(self) -> None:
        """onMqttConnect (MqttSettings.cpp:33-37): the LWT topic's online value."""
        self.pub("dtu/status", "online")

    def lwt_offline(self) -> None:
        """What the broker publishes for the will (QoS 2, retain: MqttSettings.cpp:155)."""
        self.steps.publish(self.PREFIX + "dtu/status", "offline", qos=2, retain=True)

    def dtu_cycle(self) -> None:
        """MqttHandleDtuClass::loop (MqttHandleDtu.cpp:35-50), WiFi mode."""
        self.pub("dtu/uptime", str(self.uptime_s))
        self.pub("dtu/ip", self.ip)
        self.pub("dtu/hostname", self.hostname)
        self.pub("dtu/heap/size", "298676")
        self.pub("dtu/heap/free", str(self.heap_free))
        self.pub("dtu/heap/minfree", "101332")
        self.pub("dtu/heap/maxalloc", "65524")
        self.pub("dtu/rssi", "-61")
        self.pub("dtu/bssid", "A4:2B:B0:91:3C:0E")
        self.pub("dtu/temperature", arduino_float(F32(47.8)))

    def totals(self) -> None:
        """MqttHandleInverterTotalClass::loop with Datastore's sums (Datastore.cpp:22-119)."""
        ac_p = yt = yd = dc_p = irr_p = irr_inst = F32(0)
        valid = True
        for inv in self.inverters:
            if not inv.reachable and inv.polling:  # an inverter not polled does not count
                valid = False
            yt = F32(yt + inv.value("INV", 0, "YT"))  # Poll_Enable (config), not the night
            yd = F32(yd + inv.value("INV", 0, "YD"))
            if not inv.polling:
                continue
            ac_p = F32(ac_p + inv.value("AC", 0, "PAC"))
            for c in inv.channels:
                p = inv.value("DC", c, "PDC")
                dc_p = F32(dc_p + p)
                if inv.string_max_power[c] > 0:
                    irr_p = F32(irr_p + p)
                    irr_inst = F32(irr_inst + F32(inv.string_max_power[c]))
        irr = F32(F32(irr_p / irr_inst) * F32(100.0)) if irr_inst > 0 else F32(0)
        self.pub("ac/power", arduino_float(ac_p, 1))
        self.pub("ac/yieldtotal", arduino_float(yt, 3))
        self.pub("ac/yieldday", arduino_float(yd, 0))
        self.pub("ac/is_valid", "1" if valid else "0")
        self.pub("dc/power", arduino_float(dc_p, 1))
        self.pub("dc/irradiation", arduino_float(irr, 3))
        self.pub("dc/is_valid", "1" if valid else "0")

    def cycle(
        self,
        jitter: dict[str, int] | None = None,
        override: dict[str, dict[str, str]] | None = None,
        interval_s: int = 5,
    ) -> dict[str, dict[str, str]]:
        """One publish interval (5 s, defaults.h:82): MqttHandleDtu, MqttHandleInverter,
        MqttHandleInverterTotal in their scheduler order (main.cpp:109-111)."""
        self.dtu_cycle()
        out = {}
        for inv in self.inverters:
            out[inv.serial] = inv.cycle(
                self.pub, (jitter or {}).get(inv.serial, 0), (override or {}).get(inv.serial)
            )
        self.totals()
        self.uptime_s += interval_s
        self.heap_free -= 24
        return out


def opendtu_fields(published: dict[str, str]) -> dict[str, Any]:
    """The point fields the contract maps from one OpenDTU cycle's payloads (the caller knows
    it is a new reading). Non-numbers are left out (quarantined)."""
    fields: dict[str, Any] = {}

    def num(suffix: str, name: str, scale: float = 1.0) -> None:
        if suffix in published:
            try:
                v = float(published[suffix])
            except ValueError:
                return
            if math.isfinite(v):
                fields[name] = v * scale

    num("radio/rssi", "rssi_dbm")
    num("0/power", "ac_power_w")
    num("0/voltage", "ac_voltage_v")
    num("0/current", "ac_current_a")
    num("0/frequency", "ac_freq_hz")
    num("0/temperature", "temp_c")
    num("0/yieldtotal", "energy_total_wh", 1000.0)
    num("0/yieldday", "energy_today_wh")
    for n in range(1, 7):
        num(f"{n}/voltage", f"dc{n}_voltage_v")
        num(f"{n}/current", f"dc{n}_current_a")
        num(f"{n}/power", f"dc{n}_power_w")
    if published.get("status/reachable") == "1":
        fields["status"] = "producing" if published.get("status/producing") == "1" else "standby"
    return fields


# -- OnBattery extras ----------------------------------------------------------------------------


def onbattery_topics(dtu: OpenDtu) -> None:
    """One interval of OpenDTU-OnBattery's own topics under the same base topic: Pylontech
    battery (src/battery/Stats.cpp:95-121, src/battery/pylontech/Stats.cpp:45-71), a Victron
    MPPT (src/solarcharger/victron/Stats.cpp:373-422), a Huawei grid charger
    (src/gridcharger/huawei/Stats.cpp:19-86), the power meter (src/powermeter/Provider.cpp:32-55)
    and the power limiter (src/MqttHandlePowerLimiter.cpp:90-117)."""
    p = dtu.pub
    p("battery/manufacturer", "PYLON")
    p("battery/dataAge", "0")
    p("battery/stateOfCharge", arduino_float(F32(87.0)))
    p("battery/voltage", arduino_float(F32(52.1)))
    p("battery/current", arduino_float(F32(-3.2)))
    p("battery/settings/dischargeCurrentLimitation", arduino_float(F32(25.0)))
    p("battery/settings/chargeCurrentLimitation", arduino_float(F32(25.0)))
    p("battery/settings/chargeVoltage", arduino_float(F32(53.2)))
    p("battery/settings/dischargeVoltageLimitation", arduino_float(F32(48.0)))
    p("battery/stateOfHealth", "98")
    p("battery/temperature", arduino_float(F32(23.0)))
    for name in (
        "overCurrentDischarge",
        "overCurrentCharge",
        "underTemperature",
        "overTemperature",
        "underVoltage",
        "overVoltage",
        "bmsInternal",
    ):
        p(f"battery/alarm/{name}", "0")
    for name in (
        "highCurrentDischarge",
        "highCurrentCharge",
        "lowTemperature",
        "highTemperature",
        "lowVoltage",
        "highVoltage",
        "bmsInternal",
    ):
        p(f"battery/warning/{name}", "0")
    p("battery/charging/chargeEnabled", "1")
    p("battery/charging/dischargeEnabled", "1")
    p("battery/charging/chargeImmediately", "0")
    p("battery/modulesTotal", "2")
    v = "victron/HQ2231XK4TN/"
    p(v + "PID", "SmartSolar MPPT 100|20")
    p(v + "SER", "HQ2231XK4TN")
    p(v + "FWI", "164")
    p(v + "FWF", "1.64")
    p(v + "FW", "164")
    p(v + "FWE", "")  # an empty char array: a zero-length (retained) payload
    p(v + "CS", "Bulk")
    p(v + "ERR", "No error")
    p(v + "OR", "Not off")
    p(v + "MPPT", "MPP Tracker active")
    p(v + "HSDS", "112")
    p(v + "V", arduino_float(53240 / 1000.0))
    p(v + "I", arduino_float(4120 / 1000.0))
    p(v + "P", "219")
    p(v + "VPV", arduino_float(68400 / 1000.0))
    p(v + "IPV", arduino_float(3350 / 1000.0))
    p(v + "PPV", "229")
    p(v + "E", "95")
    p(v + "H19", arduino_float(1234560 / 1000.0))
    p(v + "H20", arduino_float(1230 / 1000.0))
    p(v + "H21", "312")
    p(v + "H22", arduino_float(2340 / 1000.0))
    p(v + "H23", "355")
    p("powermeter/powertotal", arduino_float(F32(-312.4)))
    p("powermeter/power1", arduino_float(F32(-312.4)))
    p("powermeter/voltage1", arduino_float(F32(231.2)))
    p("powermeter/current1", arduino_float(F32(1.35)))
    p("powermeter/import", arduino_float(F32(1234.56)))
    p("powermeter/export", arduino_float(F32(567.89)))
    p("huawei/input_voltage", arduino_float(F32(230.5)))
    p("huawei/input_current", arduino_float(F32(0.0)))
    p("huawei/input_power", arduino_float(F32(0.0)))
    p("huawei/input_frequency", arduino_float(F32(50.0)))
    p("huawei/output_voltage", arduino_float(F32(53.5)))
    p("huawei/output_current", arduino_float(F32(0.0)))
    p("huawei/max_output_current", arduino_float(F32(0.0)))
    p("huawei/output_power", arduino_float(F32(0.0)))
    p("huawei/input_temp", arduino_float(F32(27.0)))
    p("huawei/output_temp", arduino_float(F32(26.0)))
    p("huawei/efficiency", arduino_float(F32(0.0)))
    p("huawei/serial", "2102312345ABC1234567")
    p("huawei/product_name", "R4850G2")
    p("huawei/reachable", "1")
    p("huawei/data_age", "0")
    p("powerlimiter/status/mode", "0")
    p("powerlimiter/status/upper_power_limit", "800")
    p("powerlimiter/status/target_power_consumption", "0")
    p("powerlimiter/status/inverter_update_timeouts", "0")
    p("powerlimiter/status/threshold/voltage/start", arduino_float(F32(50.0)))
    p("powerlimiter/status/threshold/voltage/stop", arduino_float(F32(48.5)))
    p("powerlimiter/status/threshold/soc/start", "80")
    p("powerlimiter/status/threshold/soc/stop", "20")


# -- AhoyDTU -------------------------------------------------------------------------------------

OFF, STARTING, PRODUCING, WAS_PRODUCING, WAS_ON = range(5)
"""hmInverter.h:77-83 InverterStatus."""
INACT_THRES_S, OFF_THRES_S = 5 * 60, 15 * 60
"""config.h:219, 222."""
NEW_DATA, LAST_SUCCESS_SENT, DATA_SENT = range(3)
"""hmInverter.h:71-75 MqttSentStatus."""
RTR, SYSTEM_CONFIG, DEVINFO_ALL = (
    "RealTimeRunData_Debug",
    "SystemConfigPara",
    "InverterDevInform_All",
)


@dataclass(frozen=True)
class AhoyAssign:
    field: str  # hmDefines.h fields[] spelling
    ch: int
    src: str  # raw attribute of Reading or "calc:<name>"
    div: int


def _ahoy_dc(ch: int) -> list[AhoyAssign]:
    i = ch - 1
    return [
        AhoyAssign("U_DC", ch, f"udc{i}", 10),
        AhoyAssign("I_DC", ch, f"idc{i}", 100),
        AhoyAssign("P_DC", ch, f"pdc{i}", 10),
        AhoyAssign("YieldDay", ch, f"yd{i}", 1),
        AhoyAssign("YieldTotal", ch, f"yt{i}", 1000),
        AhoyAssign("Irradiation", ch, "calc:irr", 0),
        AhoyAssign("MaxPower", ch, "calc:mpdc", 0),
    ]


AHOY_HM2CH = [
    *_ahoy_dc(1),
    *_ahoy_dc(2),
    AhoyAssign("U_AC", 0, "uac", 10),
    AhoyAssign("I_AC", 0, "iac", 100),
    AhoyAssign("P_AC", 0, "pac", 10),
    AhoyAssign("Q_AC", 0, "q", 10),
    AhoyAssign("F_AC", 0, "f", 100),
    AhoyAssign("PF_AC", 0, "pf", 1000),
    AhoyAssign("Temp", 0, "t", 10),
    AhoyAssign("ALARM_MES_ID", 0, "evt", 1),
    AhoyAssign("YieldDay", 0, "calc:yd", 0),
    AhoyAssign("YieldTotal", 0, "calc:yt", 0),
    AhoyAssign("P_DC", 0, "calc:pdc", 0),
    AhoyAssign("Efficiency", 0, "calc:eff", 0),
    AhoyAssign("MaxPower", 0, "calc:mpac", 0),
    AhoyAssign("MaxTemp", 0, "calc:mt", 0),
]
"""hmDefines.h:221-253 hm2chAssignment (HM-600/700/800)."""


@dataclass
class AhoyInverter:
    """One inverter of an AhoyDTU (hmInverter.h): its RealTimeRunData record and status."""

    name: str
    assign: list[AhoyAssign]
    ch_max_pwr: Sequence[int] = (400, 400)
    hms: bool = False
    values: list[np.float32] = field(default_factory=list)
    ts: int | None = None  # recordMeas.ts (t0 offset)
    sent: int = DATA_SENT  # recordMeas.mqttSentStatus
    status: int = OFF
    rssi: int = 0
    info: dict[str, tuple[int, int]] = field(default_factory=dict)  # cmd -> (ts, sent)
    radio: dict[str, int] = field(default_factory=dict)
    off_yd: list[float] = field(default_factory=lambda: [0.0] * 6)
    last_yd: list[float] = field(default_factory=lambda: [0.0] * 6)

    def __post_init__(self) -> None:
        self.values = [F32(0)] * len(self.assign)
        self.channels = max(a.ch for a in self.assign)
        self.radio = dict(
            tx=0,
            success=0,
            fail=0,
            no_answer=0,
            retransmits=0,
            lossIvRx=0,
            lossIvTx=0,
            lossDtuRx=0,
            lossDtuTx=0,
        )

    def get(self, ch: int, fld: str) -> np.float32:
        for a, v in zip(self.assign, self.values, strict=True):
            if a.ch == ch and a.field == fld:
                return v
        return F32(0)

    def _set(self, ch: int, fld: str, value: np.float32) -> None:
        for i, a in enumerate(self.assign):
            if a.ch == ch and a.field == fld:
                self.values[i] = value
                return

    def receive(self, raw: Reading, ts: int, now: int, rssi: int = 0) -> None:
        """Communication.h:593-600: ts, addValue per position, NEW_DATA, doCalculations."""
        flat: dict[str, int] = {
            "uac": raw.uac,
            "iac": raw.iac,
            "pac": raw.pac,
            "q": raw.q,
            "f": raw.f,
            "pf": raw.pf,
            "t": raw.t,
            "evt": raw.evt,
        }
        for i in range(len(raw.udc)):
            flat |= {
                f"udc{i}": raw.udc[i],
                f"idc{i}": raw.idc[i],
                f"pdc{i}": raw.pdc[i],
                f"yd{i}": raw.yd[i],
                f"yt{i}": raw.yt[i],
            }
        self.ts = ts
        for i, a in enumerate(self.assign):
            if a.src.startswith("calc:"):
                continue
            val = flat[a.src]
            if a.field in ("Temp", "Q_AC", "PF_AC"):
                v16 = val & 0xFFFF  # (int16_t)val
                self.values[i] = F32(F32(v16 - 0x10000 if v16 & 0x8000 else v16) / F32(a.div))
            elif a.field == "YieldTotal":
                self.values[i] = F32(F32(F32(val) / F32(a.div)) + F32(0))  # + yieldCor (0)
            elif a.field == "YieldDay":
                act = F32(F32(val) / F32(a.div))
                k = a.ch - 1
                if self.last_yd[k] > act:
                    self.off_yd[k] += self.last_yd[k]
                self.last_yd[k] = float(act)
                self.values[i] = F32(F32(self.off_yd[k]) + act)
            elif a.div > 1:
                self.values[i] = F32(F32(val) / F32(a.div))
            else:
                self.values[i] = F32(val)
            self.is_producing(now)
        self.sent = NEW_DATA
        self.rssi = rssi
        self.radio["tx"] += 1
        self.radio["success"] += 1
        self.calculate(now)

    def calculate(self, now: int) -> None:
        """hmInverter.h doCalculations and the calc functions at its end."""
        n = self.channels
        for i, a in enumerate(self.assign):
            if not a.src.startswith("calc:"):
                continue
            name = a.src[5:]
            if name in ("yt", "yd", "pdc"):
                fld = {"yt": "YieldTotal", "yd": "YieldDay", "pdc": "P_DC"}[name]
                acc = F32(0)
                for c in range(1, n + 1):
                    acc = F32(acc + self.get(c, fld))
                self.values[i] = acc
            elif name == "eff":
                ac = self.get(0, "P_AC")
                dcp = F32(0)
                for c in range(1, n + 1):
                    dcp = F32(dcp + self.get(c, "P_DC"))
                self.values[i] = F32(F32(ac / dcp) * F32(100.0)) if dcp > 0 else F32(0)
            elif name == "irr":
                mp = self.ch_max_pwr[a.ch - 1]
                self.values[i] = (
                    F32(F32(self.get(a.ch, "P_DC") / F32(mp)) * F32(100.0)) if mp > 0 else F32(0)
                )
            elif name in ("mpdc", "mpac"):
                p = self.get(a.ch, "P_DC" if name == "mpdc" else "P_AC")
                self.values[i] = p if p > self.values[i] else self.values[i]
            elif name == "mt":
                t = self.get(0, "Temp")
                self.values[i] = t if t > self.values[i] else self.values[i]

    def zero(self, skip_yield_day: bool = True) -> None:
        """app.cpp:422-469 zeroIvValues for this inverter: every field before FLD_EVT except
        the yields set to 0, alarms and the yield-day offsets reset, recalculated. The record's
        ts and mqttSentStatus stay as they are."""
        zeroed = (
            "U_DC",
            "I_DC",
            "P_DC",
            "U_AC",
            "I_AC",
            "P_AC",
            "F_AC",
            "Temp",
            "PF_AC",
            "Efficiency",
            "Irradiation",
            "Q_AC",
        )
        for i, a in enumerate(self.assign):
            if a.field in zeroed or (a.field == "YieldDay" and not skip_yield_day):
                self.values[i] = F32(0)
        self.off_yd = [0.0] * 6
        self.last_yd = [0.0] * 6
        self.calculate(0)

    def is_available(self, now: int) -> bool:
        """hmInverter.h:421-447."""
        if self.ts is None:
            return False
        avail = now - self.ts < INACT_THRES_S
        if avail:
            if self.status < PRODUCING:
                self.status = STARTING
        elif now - self.ts > OFF_THRES_S:
            self.status = OFF
        else:
            self.status = WAS_ON
        return avail

    def is_producing(self, now: int) -> bool:
        """hmInverter.h:449-462 (INACT_PWR_THRESH 0)."""
        producing = False
        if self.is_available(now):
            producing = float(self.get(0, "P_AC")) > 0
            if producing:
                self.status = PRODUCING
            elif self.status == PRODUCING:
                self.status = WAS_PRODUCING
        return producing

    def get_status(self, now: int) -> int:
        self.is_producing(now)
        return self.status


class AhoyDtu:
    """One AhoyDTU (base topic ``inverter``, retain on, plain or JSON mode, MQTT interval 0 =
    publish on new data: config.h:255, settings.h:472-475)."""

    TOPIC = "inverter"

    def __init__(
        self,
        steps: Steps,
        inverters: Sequence[AhoyInverter],
        *,
        json_mode: bool = False,
        ip: str = "192.168.1.74",
        uptime_s: int = 31_204,
    ) -> None:
        self.steps, self.inverters, self.json = steps, list(inverters), json_mode
        self.ip, self.uptime_s = ip, uptime_s
        self.last_state = {iv.name: OFF for iv in self.inverters}  # mLastIvState
        self.last_rtr_pub = {iv.name: 0 for iv in self.inverters}  # mIvLastRTRpub
        self.send_list: list[str] = []
        self.last_any_avail = False
        self.yld_total_store = 0.0
        self.max_power = F32(0)
        self.now = 0

    def pub(
        self, sub: str, payload: str, retain: bool = False, qos: int = 0, add_topic: bool = True
    ) -> None:
        """PubMqtt::publish (pubMqtt.h:229-244): ``<topic>/<sub>``, retain if enabled."""
        topic = f"{self.TOPIC}/{sub}" if add_topic else sub
        self.steps.publish(topic, payload, qos=qos, retain=retain)

    def connect(self) -> None:
        """PubMqtt::onConnect (pubMqtt.h:285-306) and tickerMinute (pubMqtt.h:159-170, ESP32)."""
        self.pub("version", "0.8.156")
        self.pub("device", "AHOY-DTU")
        self.pub("ip_addr", self.ip, True)
        self.minute()
        self.pub(f"{self.TOPIC}/mqtt", "connected", True, add_topic=False)

    def minute(self) -> None:
        self.pub("uptime", str(self.uptime_s))
        self.pub("wifi_rssi", "-58")
        self.pub("free_heap", "154820")
        self.pub("cpu_temp", "%.2f" % 51.43)  # noqa: UP031 (the firmware's printf format)

    def sun(self, sunrise: int, sunset: int) -> None:
        """PubMqtt::tickerSun (pubMqtt.h:172-194); offsets 0, communication enabled."""
        for key, value in (
            ("sunrise", sunrise),
            ("sunset", sunset),
            ("comm_start", sunrise),
            ("comm_stop", sunset),
        ):
            self.pub(key, tpl(value), True)
        for iv in self.inverters:
            self.pub(f"{iv.name}/dis_night_comm", "true", True)
        self.pub("comm_disabled", "false", True)

    def lwt_offline(self) -> None:
        """The will (pubMqtt.h:108): QoS 0, retained, ``not connected``."""
        self.steps.publish(f"{self.TOPIC}/mqtt", "not connected", qos=0, retain=True)

    # the data path ---------------------------------------------------------------------------

    def receive(self, iv: AhoyInverter, raw: Reading, ts: int, rssi: int = 0) -> None:
        """A RealTimeRunData answer; payloadEventListener queues it (pubMqtt.h:218-223)."""
        self.now = max(self.now, ts)
        iv.receive(raw, ts, self.now, rssi)
        pac = iv.get(0, "P_AC")
        self.max_power = pac if pac > self.max_power else self.max_power
        self.send_list.append(RTR)

    def receive_info(self, iv: AhoyInverter, cmd: str, ts: int) -> None:
        """A SystemConfigPara or DevInform_All answer (its own record, ts and NEW_DATA)."""
        self.now = max(self.now, ts)
        iv.info[cmd] = (ts, NEW_DATA)
        iv.radio["tx"] += 1
        iv.radio["success"] += 1
        self.send_list.append(cmd)

    def tick(self, now: int | None = None) -> None:
        """tickerSecond → sendIvData (pubMqtt.h:137-157, 663-673) and the SendIvData state
        machine run to its end (pubMqttIvData.h); repeated (the following seconds) while the
        send list still holds entries."""
        if now is not None:
            self.now = now
        self._ticker_second()
        for _ in range(5):
            if not self.send_list:
                break
            self._ticker_second()
        assert not self.send_list

    def _ticker_second(self) -> None:
        any_avail = self.process_iv_status()
        if self.last_any_avail != any_avail:
            self.send_list.append(RTR)
        if not self.send_list:
            return
        self.send_iv_data()
        self.last_any_avail = any_avail

    def process_iv_status(self) -> bool:
        """pubMqtt.h:550-591."""
        all_avail, any_avail, changed = True, False, False
        for iv in self.inverters:
            status = iv.get_status(self.now)
            if status > OFF:
                any_avail = True
            else:
                all_avail = False
            if self.last_state[iv.name] != status:
                if self.last_state[iv.name] == WAS_PRODUCING:
                    self.send_data(iv)
                self.last_state[iv.name] = status
                changed = True
                self.pub(f"{iv.name}/available", "%d" % status, True)  # noqa: UP031
        if changed:
            self.pub("status", str(2 if all_avail else 1 if any_avail else 0), True)
        return any_avail

    def send_data(self, iv: AhoyInverter) -> None:
        """pubMqtt.h:628-661: the RealTimeRunData record again, without last_success."""
        if self.json:
            return
        if iv.ts is None or iv.ts == self.last_rtr_pub[iv.name]:
            return
        self.last_rtr_pub[iv.name] = iv.ts
        for a, v in zip(iv.assign, iv.values, strict=True):
            retained = False
            if a.field in ("YieldTotal", "YieldDay"):
                if a.ch == 0 and not iv.is_producing(self.now):
                    continue
                retained = True
            self.pub(f"{iv.name}/ch{a.ch}/{a.field}", printf_g(round3(float(v))), retained)

    def send_iv_data(self) -> None:
        rtr_sent = False
        while self.send_list:
            cmd = self.send_list[0]
            if cmd == RTR and rtr_sent:
                self.send_list.pop(0)
                continue
            totals = [F32(0)] * 5
            total_found, all_total_found, any_unsent = False, True, False
            for iv in self.inverters:
                if cmd == RTR:
                    ts, sent = iv.ts or 0, iv.sent
                else:
                    ts, sent = iv.info.get(cmd, (0, DATA_SENT))
                if sent == NEW_DATA:  # pubMqttIvData.h:113-124
                    self.pub(f"{iv.name}/last_success", tpl(ts), True)
                    if iv.hms:
                        self.pub(f"{iv.name}/rssi", str(iv.rssi))
                    sent = LAST_SUCCESS_SENT
                iv.is_producing(self.now)
                if cmd == RTR:
                    for a, v in zip(iv.assign, iv.values, strict=True):
                        retained = a.field in ("YieldTotal", "YieldDay")
                        if a.ch == 0:
                            if iv.get_status(self.now) != OFF:
                                total_found = True
                                k = {"P_AC": 0, "YieldTotal": 1, "YieldDay": 2, "P_DC": 3}.get(
                                    a.field
                                )
                                if k is not None:
                                    totals[k] = F32(totals[k] + v)
                            else:
                                all_total_found = False
                        if sent == LAST_SUCCESS_SENT:
                            any_unsent = True
                            if not self.json and a.field != "ALARM_MES_ID":
                                self.pub(
                                    f"{iv.name}/ch{a.ch}/{a.field}",
                                    printf_g(round3(float(v))),
                                    retained,
                                )
                elif sent == LAST_SUCCESS_SENT:
                    any_unsent = True
                    self._send_info(iv, cmd)
                if sent == LAST_SUCCESS_SENT:
                    if self.json and cmd == RTR:
                        self._send_json_channels(iv)
                    r = iv.radio
                    self.pub(f"{iv.name}/radio_stat", json.dumps(r, separators=(",", ":")))
                    sent = DATA_SENT
                if cmd == RTR:
                    iv.sent = sent
                else:
                    iv.info[cmd] = (ts, sent)
            if cmd == RTR and total_found and any_unsent:
                send_yd = True
                if self.yld_total_store > float(totals[2]):
                    send_yd = False
                else:
                    self.yld_total_store = float(totals[2])
                rtr_sent = True
                totals[4] = self.max_power
                self._send_totals(totals, all_total_found, send_yd)
                self.send_list.pop(0)
                return  # stateSendTotals → IDLE: the rest waits for the next start()
            self.send_list.pop(0)

    def _send_info(self, iv: AhoyInverter, cmd: str) -> None:
        """pubMqttIvData.h:179-215 for SystemConfigPara and InverterDevInform_All."""
        if cmd == SYSTEM_CONFIG:
            if self.json:
                self.pub(f"{iv.name}/active_PowerLimit", "100", False, 2)
            else:
                self.pub(f"{iv.name}/ch0/active_PowerLimit", "100", False, 2)
        elif cmd == DEVINFO_ALL:
            text = (
                '{"version":10012,"build_year":"2021","build_month_day":1025,'
                '"build_hour_min":1837,"bootloader":1}'
            )
            for _ in range(5):  # once per position of InfoAssignment (hmDefines.h:150-156)
                self.pub(f"{iv.name}/firmware", text)

    def _send_json_channels(self, iv: AhoyInverter) -> None:
        """pubMqttIvData.h:220-242: one object per channel, with ``ts``, not retained."""
        doc: list[str] = []
        for pos, (a, v) in enumerate(zip(iv.assign, iv.values, strict=True)):
            doc.append(f'"{a.field}":{ajson_float(round3(float(v)))}')
            last = pos == len(iv.assign) - 1
            if last or iv.assign[pos + 1].ch != a.ch:
                doc.append(f'"ts":{tpl(iv.ts or 0)}')
                self.pub(f"{iv.name}/ch{a.ch}", "{" + ",".join(doc) + "}")
                doc = []

    def _send_totals(self, totals: list[np.float32], all_found: bool, send_yd: bool) -> None:
        """pubMqttIvData.h:266-326."""
        names = ["P_AC", "YieldTotal", "YieldDay", "P_DC", "MaxPower"]
        if self.json:
            body = ",".join(
                f'"{n}":{printf_g(round3(float(v)))}' for n, v in zip(names, totals, strict=True)
            )
            self.pub("total", "{" + body + "}", True)
            return
        for k, n in enumerate(names):
            if k == 1 and not all_found:
                continue
            if k == 2 and (not all_found or not send_yd):
                continue
            self.pub(f"total/{n}", printf_g(round3(float(totals[k]))), k in (1, 2))


def ahoy_fields(published: dict[str, str], available: str | None) -> dict[str, Any]:
    """The point fields the contract maps from one AhoyDTU cycle's ``ch<N>/<Field>`` payloads
    (suffix → text, or one JSON document per channel under ``ch<N>``), with the latest
    ``available`` seen before it."""
    fields: dict[str, Any] = {}
    flat: dict[str, float] = {}
    for suffix, text in published.items():
        parts = suffix.split("/")
        if len(parts) == 2 and parts[0].startswith("ch"):
            flat[suffix] = float(text)
        elif len(parts) == 1 and parts[0].startswith("ch"):
            for key, value in json.loads(untemplate(text)).items():
                if key != "ts":
                    flat[f"{parts[0]}/{key}"] = float(value)
        elif suffix == "rssi":
            fields["rssi_dbm"] = float(text)
    names = {
        "ch0/P_AC": ("ac_power_w", 1.0),
        "ch0/U_AC": ("ac_voltage_v", 1.0),
        "ch0/I_AC": ("ac_current_a", 1.0),
        "ch0/F_AC": ("ac_freq_hz", 1.0),
        "ch0/Temp": ("temp_c", 1.0),
        "ch0/YieldTotal": ("energy_total_wh", 1000.0),
        "ch0/YieldDay": ("energy_today_wh", 1.0),
    }
    for n in range(1, 7):
        names |= {
            f"ch{n}/U_DC": (f"dc{n}_voltage_v", 1.0),
            f"ch{n}/I_DC": (f"dc{n}_current_a", 1.0),
            f"ch{n}/P_DC": (f"dc{n}_power_w", 1.0),
        }
    for key, (name, scale) in names.items():
        if key in flat:
            fields[name] = flat[key] * scale
    if available is not None:
        fields["status"] = {"0": "off", "1": "starting", "2": "producing"}.get(available, "standby")
    return fields


class Recorder:
    """Collects ``(suffix → payload)`` of one gateway inverter between two marks, to build the
    expected point of a cycle from exactly what was published."""

    def __init__(self, steps: Steps, prefix: str) -> None:
        self.steps, self.prefix = steps, prefix
        self.mark = len(steps.items)

    def start(self) -> None:
        self.mark = len(self.steps.items)

    def since(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.steps.items[self.mark :]:
            topic = item.get("publish", "")
            if topic.startswith(self.prefix):
                out[topic[len(self.prefix) :]] = item["payload"]
        return out
