"""Write the golden gateway cases (``<gateway>/<case>/steps.jsonl``, ``expected.json``,
``README.md``) and ``fleet.csv`` from the firmware models in ``firmware.py``.

    .venv/bin/python tests/firmware_bridge/testdata/gateways/generate.py          # (re)write
    .venv/bin/python tests/firmware_bridge/testdata/gateways/generate.py --check  # compare only

The expected points are written by hand per case, following the bridge's contract for DTU
gateways (the brief of these cases): one point per new reading at the gateway's own timestamp,
mapped fields only, nothing from retained replays. Each ``README.md`` names the source lines the
messages follow and, where the firmware does something the contract does not foresee, says so.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from firmware import (
    AHOY_HM2CH,
    DEVINFO_ALL,
    HM_2CH,
    HM_4CH,
    HMS_4CH,
    SYSTEM_CONFIG,
    AhoyDtu,
    AhoyInverter,
    DevInfo,
    OpenDtu,
    OpenDtuInverter,
    Recorder,
    Steps,
    ahoy_fields,
    onbattery_topics,
    opendtu_fields,
    reading,
    tpl,
)

HERE = Path(__file__).resolve().parent

# -- the fleet ------------------------------------------------------------------------------------

FLEET_COLUMNS = [
    "plant_id",
    "latitude",
    "longitude",
    "altitude_m",
    "province",
    "dc_kwp",
    "ac_kw",
    "tilt_deg",
    "azimuth_deg",
    "racking",
    "gamma_pdc_per_c",
    "losses_pct",
    "inverter_type",
    "battery_kwh",
    "outage_zone",
    "essential_load_w",
    "inverter_serial",
    "inverter_name",
]

DTU_HM800 = "114183561207"  # HM-800: HM_2CH::isValidSerial (0x1141...)
DTU_HMS2000 = "116491827364"  # HMS-2000-4T: HMS_4CH::isValidSerial (0x1164...)
DTU_PAIR_HM800 = "114184420981"
DTU_PAIR_HM1500 = "116182710493"  # HM-1500: HM_4CH::isValidSerial (0x1161...)
DTU_STRANGER = "114187770312"  # an HM-800 on the same OpenDTU, not in the fleet
AHOY_NAME = "Roof East"
AHOY_JSON_NAME = "HM800-Mashhad"
AHOY_STRANGER = "Neighbour"

PLANTS: dict[str, dict[str, Any]] = {
    "THR-DTU-001": dict(
        latitude=35.7448,
        longitude=51.3753,
        altitude_m=1230,
        province="Tehran",
        dc_kwp=0.82,
        ac_kw=0.8,
        tilt_deg=30,
        azimuth_deg=180,
        inverter_serial=DTU_HM800,
        inverter_name="",
    ),
    "ISF-DTU-002": dict(
        latitude=32.6546,
        longitude=51.6680,
        altitude_m=1574,
        province="Isfahan",
        dc_kwp=2.0,
        ac_kw=2.0,
        tilt_deg=28,
        azimuth_deg=175,
        inverter_serial=DTU_HMS2000,
        inverter_name="",
    ),
    "SHZ-AHY-003": dict(
        latitude=29.5918,
        longitude=52.5837,
        altitude_m=1540,
        province="Fars",
        dc_kwp=0.82,
        ac_kw=0.8,
        tilt_deg=25,
        azimuth_deg=90,
        inverter_serial="",
        inverter_name=AHOY_NAME,
    ),
    "MHD-AHY-004": dict(
        latitude=36.2605,
        longitude=59.6168,
        altitude_m=995,
        province="Khorasan Razavi",
        dc_kwp=0.82,
        ac_kw=0.8,
        tilt_deg=32,
        azimuth_deg=180,
        inverter_serial="",
        inverter_name=AHOY_JSON_NAME,
    ),
    "TBZ-DTU-005": dict(
        latitude=38.0800,
        longitude=46.2919,
        altitude_m=1351,
        province="آذربایجان شرقی",
        dc_kwp=2.46,
        ac_kw=2.3,
        tilt_deg=35,
        azimuth_deg=185,
        inverter_serial=f"{DTU_PAIR_HM800};{DTU_PAIR_HM1500}",
        inverter_name="",
    ),
}


def fleet_csv() -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FLEET_COLUMNS)
    defaults = dict(
        racking="open_rack",
        gamma_pdc_per_c=-0.004,
        losses_pct=14.08,
        inverter_type="grid_tied",
        battery_kwh=0.0,
        outage_zone="",
        essential_load_w="",
    )
    for pid, row in PLANTS.items():
        full = {"plant_id": pid, **defaults, **row}
        w.writerow([full[c] for c in FLEET_COLUMNS])
    return buf.getvalue()


def tags(plant_id: str, inverter: str | None = None) -> dict[str, str]:
    out = {"plant_id": plant_id, "province": PLANTS[plant_id]["province"]}
    if inverter is not None:
        out["inverter"] = inverter
    return out


# -- cases -----------------------------------------------------------------------------------------


@dataclass
class Case:
    gateway: str
    name: str
    readme: str
    steps: Steps = field(default_factory=Steps)
    points: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, dict[str, Any]] = field(default_factory=dict)
    quarantine: dict[str, int] = field(default_factory=dict)

    def point(
        self, time_offset: int, plant_id: str, fields: dict[str, Any], inverter: str | None = None
    ) -> None:
        clean = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in fields.items()}
        self.points.append(
            {"time": tpl(time_offset), "tags": tags(plant_id, inverter), "fields": clean}
        )

    def expected(self) -> dict[str, Any]:
        def key(p: dict[str, Any]) -> tuple[int, str]:
            t = p["time"][3:-1]
            return (int(t) if t else 0, json.dumps(p["tags"], sort_keys=True))

        return {
            "points": sorted(self.points, key=key),
            "status": self.status,
            "quarantine": self.quarantine,
        }


CASES: list[Callable[[], Case]] = []


def case(fn: Callable[[], Case]) -> Callable[[], Case]:
    CASES.append(fn)
    return fn


OPENDTU_SRC = (
    "OpenDTU b6f0353b: src/MqttHandleInverter.cpp:43-112 (the per-inverter cycle: "
    "name :46, radio/* :49-55, device/* :57-72, status/limit_* :74-82, "
    "status/reachable and producing :84-85, status/last_update :87-91, the values "
    "only when the statistics changed :93-112 in the AC, DC, INV order of "
    "StatisticsParser::getChannelTypes and the field order of _publishFields, "
    "include/MqttHandleInverter.h:29-44; DC inputs numbered from 1 :145), "
    "src/MqttSettings.cpp:210-219 (base topic, trimmed payload, QoS 0, retain = "
    "config, default true: include/defaults.h:40-41), StatisticsParser.cpp:231-236 "
    "(String(value, digits) of the byte assignment), src/MqttHandleDtu.cpp:35-50 "
    "and src/MqttHandleInverterTotal.cpp:35-41 (DTU-wide dtu/*, ac/*, dc/*)"
)
AHOY_SRC = (
    "AhoyDTU c4fe30f1 (0.8.156): src/publisher/pubMqtt.h:285-306 (onConnect: version, "
    "device, ip_addr, uptime, wifi_rssi, free_heap, cpu_temp, the LWT topic <topic>/mqtt "
    "'connected'), :172-194 (sunrise, sunset, comm_*, <name>/dis_night_comm), "
    ":550-591 (processIvStatus: <name>/available retained on change, status), "
    "src/publisher/pubMqttIvData.h:95-139 (<name>/last_success retained, only for "
    'NEW_DATA), :141-249 (per field <name>/ch<N>/<Field> as "%g" of round3, YieldDay '
    "and YieldTotal retained :152-153, ALARM_MES_ID skipped :213, radio_stat "
    ":251-264), :266-326 (total/*), src/hm/hmDefines.h:221-253 (hm2chAssignment of "
    "the HM-800), src/utils/helper.cpp:41-43 (round3); defaults topic 'inverter', "
    "retain on, JSON off, interval 0 (src/config/config.h:255, "
    "src/config/settings.h:472-475)"
)


def hm800(serial: str = DTU_HM800, name: str = "HM-800 Bam", **kw: Any) -> OpenDtuInverter:
    return OpenDtuInverter(
        serial,
        name,
        HM_2CH,
        channel_names=["South", "West"],
        string_max_power=[410, 410],
        devinfo=DevInfo(),
        **kw,
    )


MIDDAY = [
    reading(
        [(34.2, 6.12), (33.8, 5.98)],
        uac=230.4,
        freq=50.0,
        temp=38.4,
        yd=[1012, 987],
        yt_kwh=[1234.567, 1198.234],
        q=-0.3,
        pf=0.998,
    ),
    reading(
        [(34.1, 6.18), (33.7, 6.02)],
        uac=230.6,
        freq=49.99,
        temp=38.6,
        yd=[1013, 988],
        yt_kwh=[1234.568, 1198.235],
        q=0.0,
        pf=1.0,
    ),
    reading(
        [(34.0, 6.21), (33.7, 6.07)],
        uac=230.9,
        freq=50.01,
        temp=38.9,
        yd=[1014, 989],
        yt_kwh=[1234.569, 1198.236],
    ),
    reading(
        [(33.9, 6.25), (33.6, 6.11)],
        uac=231.2,
        freq=50.02,
        temp=39.1,
        yd=[1015, 990],
        yt_kwh=[1234.570, 1198.237],
    ),
    reading(
        [(33.9, 6.24), (33.5, 6.13)],
        uac=230.8,
        freq=50.0,
        temp=39.2,
        yd=[1016, 991],
        yt_kwh=[1234.571, 1198.238],
    ),
]


def opendtu_case(name: str, readme: str, inverters: list[OpenDtuInverter]) -> tuple[Case, OpenDtu]:
    c = Case("opendtu", name, readme)
    return c, OpenDtu(c.steps, inverters)


@case
def opendtu_hm800_cycle() -> Case:
    c, dtu = opendtu_case(
        "hm800_cycle",
        (
            "An OpenDTU with one HM-800 (two DC inputs) right after "
            "connecting: dtu/status 'online' "
            "(src/MqttSettings.cpp:33-37), then two full 5-s publish "
            "intervals, each DTU-wide dtu/* "
            "first, the inverter's cycle, then ac/* and dc/* totals (scheduler order, src/main.cpp:"
            "109-111), every message retained at QoS 0. " + OPENDTU_SRC + ". Both cycles carry new "
            "statistics (last_update {t0} and {t0+5}), so each is one point."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    dtu.connect()
    for k, at in enumerate((0, 5)):
        inv.stats(MIDDAY[k], at)
        out = dtu.cycle()
        c.point(at, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
        c.steps.sleep(0.5)
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def opendtu_hms2000_cycle() -> Case:
    inv = OpenDtuInverter(
        DTU_HMS2000,
        "HMS-2000 Isfahan",
        HMS_4CH,
        channel_names=["A East", "B East", "C West", "D West"],
        string_max_power=[500, 500, 500, 500],
        devinfo=DevInfo(fw_build=10112, hw_part=0x10127101, max_power=2000),
        cmt=True,
    )
    c, dtu = opendtu_case(
        "hms2000_cycle",
        (
            "An OpenDTU with one HMS-2000-4T (four DC inputs, CMT radio: a real RSSI in dBm, "
            "HoymilesRadio_CMT.cpp:146) for two publish intervals. Byte assignment and digits: "
            "lib/Hoymiles/src/inverters/HMS_4CH.cpp:7-50; serial 1164...: HMS_4CH::isValidSerial "
            ":57-62; model from the hardware part number 0x10127101 (DevInfoParser.cpp devInfo[]). "
            + OPENDTU_SRC
            + "."
        ),
        [inv],
    )
    rs = [
        reading(
            [(38.1, 9.42), (38.3, 9.37), (36.9, 8.11), (37.2, 8.02)],
            uac=229.7,
            freq=50.0,
            temp=44.2,
            yd=[1820, 1811, 1402, 1397],
            yt_kwh=[612.402, 611.877, 540.215, 538.904],
        ),
        reading(
            [(38.0, 9.47), (38.2, 9.41), (36.8, 8.16), (37.1, 8.09)],
            uac=229.9,
            freq=50.01,
            temp=44.5,
            yd=[1821, 1812, 1403, 1398],
            yt_kwh=[612.403, 611.878, 540.216, 538.905],
        ),
    ]
    dtu.connect()
    for k, at in enumerate((0, 5)):
        inv.stats(rs[k], at, rssi=-71 + k)
        out = dtu.cycle()
        c.point(at, "ISF-DTU-002", opendtu_fields(out[DTU_HMS2000]))
        c.steps.sleep(0.5)
    c.status["ISF-DTU-002"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def opendtu_unchanged_cycle() -> Case:
    c, dtu = opendtu_case(
        "unchanged_cycle",
        (
            "Four publish intervals of an HM-800 where every other poll gets no answer "
            "(RealTimeRunDataCommand::gotTimeout, RealTimeRunDataCommand.cpp:76: one failure keeps "
            "it reachable, REACHABLE_THRESHOLD 2). Those cycles publish status/last_update but no "
            "values, because getLastUpdateFromInternal() did not change (MqttHandleInverter.cpp:"
            "93-95), and their last_update moves by one second, {t0+1} after {t0} and {t0+9} after "
            "{t0+10}: it is computed as time(0) - (millis() - lastUpdate) / 1000 "
            "(MqttHandleInverter.cpp:88), whole seconds of two clocks. "
            "Only the two cycles with new "
            "statistics are readings. " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    inv.stats(MIDDAY[0], 0)
    out = dtu.cycle()
    c.point(0, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.sleep(0.5)
    inv.timeout()
    dtu.cycle(jitter={DTU_HM800: +1})
    c.steps.sleep(0.5)
    inv.stats(MIDDAY[1], 10)
    out = dtu.cycle()
    c.point(10, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.sleep(0.5)
    inv.timeout()
    dtu.cycle(jitter={DTU_HM800: -1})
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


DUSK_READING = reading(
    [(19.2, 0.0), (18.7, 0.0)],
    uac=229.1,
    freq=50.0,
    temp=17.3,
    yd=[1562, 1533],
    yt_kwh=[1233.555, 1197.251],
    pac=0.0,
)


@case
def opendtu_dawn() -> Case:
    c, dtu = opendtu_case(
        "dawn",
        (
            "Night to morning on an OpenDTU polling at night (Poll_Enable_Night defaults to true, "
            "src/Configuration.cpp:333). At night the HM-800 has no DC power and does not answer: "
            "status/reachable 0, status/producing 0 (the last statistics, from the evening, had "
            "0 W: InverterAbstract.cpp:66-76), status/last_update still the evening's reading "
            "({t0-41000}, ±1 s) and no values. At dawn it answers again: the failure count is "
            "reset (RealTimeRunDataCommand.cpp:69-70), reachable 1, and the first reading still "
            "has 0 W AC (standby), the next ones produce; the inverter restarted its own day "
            "counters (1/yieldday, 2/yieldday 0). " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    inv.stats(DUSK_READING, -41000)
    inv.published_internal = inv.internal  # published yesterday evening
    # counters since midnight (performDailyTask resets them): two requests per 5-s poll, no answer
    inv.radio = dict(
        tx_request=8642,
        tx_re_request=0,
        rx_success=0,
        rx_fail_nothing=8642,
        rx_fail_partial=0,
        rx_fail_corrupt=0,
    )
    inv.failures = 7409
    for j in (0, 1):
        inv.timeout()
        dtu.cycle(jitter={DTU_HM800: j})
        c.steps.sleep(0.5)
    yt = [1233.555, 1197.251]
    dawn = [
        reading(
            [(22.4, 0.02), (21.9, 0.01)],
            uac=229.8,
            freq=50.01,
            temp=9.2,
            yd=[0, 0],
            yt_kwh=yt,
            pac=0.0,
        ),
        reading([(27.8, 0.14), (27.1, 0.12)], uac=230.1, freq=50.0, temp=9.4, yd=[0, 0], yt_kwh=yt),
        reading(
            [(29.6, 0.41), (29.2, 0.38)],
            uac=230.3,
            freq=49.99,
            temp=9.7,
            yd=[1, 0],
            yt_kwh=[1233.556, 1197.251],
        ),
    ]
    for k, at in enumerate((0, 5, 10)):
        inv.stats(dawn[k], at)
        out = dtu.cycle()
        c.point(at, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
        c.steps.sleep(0.5)
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def opendtu_dusk() -> Case:
    c, dtu = opendtu_case(
        "dusk",
        (
            "Evening: three readings of falling power, the last with 0 W AC (reachable 1, "
            "producing 0: standby), then the HM-800 stops answering. The first two cycles without "
            "answer are still reachable (failures 1 and 2 <= REACHABLE_THRESHOLD 2, "
            "include/defaults.h:108, InverterAbstract.cpp:78-81) and carry only last_update "
            "({t0+10}, then {t0+11}); from the third failure on status/reachable is 0 "
            "(InverterAbstract.cpp:78-81). No cycle after the last answer has values "
            "(MqttHandleInverter.cpp:93-95). " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    rs = [
        reading(
            [(28.4, 0.52), (27.9, 0.47)],
            uac=229.6,
            freq=50.0,
            temp=21.4,
            yd=[1560, 1531],
            yt_kwh=[1233.553, 1197.249],
        ),
        reading(
            [(24.1, 0.09), (23.8, 0.07)],
            uac=229.4,
            freq=50.01,
            temp=19.8,
            yd=[1561, 1532],
            yt_kwh=[1233.554, 1197.250],
        ),
        DUSK_READING,
    ]
    for k, at in enumerate((0, 5, 10)):
        inv.stats(rs[k], at)
        out = dtu.cycle()
        c.point(at, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
        c.steps.sleep(0.5)
    for j in (0, 1, 0, 1):
        inv.timeout()
        dtu.cycle(jitter={DTU_HM800: j})
        c.steps.sleep(0.5)
    c.status["THR-DTU-001"] = {"producing": False, "online": True, "ac_power_w": 0.0}
    return c


@case
def opendtu_night() -> Case:
    inv = hm800(zero_day=True)
    c, dtu = opendtu_case(
        "night",
        (
            "An OpenDTU set not to poll at night (Poll_Enable_Night false: setEnablePolling(false) "
            "after sunset, src/InverterSettings.cpp:124) and to zero the yield day at midnight "
            "(ZeroYieldDayOnMidnight). The evening reading at {t0} is a point; after sunset "
            "reachable and producing are 0 because polling is off (InverterAbstract.cpp:66-81) "
            "and the totals leave the inverter out (src/Datastore.cpp:95-112); the statistics are "
            "still requested, Command_Enable_Night being on by default (src/Configuration.cpp:335, "
            "Hoymiles.cpp:69), and time out: the radio counters keep rising. At midnight "
            "InverterAbstract::performDailyTask (:286-298, called from Hoymiles.cpp:136-150) "
            "zeroes the yield day (StatisticsParser::zeroDailyData → zeroFields, which also calls "
            "setLastUpdateFromInternal(millis()), StatisticsParser.cpp:370-383) and resets the "
            "radio counters, so the next cycle republishes every value, yieldday 0, under the "
            "evening's last_update ({t0+1}: ±1 s) with reachable 0: no new reading. "
            + OPENDTU_SRC
            + "."
        ),
        [inv],
    )
    evening = reading(
        [(21.3, 0.08), (20.9, 0.06)],
        uac=229.2,
        freq=50.0,
        temp=18.1,
        yd=[1544, 1518],
        yt_kwh=[1233.537, 1197.236],
    )
    inv.stats(evening, 0)
    out = dtu.cycle()
    c.point(0, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.sleep(0.5)
    inv.polling = False
    for j in (0, 1):
        inv.timeout()
        dtu.cycle(jitter={DTU_HM800: j})
        c.steps.sleep(0.5)
    inv.midnight()
    inv.timeout()
    dtu.cycle(jitter={DTU_HM800: 1})
    c.steps.sleep(0.5)
    inv.timeout()
    dtu.cycle(jitter={DTU_HM800: 0})
    c.status["THR-DTU-001"] = {"producing": False, "online": True, "ac_power_w": 0.0}
    return c


@case
def opendtu_polling_off_readings() -> Case:
    c, dtu = opendtu_case(
        "polling_off_readings",
        (
            "Readings with status/reachable 0. An OpenDTU set not to poll at night "
            "(Poll_Enable_Night false) keeps Command_Enable_Night on, the default "
            "(src/Configuration.cpp:335): Hoymiles.cpp:69-80 requests the statistics whenever "
            "polling OR commands are enabled, while isReachable and isProducing require polling "
            "(InverterAbstract.cpp:66-81; setEnablePolling from the computed day period, "
            "src/InverterSettings.cpp:124). So between the inverter's real start and OpenDTU's "
            "computed sunrise — nautical by default (src/SunPosition.cpp:83-96), and for the "
            "default location in Germany (include/defaults.h:31-32) unless the owner set "
            "Iran's, i.e. hours late in Tehran — every answer is a full cycle with a new "
            "last_update and values, but reachable 0 and producing 0. Readings at {t0}, {t0+5}, "
            "{t0+10} come that way; at {t0+15} the day period has begun (reachable 1, producing "
            "1). The gateway measured all four, so all four are expected as points, the first "
            "three without a status field (the contract's statuses need reachable 1); this "
            "contradicts the rule that a cycle with status/reachable 0 never makes a point. "
            + OPENDTU_SRC
            + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    inv.polling = False
    yt = [1232.871, 1196.552]
    rs = [
        reading(
            [(31.2, 1.12), (30.7, 1.05)], uac=230.2, freq=50.0, temp=12.4, yd=[11, 9], yt_kwh=yt
        ),
        reading(
            [(31.5, 1.24), (31.0, 1.16)], uac=230.3, freq=50.01, temp=12.7, yd=[11, 10], yt_kwh=yt
        ),
        reading(
            [(31.7, 1.37), (31.2, 1.29)],
            uac=230.1,
            freq=50.0,
            temp=13.1,
            yd=[11, 10],
            yt_kwh=[1232.872, 1196.552],
        ),
        reading(
            [(31.9, 1.51), (31.4, 1.42)],
            uac=230.4,
            freq=49.99,
            temp=13.6,
            yd=[12, 10],
            yt_kwh=[1232.872, 1196.553],
        ),
    ]
    for k, at in enumerate((0, 5, 10, 15)):
        if at == 15:
            inv.polling = True
        inv.stats(rs[k], at)
        out = dtu.cycle()
        c.point(at, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
        c.steps.sleep(0.5)
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def opendtu_zero_runtime() -> Case:
    inv = hm800(zero_runtime=True)
    c, dtu = opendtu_case(
        "zero_runtime",
        (
            "ZeroRuntimeDataIfUnrechable on (src/Configuration.cpp:337, "
            "src/InverterSettings.cpp:89). Two readings, then no answers: failures 1 and 2 keep it "
            "reachable; after the third, status/reachable is 0 while status/producing is still 1 "
            "(isProducing looks at the stored AC power only, InverterAbstract.cpp:66-76). At the "
            "next poll Hoymiles.cpp:65-67 zeroes the runtime fields (StatisticsParser::"
            "zeroRuntimeData, runtimeFields :36-56: voltages, currents, powers, frequency, "
            "temperature, power factor, reactive power; the yields stay) and zeroFields sets "
            "lastUpdateFromInternal (:382), so every following cycle republishes all values as "
            "zeros under the last real reading's last_update ({t0+5}, ±1 s) with reachable 0 — "
            "at every poll again, as long as the inverter stays unreachable. " + OPENDTU_SRC + "."
        ),
        [inv],
    )
    for k, at in enumerate((0, 5)):
        inv.stats(MIDDAY[k], at)
        out = dtu.cycle()
        c.point(at, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
        c.steps.sleep(0.5)
    for j in (1, 0, 0, 1, 0):
        inv.poll()
        inv.timeout()
        dtu.cycle(jitter={DTU_HM800: j})
        c.steps.sleep(0.5)
    c.status["THR-DTU-001"] = {"producing": False, "online": True, "ac_power_w": 0.0}
    return c


@case
def opendtu_unreachable() -> Case:
    c, dtu = opendtu_case(
        "unreachable",
        (
            "Mid-day the HM-800 stops answering (radio trouble; "
            "ZeroRuntimeDataIfUnrechable off, the "
            "default, src/Configuration.cpp:337). After the third failed poll status/reachable is "
            "0 (InverterAbstract.cpp:78-81, REACHABLE_THRESHOLD 2), but status/producing stays 1: "
            "isProducing only looks at the last stored AC power "
            "(InverterAbstract.cpp:66-76), which "
            "nothing clears. last_update keeps the last reading's time ({t0+5}, ±1 s), no values. "
            "The case ends unreachable. " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    for k, at in enumerate((0, 5)):
        inv.stats(MIDDAY[k], at)
        out = dtu.cycle()
        c.point(at, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
        c.steps.sleep(0.5)
    for j in (0, 1, 0, 1):
        inv.poll()
        inv.timeout()
        dtu.cycle(jitter={DTU_HM800: j})
        c.steps.sleep(0.5)
    c.status["THR-DTU-001"] = {"online": True, "ac_power_w": 0.0}
    return c


@case
def opendtu_gateway_reboot() -> Case:
    c, dtu = opendtu_case(
        "gateway_reboot",
        (
            "An OpenDTU reboots (power cut of the DTU only). Before: a normal cycle at {t0}. The "
            "broker publishes its will, dtu/status 'offline', QoS 2, retained "
            "(src/MqttSettings.cpp:155); the DTU connects again, publishes 'online' (:33-37), and "
            "until the first statistics after boot (no polling before NTP time: Hoymiles.cpp:76) "
            "every cycle has status/last_update 0 (MqttHandleInverter.cpp:89-90), no values, the "
            "radio counters from 0, radio/rssi -127 (InverterAbstract.h:139), no device/* nor "
            "limits yet (:57, :74) — and status/reachable 1, producing 0: the failure count starts "
            "at 0, so isReachable is true before the inverter was ever asked "
            "(InverterAbstract.cpp:78-81). Then the first reading ({t0+30}) with the limit "
            "(requested in the same poll), the next one ({t0+35}) with device/* as well (DevInfo "
            "is requested once statistics exist, Hoymiles.cpp:96-113). " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    dtu.connect()
    inv.stats(MIDDAY[0], 0)
    out = dtu.cycle()
    c.point(0, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.sleep(0.5)
    dtu.lwt_offline()
    c.steps.gateway("reconnect")
    fresh = hm800(limit_percent=100.0)
    fresh.devinfo_known = fresh.sysconfig_known = False
    dtu2 = OpenDtu(c.steps, [fresh], uptime_s=4)
    dtu2.heap_free = 187_112
    dtu2.connect()
    for _ in range(2):
        dtu2.cycle()
        c.steps.sleep(0.5)
    fresh.sysconfig_known = True
    fresh.stats(MIDDAY[1], 30)
    out = dtu2.cycle()
    c.point(30, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.sleep(0.5)
    fresh.devinfo_known = True
    fresh.stats(MIDDAY[2], 35)
    out = dtu2.cycle()
    c.point(35, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def opendtu_bridge_restart() -> Case:
    c, dtu = opendtu_case(
        "bridge_restart",
        (
            "The bridge stops after the reading at {t0}; the DTU publishes the {t0+5} cycle while "
            "no bridge is subscribed (QoS 0: the broker does not queue "
            "it for the bridge's session, "
            "mosquitto's queue_qos0_messages is off). When the bridge subscribes again the broker "
            "replays every retained topic — OpenDTU retains everything by default "
            "(include/defaults.h:41, src/MqttSettings.cpp:218) — so it receives the whole {t0+5} "
            "cycle (last_update, every value) with the retain flag set: no point. Then a live "
            "cycle at {t0+10}; then a plain bridge restart (replay of "
            "the {t0+10} cycle), and a live "
            "cycle at {t0+15}. " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    dtu.connect()
    inv.stats(MIDDAY[0], 0)
    out = dtu.cycle()
    c.point(0, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.bridge("stop")
    inv.stats(MIDDAY[1], 5)
    dtu.cycle()
    c.steps.bridge("start")
    inv.stats(MIDDAY[2], 10)
    out = dtu.cycle()
    c.point(10, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.bridge("restart")
    inv.stats(MIDDAY[3], 15)
    out = dtu.cycle()
    c.point(15, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def opendtu_onbattery_topics() -> Case:
    c, dtu = opendtu_case(
        "onbattery_topics",
        (
            "OpenDTU-OnBattery (hoylabs 1bfc0cc6) publishes the same inverter cycle — its "
            "src/MqttHandleInverter.cpp and src/MqttHandleDtu.cpp are "
            "identical to OpenDTU's — and, "
            "under the same base topic solar/, its own devices: battery/* (src/battery/Stats.cpp:"
            "95-121, src/battery/pylontech/Stats.cpp:45-71), victron/<SER>/* of a Victron MPPT "
            "(src/solarcharger/victron/Stats.cpp:373-422: the second level is 'victron', the third "
            "the charger's serial), huawei/* (src/gridcharger/huawei/Stats.cpp:19-86), "
            "powermeter/* (src/powermeter/Provider.cpp:32-55) and powerlimiter/status/* "
            "(src/MqttHandlePowerLimiter.cpp:90-117); String(float) has two decimals, and the "
            "MPPT's empty FWE field is a zero-length payload. None of them "
            "is an inverter: nothing stored, nothing quarantined. " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    dtu.connect()
    for k, at in enumerate((0, 5)):
        inv.stats(MIDDAY[k], at)
        out = dtu.cycle()
        onbattery_topics(dtu)
        c.point(at, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
        c.steps.sleep(0.5)
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def opendtu_unknown_serial() -> Case:
    stranger = hm800(DTU_STRANGER, "HM-800 Hamsayeh")
    c, dtu = opendtu_case(
        "unknown_serial",
        (
            "One OpenDTU serves the plant's HM-800 and a neighbour's HM-800 (serial "
            f"{DTU_STRANGER}, valid for HM_2CH::isValidSerial, HM_2CH.cpp:44-63) that the fleet "
            "does not list. Hoymiles.cpp:54-126 polls one inverter per poll interval, so the two "
            "alternate: each cycle publishes both inverters (MqttHandleInverter.cpp:40-115), one "
            "with new values, the other only its status and last_update. The stranger sends dozens "
            "of messages; it is quarantined once (unknown_plant), its readings are not stored. "
            + OPENDTU_SRC
            + "."
        ),
        [hm800(), stranger],
    )
    inv = dtu.inverters[0]
    other = [
        reading(
            [(31.2, 4.41), (30.8, 4.37)],
            uac=230.4,
            freq=50.0,
            temp=35.0,
            yd=[702, 688],
            yt_kwh=[845.117, 840.902],
        ),
        reading(
            [(31.1, 4.45), (30.8, 4.40)],
            uac=230.6,
            freq=49.99,
            temp=35.2,
            yd=[703, 689],
            yt_kwh=[845.118, 840.903],
        ),
    ]
    inv.stats(MIDDAY[0], 0)
    stranger.stats(other[0], -5)
    out = dtu.cycle()
    c.point(0, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.sleep(0.5)
    stranger.stats(other[1], 5)
    dtu.cycle(jitter={DTU_HM800: 1})
    c.steps.sleep(0.5)
    inv.stats(MIDDAY[1], 10)
    out = dtu.cycle(jitter={DTU_STRANGER: -1})
    c.point(10, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    c.quarantine = {"unknown_plant": 1}
    return c


@case
def opendtu_bad_value() -> Case:
    c, dtu = opendtu_case(
        "bad_value",
        (
            "Fault injection: the first cycle's 0/temperature is 'nan', the text String(NAN) gives "
            "(the core's dtostrf prints 'nan' for NaN, cores/esp32/stdlib_noniso.c; "
            "StatisticsParser.cpp:231-236). Note: in OpenDTU b6f0353b no inverter field can be "
            "NaN — every value is an integer of the payload divided by a constant "
            "(StatisticsParser.cpp:146-188) and the computed ones guard their divisions "
            "(:427-453) — so this stands for a corrupted or foreign publisher, not a firmware "
            "path. The reading is stored without temp_c and the value quarantined as non_finite; "
            "the second cycle is normal. " + OPENDTU_SRC + "."
        ),
        [hm800()],
    )
    inv = dtu.inverters[0]
    inv.stats(MIDDAY[0], 0)
    out = dtu.cycle(override={DTU_HM800: {"0/temperature": "nan"}})
    c.point(0, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.steps.sleep(0.5)
    inv.stats(MIDDAY[1], 5)
    out = dtu.cycle()
    c.point(5, "THR-DTU-001", opendtu_fields(out[DTU_HM800]))
    c.status["THR-DTU-001"] = {"inverter_status": "producing", "producing": True, "online": True}
    c.quarantine = {"non_finite": 1}
    return c


@case
def opendtu_two_inverters_one_plant() -> Case:
    a = hm800(DTU_PAIR_HM800, "HM-800 Shomali")
    b = OpenDtuInverter(
        DTU_PAIR_HM1500,
        "HM-1500 Jonubi",
        HM_4CH,
        channel_names=["", "", "", ""],
        string_max_power=[0, 0, 0, 0],
        devinfo=DevInfo(fw_build=10012, hw_part=0x10123001, max_power=1500),
    )
    c, dtu = opendtu_case(
        "two_inverters_one_plant",
        (
            "One plant, two inverters on one OpenDTU: an HM-800 and an HM-1500 "
            "(lib/Hoymiles/src/inverters/HM_4CH.cpp:7-50: inputs 2 and 4 have no voltage of their "
            "own, CALC_CH_UDC copies inputs 1 and 3; no string max power set, so irradiation is 0, "
            "StatisticsParser.cpp:446-453; its inputs have no names, the default, so n/name is an "
            "empty retained payload, MqttHandleInverter.cpp:104). Hoymiles.cpp:54-126 polls one "
            "inverter per interval, so "
            "each cycle has new values for one of them and only status/last_update (±1 s) for the "
            "other. The plant lists two gateway inverters, so its points carry the tag inverter = "
            "the serial. " + OPENDTU_SRC + "."
        ),
        [a, b],
    )
    rb = [
        reading(
            [(33.1, 5.02), (0, 4.96), (32.7, 4.88), (0, 4.91)],
            uac=228.9,
            freq=50.0,
            temp=41.2,
            yd=[801, 792, 777, 781],
            yt_kwh=[1902.414, 1899.731, 1887.020, 1890.448],
        ),
        reading(
            [(33.0, 5.06), (0, 5.00), (32.6, 4.93), (0, 4.95)],
            uac=229.2,
            freq=50.01,
            temp=41.3,
            yd=[802, 793, 778, 782],
            yt_kwh=[1902.415, 1899.732, 1887.021, 1890.449],
        ),
    ]
    for r in rb:  # HM_4CH: the voltage of inputs 2 and 4 is not in the payload
        r.udc[1] = r.udc[3] = 0
        r.pdc[1] = round(r.udc[0] * r.idc[1] / 100)
        r.pdc[3] = round(r.udc[2] * r.idc[3] / 100)
        r.pac = round(sum(r.pdc) * 0.958)
        r.iac = round(r.pac * 100 / r.uac)
    a.stats(MIDDAY[0], 0)
    b.stats(rb[0], -5)
    out = dtu.cycle()
    c.point(0, "TBZ-DTU-005", opendtu_fields(out[DTU_PAIR_HM800]), DTU_PAIR_HM800)
    c.point(-5, "TBZ-DTU-005", opendtu_fields(out[DTU_PAIR_HM1500]), DTU_PAIR_HM1500)
    c.steps.sleep(0.5)
    b.stats(rb[1], 5)
    out = dtu.cycle()
    c.point(5, "TBZ-DTU-005", opendtu_fields(out[DTU_PAIR_HM1500]), DTU_PAIR_HM1500)
    c.steps.sleep(0.5)
    a.stats(MIDDAY[1], 10)
    out = dtu.cycle(jitter={DTU_PAIR_HM1500: -1})
    c.point(10, "TBZ-DTU-005", opendtu_fields(out[DTU_PAIR_HM800]), DTU_PAIR_HM800)
    c.status["TBZ-DTU-005"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


# -- AhoyDTU ---------------------------------------------------------------------------------------

AHOY_MIDDAY = MIDDAY


def ahoy_case(
    name: str,
    readme: str,
    inverters: list[AhoyInverter],
    *,
    json_mode: bool = False,
    evening: bool = False,
) -> tuple[Case, AhoyDtu]:
    c = Case("ahoy", name, readme)
    dtu = AhoyDtu(c.steps, inverters, json_mode=json_mode)
    dtu.connect()
    if evening:
        dtu.sun(-43_000, 20)
    else:
        dtu.sun(-21_600, 23_400)
    return c, dtu


def roof_east() -> AhoyInverter:
    return AhoyInverter(AHOY_NAME, AHOY_HM2CH, ch_max_pwr=(410, 410))


def ahoy_cycle(
    c: Case,
    dtu: AhoyDtu,
    iv: AhoyInverter,
    plant: str,
    *,
    expect: bool = True,
    available: str | None = None,
) -> dict[str, str]:
    """One tick of the DTU; the expected point of ``iv`` from its published cycle."""
    rec = Recorder(c.steps, f"{dtu.TOPIC}/{iv.name}/")
    dtu.tick()
    pub = rec.since()
    avail = pub.get("available", available)
    if expect:
        values = {k: v for k, v in pub.items() if k.startswith("ch") or k == "rssi"}
        c.point(iv.ts or 0, plant, ahoy_fields(values, avail))
    return pub


def last_available(c: Case, name: str) -> str | None:
    topic = f"{AhoyDtu.TOPIC}/{name}/available"
    found = [s["payload"] for s in c.steps.items if s.get("publish") == topic]
    return found[-1] if found else None


def ahoy_values(pub: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in pub.items() if k.startswith("ch") or k == "rssi"}


@case
def ahoy_hm800_plain_cycle() -> Case:
    iv = roof_east()
    c, dtu = ahoy_case(
        "hm800_plain_cycle",
        (
            "An AhoyDTU with one HM-800 named 'Roof East' (a space in the topic level) in plain "
            "mode, after connecting. Three polls: the first asks live data only (NRF heuristics, "
            "hmInverter.h tickSend), the second also SystemConfigPara, the third also "
            "InverterDevInform_All. Each answer is its own record with its own ts (the request's "
            "start, Communication.h:112, :593-597), and pubMqttIvData.h:113-116 publishes "
            "<name>/last_success for every record with new data, not only for live data: "
            "last_success {t0+15} is followed by ch0/active_PowerLimit (QoS 2, :201-215) and "
            "radio_stat, then the live data has its own last_success {t0+16}; at {t0+30} the "
            "firmware record and the live data share one second (last_success {t0+30} twice), and "
            "<name>/firmware is published once per field of the record, five times (:179-188, "
            'hmDefines.h:150-156). Only the live-data records are readings. YieldTotal in "%g" '
            "keeps six significant digits (1234.57 kWh for 1234.567). No <name>/rssi: only HMS and "
            "HMT inverters publish it (pubMqttIvData.h:118-122). " + AHOY_SRC + "."
        ),
        [iv],
    )
    dtu.receive(iv, AHOY_MIDDAY[0], 0)
    ahoy_cycle(c, dtu, iv, "SHZ-AHY-003")
    c.steps.sleep(0.5)
    dtu.receive_info(iv, SYSTEM_CONFIG, 15)
    dtu.tick(15)
    dtu.receive(iv, AHOY_MIDDAY[1], 16)
    ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available="2")
    c.steps.sleep(0.5)
    dtu.receive_info(iv, DEVINFO_ALL, 30)
    dtu.receive(iv, AHOY_MIDDAY[2], 30)
    ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available="2")
    c.status["SHZ-AHY-003"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def ahoy_hm800_json_cycle() -> Case:
    iv = AhoyInverter(AHOY_JSON_NAME, AHOY_HM2CH, ch_max_pwr=(410, 410))
    c, dtu = ahoy_case(
        "hm800_json_cycle",
        (
            "An AhoyDTU in JSON mode (cfgMqtt_t.json, set in the web UI) with one HM-800. "
            "<name>/last_success is still published per record (pubMqttIvData.h:113-116), the "
            "live data then as one JSON object per channel <name>/ch1, ch2, ch0 with every field "
            'of the record (ALARM_MES_ID, MaxPower, MaxTemp included) and "ts", not retained '
            "(:220-242; numbers as ArduinoJson 6.21 writes round3 doubles: up to nine decimals, "
            "no trailing zeros, so YieldTotal keeps all its digits); the SystemConfigPara record "
            "publishes <name>/active_PowerLimit (QoS 2, :201-206); totals are one retained JSON "
            "object 'total' (:308-321); sendData() does nothing in JSON mode "
            "(pubMqtt.h:629-630). " + AHOY_SRC + "."
        ),
        [iv],
        json_mode=True,
    )
    dtu.receive(iv, AHOY_MIDDAY[0], 0)
    ahoy_cycle(c, dtu, iv, "MHD-AHY-004")
    c.steps.sleep(0.5)
    dtu.receive_info(iv, SYSTEM_CONFIG, 15)
    dtu.tick(15)
    dtu.receive(iv, AHOY_MIDDAY[1], 16)
    ahoy_cycle(c, dtu, iv, "MHD-AHY-004", available="2")
    c.status["MHD-AHY-004"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


EVENING = [
    reading(
        [(27.5, 0.32), (27.1, 0.30)],
        uac=229.4,
        freq=50.0,
        temp=20.2,
        yd=[1490, 1462],
        yt_kwh=[1234.015, 1197.706],
    ),
    reading(
        [(21.0, 0.0), (20.6, 0.0)],
        uac=229.3,
        freq=50.01,
        temp=19.9,
        yd=[1490, 1462],
        yt_kwh=[1234.015, 1197.706],
        pac=0.0,
    ),
    reading(
        [(23.4, 0.03), (22.9, 0.03)],
        uac=229.1,
        freq=50.0,
        temp=19.7,
        yd=[1491, 1462],
        yt_kwh=[1234.016, 1197.706],
    ),
    reading(
        [(19.8, 0.0), (19.5, 0.0)],
        uac=229.0,
        freq=49.99,
        temp=19.4,
        yd=[1491, 1462],
        yt_kwh=[1234.016, 1197.706],
        pac=0.0,
    ),
]


@case
def ahoy_senddata_repeat() -> Case:
    iv = roof_east()
    c, dtu = ahoy_case(
        "senddata_repeat",
        (
            "Evening on an AhoyDTU in plain mode: readings at {t0} (producing), {t0+15} (0 W: "
            "status WAS_PRODUCING, available 3, hmInverter.h:449-462), {t0+30} (a last 1.3 W: "
            "PRODUCING again) and {t0+45} (0 W), then no more answers. processIvStatus "
            "(pubMqtt.h:571-582) calls sendData() whenever the status leaves WAS_PRODUCING, "
            "before publishing <name>/available; sendData (:628-661) publishes the whole live-data "
            "record again as <name>/ch<N>/<Field> (ALARM_MES_ID included, ch0 yields skipped "
            "when not producing) with no last_success, if the record's ts differs from the last "
            "one sendData sent. So at {t0+30} the new reading's values arrive first, after "
            "last_success {t0+15}, then available 2, then last_success {t0+30} and the same "
            "values again; five minutes after {t0+45} (INVERTER_INACT_THRES_SEC, config.h:219) "
            "the status becomes WAS_ON and sendData repeats the {t0+45} values, then available 4. "
            "Four readings, none rewritten by the repeats. " + AHOY_SRC + "."
        ),
        [iv],
        evening=True,
    )
    for k, ts in enumerate((0, 15, 30, 45)):
        dtu.receive(iv, EVENING[k], ts)
        ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available=last_available(c, AHOY_NAME))
        c.steps.sleep(0.5)
    dtu.tick(45 + 300)
    c.status["SHZ-AHY-003"] = {
        "inverter_status": "standby",
        "producing": False,
        "online": True,
        "ac_power_w": 0.0,
    }
    return c


@case
def ahoy_available() -> Case:
    iv = roof_east()
    c, dtu = ahoy_case(
        "available",
        (
            "Every value of <name>/available (retained, published on change by processIvStatus, "
            "pubMqtt.h:571-582; InverterStatus hmInverter.h:77-83, state machine :421-462): the "
            "dawn's first reading has 0 W AC, so OFF → STARTING (1); the next produces (2); the "
            "third has 0 W again (WAS_PRODUCING, 3); five minutes without answer make it WAS_ON "
            "(4, INVERTER_INACT_THRES_SEC, config.h:219; sendData repeats the last record, "
            "pubMqtt.h:573-574); fifteen minutes make it OFF (0, INVERTER_OFF_THRES_SEC, "
            "config.h:222) and the DTU-wide status topic 0 (:585-588). The last two changes come "
            "without any value after them. " + AHOY_SRC + "."
        ),
        [iv],
    )
    yt = [1232.871, 1196.552]
    rs = [
        reading(
            [(23.1, 0.02), (22.8, 0.01)],
            uac=230.2,
            freq=50.0,
            temp=8.1,
            yd=[0, 0],
            yt_kwh=yt,
            pac=0.0,
        ),
        reading(
            [(28.3, 0.35), (27.9, 0.33)], uac=230.5, freq=50.01, temp=8.6, yd=[0, 0], yt_kwh=yt
        ),
        reading(
            [(22.0, 0.0), (21.7, 0.0)],
            uac=230.4,
            freq=50.0,
            temp=8.4,
            yd=[1, 0],
            yt_kwh=[1232.872, 1196.552],
            pac=0.0,
        ),
    ]
    for k, ts in enumerate((0, 15, 30)):
        dtu.receive(iv, rs[k], ts)
        ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available=last_available(c, AHOY_NAME))
        c.steps.sleep(0.5)
    dtu.tick(30 + 300)
    c.steps.sleep(0.5)
    dtu.tick(30 + 901)
    c.status["SHZ-AHY-003"] = {
        "inverter_status": "off",
        "producing": False,
        "online": True,
        "ac_power_w": 0.0,
    }
    return c


@case
def ahoy_zero_values() -> Case:
    iv = roof_east()
    c, dtu = ahoy_case(
        "zero_values",
        (
            "An AhoyDTU set to pause night communication and to reset values at communication "
            "stop (disNightCom, rstValsCommStop). Readings at {t0} and {t0+15} (0 W, "
            "WAS_PRODUCING); at sunset tickIVCommunication schedules tickZeroValues "
            "(app.cpp:259-296), and zeroIvValues (app.cpp:422-473) sets the live values to 0 "
            "(yields kept) without a new ts and without marking the record as new data, so its "
            "payloadEventListener cycle publishes nothing (pubMqttIvData.h:113, :179). The zeros "
            "reach MQTT five minutes after the last reading, when the status leaves WAS_PRODUCING "
            "and sendData() (pubMqtt.h:573-574, :628-661) republishes the record — now zeros — "
            "with no last_success; available 4, then 0 after fifteen minutes. The {t0+15} reading "
            "keeps its values. " + AHOY_SRC + "."
        ),
        [iv],
        evening=True,
    )
    rs = [EVENING[0], EVENING[1]]
    for k, ts in enumerate((0, 15)):
        dtu.receive(iv, rs[k], ts)
        ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available=last_available(c, AHOY_NAME))
        c.steps.sleep(0.5)
    iv.zero()
    dtu.send_list.append("RealTimeRunData_Debug")  # zeroIvValues → payloadEventListener
    dtu.tick(35)
    dtu.tick(15 + 300)
    c.steps.sleep(0.5)
    dtu.tick(15 + 901)
    c.status["SHZ-AHY-003"] = {
        "inverter_status": "off",
        "producing": False,
        "online": True,
        "ac_power_w": 0.0,
    }
    return c


@case
def ahoy_bridge_restart() -> Case:
    iv = roof_east()
    c, dtu = ahoy_case(
        "bridge_restart",
        (
            "The bridge stops after the reading at {t0}; the {t0+15} reading is published while no "
            "bridge is subscribed (QoS 0, not queued). On resubscription the broker replays the "
            "retained topics: <name>/last_success {t0+15} (pubMqttIvData.h:116), every "
            "ch<N>/YieldDay and ch<N>/YieldTotal (:152-153), <name>/available, status, total/"
            "YieldTotal and total/YieldDay, mqtt, ip_addr, the sun topics — a timestamp and "
            "energy counters without the other values: no point. Then live readings at {t0+30}, "
            "a plain bridge restart (replay of the {t0+30} retained topics) and {t0+45}. "
            + AHOY_SRC
            + "."
        ),
        [iv],
    )
    dtu.receive(iv, AHOY_MIDDAY[0], 0)
    ahoy_cycle(c, dtu, iv, "SHZ-AHY-003")
    c.steps.bridge("stop")
    dtu.receive(iv, AHOY_MIDDAY[1], 15)
    dtu.tick()
    c.steps.bridge("start")
    dtu.receive(iv, AHOY_MIDDAY[2], 30)
    ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available="2")
    c.steps.bridge("restart")
    dtu.receive(iv, AHOY_MIDDAY[3], 45)
    ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available="2")
    c.status["SHZ-AHY-003"] = {"inverter_status": "producing", "producing": True, "online": True}
    return c


@case
def ahoy_unknown_name() -> Case:
    iv = roof_east()
    stranger = AhoyInverter(AHOY_STRANGER, AHOY_HM2CH, ch_max_pwr=(0, 0))
    c, dtu = ahoy_case(
        "unknown_name",
        (
            "One AhoyDTU with two HM-800: the plant's 'Roof East' and 'Neighbour', which the fleet "
            "does not list. Each new-data tick publishes every inverter with new data in turn "
            "(pubMqttIvData.h:95-139 loops over all inverters of the DTU) and total/* sums both "
            "(:155-176). 'Neighbour' is quarantined once (unknown_plant), nothing of it stored; "
            "total/* is DTU-wide, not an inverter named 'total'. " + AHOY_SRC + "."
        ),
        [iv, stranger],
    )
    other = [
        reading(
            [(31.2, 4.41), (30.8, 4.37)],
            uac=230.4,
            freq=50.0,
            temp=35.0,
            yd=[702, 688],
            yt_kwh=[845.117, 840.902],
        ),
        reading(
            [(31.1, 4.45), (30.8, 4.40)],
            uac=230.6,
            freq=49.99,
            temp=35.2,
            yd=[703, 689],
            yt_kwh=[845.118, 840.903],
        ),
    ]
    for k, ts in enumerate((0, 15)):
        dtu.receive(iv, AHOY_MIDDAY[k], ts)
        dtu.receive(stranger, other[k], ts + 1)
        ahoy_cycle(c, dtu, iv, "SHZ-AHY-003", available=last_available(c, AHOY_NAME))
        c.steps.sleep(0.5)
    c.status["SHZ-AHY-003"] = {"inverter_status": "producing", "producing": True, "online": True}
    c.quarantine = {"unknown_plant": 1}
    return c


# -- writing ---------------------------------------------------------------------------------------


def render() -> dict[Path, str]:
    files: dict[Path, str] = {HERE / "fleet.csv": fleet_csv()}
    for make in CASES:
        c = make()
        folder = HERE / c.gateway / c.name
        files[folder / "steps.jsonl"] = c.steps.text()
        files[folder / "expected.json"] = (
            json.dumps(c.expected(), indent=1, ensure_ascii=False) + "\n"
        )
        files[folder / "README.md"] = f"# {c.gateway}/{c.name}\n\n{c.readme}\n"
    return files


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [
            p
            for p, text in files.items()
            if not p.exists() or p.read_text(encoding="utf-8") != text
        ]
        for p in stale:
            print(f"out of date: {p.relative_to(HERE)}")
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files under {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
