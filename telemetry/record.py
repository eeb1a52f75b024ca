"""The telemetry record: one inverter reading, whatever the gateway that sent it.

Decoders (canonical JSON, OpenDTU, AhoyDTU) all produce :class:`TelemetryRecord`; the store
writes it as a point of measurement ``inverter``. The canonical payload (docs/contracts.md):

.. code-block:: json

    {"v": 1, "plant_id": "ZNJ-000123", "ts": "2026-07-01T09:00:00Z", "seq": 812,
     "ac_power_w": 3200.5, "ac_voltage_v": 228.1, "ac_current_a": 14.0, "ac_freq_hz": 50.01,
     "energy_total_wh": 1234567, "dc": [{"v": 350.1, "a": 5.2, "w": 1820.0}],
     "temp_c": 41.2, "status": "producing", "alarm_code": 0, "rssi_dbm": -71}

or a batch ``{"v": 1, "plant_id": ..., "readings": [{"ts": ..., ...}, ...]}``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

__all__ = [
    "STATUSES",
    "DcString",
    "TelemetryRecord",
    "parse_ts",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

#: Values of ``status`` a gateway may report.
STATUSES = ("producing", "standby", "off", "fault", "starting", "unknown")


class DcString(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """One DC input (string/MPPT) of an inverter.

    Attributes
    ----------
    voltage_v : float or None
        DC voltage [V].
    current_a : float or None
        DC current [A].
    power_w : float or None
        DC power [W].
    """

    voltage_v: float | None = None
    current_a: float | None = None
    power_w: float | None = None


class TelemetryRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One reading of one plant's inverter, in SI units named in every field.

    Attributes
    ----------
    plant_id : str
        Registry identifier of the plant.
    ts_ns : int
        Device time of the reading [ns since the Unix epoch, UTC]. Redelivery of the same
        reading yields the same point, so storage is idempotent.
    seq : int or None
        Gateway's sequence number of the reading.
    ac_power_w : float or None
        AC output power [W].
    ac_voltage_v, ac_current_a, ac_freq_hz : float or None
        Grid-side voltage [V], current [A] and frequency [Hz].
    energy_total_wh : float or None
        Lifetime AC energy counter [Wh].
    energy_today_wh : float or None
        The inverter's own counter of today's AC energy [Wh] (OpenDTU ``yieldday``, AhoyDTU
        ``YieldDay``); it restarts at 0 each day.
    dc : tuple of DcString
        DC inputs.
    temp_c : float or None
        Inverter temperature [°C].
    status : str or None
        One of :data:`STATUSES`.
    alarm_code : int or None
        Inverter alarm/fault code; 0 = none.
    rssi_dbm : float or None
        Gateway radio signal strength [dBm].
    inverter : str or None
        The gateway inverter (OpenDTU serial, AhoyDTU name) of a plant that lists more than one
        in the fleet; it becomes the point's ``inverter`` tag so that the inverters' readings
        stay apart. None for a plant with one inverter.
    """

    plant_id: str
    ts_ns: int
    seq: int | None = None
    ac_power_w: float | None = None
    ac_voltage_v: float | None = None
    ac_current_a: float | None = None
    ac_freq_hz: float | None = None
    energy_total_wh: float | None = None
    energy_today_wh: float | None = None
    dc: tuple[DcString, ...] = ()
    temp_c: float | None = None
    status: str | None = None
    alarm_code: int | None = None
    rssi_dbm: float | None = None
    inverter: str | None = None

    @property
    def time(self) -> datetime:
        """Device time as an aware UTC datetime (microsecond resolution)."""
        return datetime.fromtimestamp(self.ts_ns / 1e9, tz=UTC)


def parse_ts(value: str | int | float) -> int:
    """Device timestamp → ns since the epoch (UTC).

    Parameters
    ----------
    value : str or int or float
        ISO 8601 with an offset or ``Z`` (a naive time is refused: the device's zone is
        unknown), or epoch milliseconds.

    Returns
    -------
    int
        [ns since 1970-01-01T00:00:00Z].

    Raises
    ------
    ValueError
        Unparseable, naive, or out of the range 2000–2100.
    """
    if isinstance(value, bool):
        raise ValueError("ts must be ISO 8601 or epoch milliseconds, not a boolean")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("ts is not finite")
        try:
            ns = round(value * 1_000_000)
        except OverflowError:
            raise ValueError(f"ts {value!r} is outside 2000–2100") from None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"ts {value!r} is not ISO 8601") from None
        if dt.tzinfo is None:
            raise ValueError(f"ts {value!r} has no UTC offset")
        ns = (dt - _EPOCH) // _MICROSECOND * 1000
    else:
        raise ValueError(f"ts must be ISO 8601 or epoch milliseconds, not {type(value).__name__}")
    if not 946_684_800_000_000_000 <= ns < 4_102_444_800_000_000_000:
        raise ValueError(f"ts {value!r} is outside 2000–2100")
    return ns
