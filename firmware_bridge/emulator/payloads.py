"""Canonical payloads of emulated gateways: reading fields, batches split by size, bad payloads.

Every message's payload is at most ``max_message_bytes`` (default :data:`MAX_MESSAGE_BYTES`,
64 KiB; ``--max-message-kb``): a longer upload — a post-cut buffer, the backfill — is split into
several canonical batches, each reading in exactly one of them, in time order (a batch of 500
readings is 100–145 KB). At a ``bad_rate`` a live reading is replaced by a bad payload
(malformed JSON, NaN, power out of range, a plant id that differs from the topic, a far-future
ts, non-UTF-8 bytes), named as the bridge's quarantine reasons.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from firmware_bridge.emulator import streams as rs
from telemetry import topics
from telemetry.errors import InputError

__all__ = [
    "BAD_REASONS",
    "MAX_BATCH_READINGS",
    "MAX_MESSAGE_BYTES",
    "MIN_MESSAGE_BYTES",
    "PlantConstants",
    "bad_payload",
    "batches",
    "bodies",
    "reading_fields",
    "topic_for",
]

MAX_BATCH_READINGS = 500
"""Readings per batch message at most; longer buffers are split."""
MAX_MESSAGE_BYTES = 64 * 1024
"""Default largest payload the emulator publishes [bytes] (``--max-message-kb 64``); longer
uploads are split into several batches. Brokers and gateways often cap messages near this size
(the bridge accepts up to 1 MiB)."""
MIN_MESSAGE_BYTES = 1024
"""Smallest allowed message limit [bytes]: a reading (plant id of 64 characters, two strings)
is under 500 bytes."""
BAD_REASONS = (
    "malformed_json",
    "non_finite",
    "out_of_range",
    "plant_mismatch",
    "future_ts",
    "non_utf8",
)
"""Kinds of bad payload the emulator injects, named as the bridge's quarantine reasons."""

_SEC_NS = 1_000_000_000
_DAY_NS = 86_400 * _SEC_NS
_SEQ_EPOCH_NS = 1_577_836_800 * _SEC_NS  # 2020-01-01: seq counts intervals since then
_INSTALL_FROM_NS = 1_672_531_200 * _SEC_NS  # installations between 2023-01-01 ...
_INSTALL_SPAN_NS = int(2.5 * 365.25 * _DAY_NS)  # ... and mid-2025


def topic_for(plant_id: str) -> str:
    """Canonical telemetry topic of a plant (docs/contracts.md)."""
    return topics.plant_topic(plant_id, topics.TELEMETRY)


@dataclass(frozen=True)
class PlantConstants:
    """Seeded per-plant constants of the emulated gateways and inverters, (n_plants,) each.

    Attributes
    ----------
    key : uint64 random-stream key of the plant id.
    phase_ns : reading phase within the interval [ns] (whole milliseconds).
    n_strings : DC strings (1 or 2); ``share`` the first string's share of DC power.
    v_mpp : MPP voltage at 25 °C [V]; ``v_base`` mean AC voltage [V].
    rssi_base : mean Wi-Fi signal [dBm]; ``t_case`` inverter temperature above air [°C].
    install_ns : installation time, a UTC midnight (night in Iran) between 2023 and mid-2025
        [ns since the epoch]; ``init_wh`` the counter then (factory tests) [Wh].
    """

    key: np.ndarray
    phase_ns: np.ndarray
    n_strings: np.ndarray
    share: np.ndarray
    v_mpp: np.ndarray
    v_base: np.ndarray
    rssi_base: np.ndarray
    t_case: np.ndarray
    install_ns: np.ndarray
    init_wh: np.ndarray

    @classmethod
    def draw(cls, seed: int, plant_ids: list[str], interval_ns: int) -> PlantConstants:
        """The constants of ``plant_ids`` for ``seed`` (each plant its own, whatever the fleet)."""
        key = np.array([rs.key_of(i) for i in plant_ids], dtype=np.uint64)

        def u(k: int) -> np.ndarray:
            return rs.uniform(seed, key, rs.S_PLANT + k)

        days = _INSTALL_SPAN_NS // _DAY_NS
        return cls(
            key=key,
            phase_ns=(u(0) * (interval_ns // 1_000_000)).astype(np.int64) * 1_000_000,
            n_strings=np.where(u(1) < 0.4, 1, 2),
            share=0.46 + 0.08 * u(2),
            v_mpp=290.0 + 90.0 * u(3),
            v_base=226.5 + 7.0 * u(4),
            rssi_base=-92.0 + 35.0 * u(5),
            t_case=3.0 + 6.0 * u(6),
            install_ns=_INSTALL_FROM_NS + (u(7) * days).astype(np.int64) * _DAY_NS,
            init_wh=(u(8) * 50.0).astype(np.int64),
        )


def reading_fields(
    state: dict[str, np.ndarray],
    pidx: np.ndarray,
    t_ns: np.ndarray,
    plants: PlantConstants,
    *,
    seed: int,
    interval_ns: int,
    hybrid: np.ndarray,
    rating_w: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every field of the readings of plants ``pidx`` at times ``t_ns`` [ns] (vectorised).

    ``state`` is :meth:`firmware_bridge.emulator.energy.PlantEnergy.state` of the same
    readings; ``hybrid`` and ``rating_w`` [W] are per plant of the fleet. ``silent`` is True
    where a grid-tied plant's gateway is down (a power cut).
    """
    power = state["ac_power_w"]
    alarm = state["alarm_code"]
    energy = state["energy_since_install_wh"] + plants.init_wh[pidx]
    k = (t_ns - plants.phase_ns[pidx]) // interval_ns
    key = plants.key[pidx]

    def noise(stream: int) -> np.ndarray:
        return rs.uniform(seed, key, stream, k) - 0.5

    grid_down = state["cut"] & ~hybrid[pidx]
    load = power / rating_w[pidx]
    v_ac = np.where(grid_down, 0.0, plants.v_base[pidx] + 2.0 * noise(rs.S_NOISE_V))
    freq = np.where(grid_down, 0.0, 50.0 + 0.06 * noise(rs.S_NOISE_F))
    i_ac = np.where(v_ac > 0, power / np.where(v_ac > 0, v_ac, 1.0), 0.0)
    temp_c = state["temp_air_c"] + plants.t_case[pidx] + 18.0 * load + noise(rs.S_NOISE_T)
    dc_w = np.where(power > 0, power / 0.96 + 12.0, 0.0)
    v_mpp0 = plants.v_mpp[pidx]
    v_mpp = (
        v_mpp0
        * (1.0 - 0.0035 * (temp_c - 25.0))
        * (0.93 + 0.07 * np.sqrt(np.minimum(load * 2.0, 1.0)))
    )
    v_dc = np.where(power > 0, v_mpp, np.where(state["sun"], 1.2 * v_mpp0, 0.0))
    status = np.where(
        alarm > 0,
        "fault",
        np.where(grid_down, "off", np.where(power > 0, "producing", "standby")),
    )
    return {
        "pidx": pidx,
        "t_ns": t_ns,
        "seq": k - _SEQ_EPOCH_NS // interval_ns,
        "ac_power_w": power,
        "ac_voltage_v": v_ac,
        "ac_current_a": i_ac,
        "ac_freq_hz": freq,
        "energy_total_wh": energy,
        "dc_w": dc_w,
        "dc_v": v_dc,
        "n_strings": plants.n_strings[pidx],
        "share": plants.share[pidx],
        "temp_c": temp_c,
        "status": status,
        "alarm_code": alarm,
        "rssi_dbm": np.round(plants.rssi_base[pidx] + 6.0 * noise(rs.S_NOISE_R)),
        "silent": grid_down,
    }


def bodies(r: dict[str, np.ndarray]) -> list[str]:
    """The JSON members of each reading after ``plant_id``: ``"ts":...,...,"rssi_dbm":-71``."""
    ts = np.datetime_as_string(
        r["t_ns"].astype("datetime64[ns]").astype("datetime64[ms]"), unit="ms"
    )
    out = []
    for t, seq, pw, v, i, f, e, dw, dv, ns, sh, tc, st, al, rssi in zip(
        ts.tolist(),
        r["seq"].tolist(),
        r["ac_power_w"].tolist(),
        r["ac_voltage_v"].tolist(),
        r["ac_current_a"].tolist(),
        r["ac_freq_hz"].tolist(),
        r["energy_total_wh"].tolist(),
        r["dc_w"].tolist(),
        r["dc_v"].tolist(),
        r["n_strings"].tolist(),
        r["share"].tolist(),
        r["temp_c"].tolist(),
        r["status"].tolist(),
        r["alarm_code"].tolist(),
        r["rssi_dbm"].tolist(),
        strict=True,
    ):
        if ns == 1:
            dc = f'[{{"v":{dv:.1f},"a":{dw / dv if dv else 0.0:.2f},"w":{dw:.1f}}}]'
        else:
            w1, w2, dv2 = dw * sh, dw * (1.0 - sh), dv * 0.99
            dc = (
                f'[{{"v":{dv:.1f},"a":{w1 / dv if dv else 0.0:.2f},"w":{w1:.1f}}},'
                f'{{"v":{dv2:.1f},"a":{w2 / dv2 if dv else 0.0:.2f},"w":{w2:.1f}}}]'
            )
        out.append(
            f'"ts":"{t}Z","seq":{seq},"ac_power_w":{pw:.1f},"ac_voltage_v":{v:.1f},'
            f'"ac_current_a":{i:.2f},"ac_freq_hz":{f:.2f},"energy_total_wh":{e:.0f},'
            f'"dc":{dc},"temp_c":{tc:.1f},"status":"{st}","alarm_code":{al},'
            f'"rssi_dbm":{rssi:.0f}'
        )
    return out


def batches(
    plant_id: str, topic: str, readings: list[str], max_message_bytes: int
) -> Iterator[tuple[str, bytes, str, str]]:
    """A plant's readings (:func:`bodies`, in time order) as consecutive batch messages, each
    at most :data:`MAX_BATCH_READINGS` readings and ``max_message_bytes`` long [bytes].

    Yields
    ------
    (topic, payload, 'batch', number of readings as text)
    """
    head = f'{{"v":1,"plant_id":"{plant_id}","readings":['.encode()
    room = max_message_bytes - len(head) - 2  # the closing ]}
    a, used = 0, 0

    def batch(chunk: list[str]) -> tuple[str, bytes, str, str]:
        payload = head + ",".join("{" + b + "}" for b in chunk).encode() + b"]}"
        return topic, payload, "batch", str(len(chunk))

    for i, body in enumerate(readings):  # the bodies are ASCII: characters are bytes
        size = len(body) + 2 + (i > a)  # {body} and a comma after the first
        if i > a and (used + size > room or i - a == MAX_BATCH_READINGS):
            yield batch(readings[a:i])
            a, used, size = i, 0, len(body) + 2
        if size > room:
            raise InputError(
                f"a reading of {plant_id} takes {size} bytes, more "
                f"than the message size limit of {max_message_bytes}"
            )
        used += size
    if a < len(readings):
        yield batch(readings[a:])


def bad_payload(
    seed: int,
    key: int,
    k: int,
    plant_id: str,
    other_id: str,
    body: str,
    power_w: float,
    rating_w: float,
) -> tuple[bytes, str]:
    """A bad payload in place of reading ``k`` of a plant; (payload, reason).

    Parameters
    ----------
    seed : int
    key : int
        The plant's random-stream key.
    k : int
        The reading's interval number (which bad kind, where to cut).
    plant_id, other_id : str
        The plant's id, and another plant's (for ``plant_mismatch``).
    body : str
        The reading (:func:`bodies`).
    power_w, rating_w : float
        The reading's AC power and the plant's rating. [W]
    """
    keys = np.array([key], dtype=np.uint64)
    reason = BAD_REASONS[int(rs.uniform(seed, keys, rs.S_BAD_KIND, k)[0] * len(BAD_REASONS))]
    good = f'{{"v":1,"plant_id":"{plant_id}",{body}}}'
    pw = f'"ac_power_w":{power_w:.1f}'
    if reason == "malformed_json":
        cut = 5 + int(rs.uniform(seed, keys, rs.S_BAD_AT, k)[0] * (len(good) - 10))
        return good[:cut].encode(), reason
    if reason == "non_finite":
        return good.replace(pw, '"ac_power_w":NaN', 1).encode(), reason
    if reason == "out_of_range":
        return good.replace(pw, f'"ac_power_w":{4.0 * rating_w:.1f}', 1).encode(), reason
    if reason == "plant_mismatch":
        mismatch = good.replace(f'"plant_id":"{plant_id}"', f'"plant_id":"{other_id}"', 1)
        return mismatch.encode(), reason
    if reason == "future_ts":
        ts = body[6 : body.index('"', 6)]
        future = str(int(ts[:4]) + 10) + ts[4:]
        return good.replace(ts, future, 1).encode(), reason
    raw = good.encode()
    i = raw.index(b'"status":"') + len(b'"status":"')
    return raw[:i] + b"\xff\xfe" + raw[i:], reason
