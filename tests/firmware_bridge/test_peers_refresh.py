"""The clear-sky grid's refresh: a new grid in the background ``REFRESH_BEFORE_END_H`` before the
current one ends (or when the clock lies before it), a retry ``RETRY_AFTER_S`` after a failure;
the clocks are injected, nothing sleeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import firmware_bridge.peers as peers_mod
from firmware_bridge.peers import (
    GRID_STEP_S,
    LEAD_H,
    REFRESH_BEFORE_END_H,
    RETRY_AFTER_S,
    PeerExpectation,
)
from telemetry.registry import parse_fleet

FLEET = parse_fleet(
    "plant_id,latitude,longitude,dc_kwp,ac_kw,tilt_deg,azimuth_deg\n"
    "A,35.700,51.400,5,5,30,180\nB,35.705,51.410,5,5,30,180\n"
)
H_NS = 3600 * 10**9
T0 = int(datetime(2026, 7, 1, 7, 0, tzinfo=UTC).timestamp()) * 10**9


class Clock:
    """A monotonic clock the test moves [s]; it starts just after a boot, as on a fresh host."""

    def __init__(self) -> None:
        self.now_s = 5.0

    def __call__(self) -> float:
        return self.now_s


def started(horizon_h: float = 48, clock: Clock | None = None) -> PeerExpectation:
    exp = PeerExpectation(
        FLEET, start_ns=T0 - LEAD_H * H_NS, horizon_h=horizon_h, clock=clock or Clock()
    ).start()
    assert exp.wait(120), exp.error
    return exp


def refreshed(exp: PeerExpectation, now_ns: int) -> bool:
    """Call ``refresh(now_ns)``; whether a new grid came of it."""
    before = exp.grid
    exp.refresh(now_ns)
    assert exp.wait(120), exp.error
    return exp.grid is not before


def test_grid_is_rebuilt_12_h_before_its_end_and_not_sooner() -> None:
    exp = started()
    g = exp.grid
    assert g is not None
    assert g.end_ns - g.start_ns == 48 * H_NS
    due = g.end_ns - REFRESH_BEFORE_END_H * H_NS  # 33 h after T0: 36 h after the grid's start
    for now in (T0, T0 + 12 * H_NS, T0 + 24 * H_NS, due):
        assert not refreshed(exp, now)
    assert refreshed(exp, due + GRID_STEP_S * 10**9)
    new = exp.grid
    assert new is not None
    step = GRID_STEP_S * 10**9
    assert new.start_ns == (due + step - LEAD_H * H_NS) // step * step
    assert new.end_ns - new.start_ns == 48 * H_NS
    assert new.clear_sky_w.shape == g.clear_sky_w.shape
    assert exp.peers is not None  # the peers are kept
    # The new grid covers the next 33 h: no further refresh until then.
    assert not refreshed(exp, due + 24 * H_NS)


def test_grid_is_rebuilt_when_the_clock_lies_before_it() -> None:
    exp = started()
    g = exp.grid
    assert g is not None
    assert refreshed(exp, g.start_ns - GRID_STEP_S * 10**9)
    assert exp.grid is not None
    assert exp.grid.start_ns < g.start_ns


def test_short_grid_is_not_recomputed_at_every_tick() -> None:
    """An 8 h grid (as the benchmark and tests use) cannot be refreshed 12 h before its end:
    it was, at every tick, as soon as the previous computation was done."""
    exp = started(horizon_h=8)
    g = exp.grid
    assert g is not None
    assert not refreshed(exp, T0)
    assert not refreshed(exp, T0 + H_NS)  # half of the 8 h is left
    assert refreshed(exp, g.end_ns - 4 * H_NS + GRID_STEP_S * 10**9)


def test_refresh_after_a_failure_waits_then_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    exp = started(clock=clock)
    g = exp.grid
    assert g is not None
    late = g.end_ns - H_NS

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kernel exploded\nsecond line")

    monkeypatch.setattr(peers_mod, "compute_grid", broken)
    assert not refreshed(exp, late)
    assert exp.error == "kernel exploded"
    assert exp.grid is g  # the old grid stays in use
    calls: list[int] = []
    real = peers_mod.PeerExpectation._launch

    def counting(self: PeerExpectation, start_ns: int, first: bool) -> None:
        calls.append(start_ns)
        real(self, start_ns, first)

    monkeypatch.setattr(peers_mod.PeerExpectation, "_launch", counting)
    clock.now_s += RETRY_AFTER_S - 1
    exp.refresh(late)
    assert calls == []  # too soon after the failure
    monkeypatch.undo()
    clock.now_s += 2
    assert refreshed(exp, late)


def test_first_computation_failed_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("no weather")

    monkeypatch.setattr(peers_mod, "compute_grid", broken)
    exp = PeerExpectation(FLEET, start_ns=T0 - LEAD_H * H_NS, clock=clock).start()
    assert not exp.wait(120)
    monkeypatch.undo()
    exp.refresh(T0)
    assert not exp.wait(120)  # too soon
    clock.now_s += RETRY_AFTER_S
    exp.refresh(T0)
    assert exp.wait(120), exp.error
    assert exp.grid is not None
    assert exp.grid.start_ns <= T0 <= exp.grid.end_ns


def test_not_started_is_never_started_by_refresh() -> None:
    exp = PeerExpectation(FLEET, clock=Clock())
    exp.refresh(T0)
    assert not exp.wait(1)
    assert exp.grid is None
