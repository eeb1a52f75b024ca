"""Counter-based random numbers of the emulator: a pure function of (seed, key, stream, index).

No generator state, so a value is the same whichever call or window asks for it: a restarted
emulator, or one asked for another window, draws the same clouds, faults and noise.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["key_of", "uniform"]

# Streams (any distinct constants).
S_CLOUD_REG, S_CLOUD_REG2, S_CLOUD_LOC = 1, 2, 3
S_FAULT, S_FAULT_AT, S_FAULT_LEN, S_FAULT_CODE = 21, 22, 23, 24
S_NOISE_V, S_NOISE_F, S_NOISE_T, S_NOISE_R = 31, 32, 33, 34
S_BAD, S_BAD_KIND, S_BAD_AT = 41, 42, 43
S_PLANT = 50  # + k: per-plant constants

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def uniform(seed: int, key: np.ndarray, stream: int, index: Any = 0) -> np.ndarray:
    """Uniform numbers in [0, 1) that depend only on their arguments (broadcast).

    Parameters
    ----------
    seed : int
        The emulator's seed.
    key : numpy.ndarray of uint64
        What the number belongs to (:func:`key_of` a plant id, a region).
    stream : int
        Which quantity (clouds, faults, noise, ...).
    index : int or array of int
        Day, reading interval, ...
    """
    k = np.asarray(key, dtype=np.uint64)
    i = np.asarray(index, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = _mix(
            k
            ^ _mix(
                np.full_like(k, np.uint64(seed & 0xFFFFFFFFFFFFFFFF)) + np.uint64(stream) * _GOLDEN
            )
        )
        h = _mix(h + (i + np.uint64(1)) * _GOLDEN)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def key_of(text: str) -> int:
    """A stable 64-bit key of a text (BLAKE2b), the same on every machine and run."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
