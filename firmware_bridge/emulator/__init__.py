"""Fleet emulator: realistic canonical telemetry from many plants, for demos, load tests and tests.

Every value is a pure function of (seed, plant, time); the models come from :mod:`simulate`:

- :mod:`.fleet` — synthetic fleets over the province capitals (:func:`synthetic_fleet`,
  :func:`write_fleet`, :data:`PROVINCE_CODES`);
- :mod:`.cuts` — the template year, its local clock (a real time zone, Asia/Tehran by default)
  and its power cuts: :func:`simulate.outages.scenario_year`, plants in zone groups by
  :func:`simulate.outages.assign_groups`;
- :mod:`.energy` — AC power from the simulator's typical year (:func:`typical_year`), clouds,
  faults, the household's essential load during a cut on a hybrid plant
  (:mod:`simulate.load`), and energy counters that never go backwards;
- :mod:`.payloads` — reading fields, canonical payloads, batches split at
  :data:`MAX_MESSAGE_BYTES`, bad payloads (:data:`BAD_REASONS`);
- :mod:`.gateways` — :class:`Emulator`: what each gateway publishes and when (silent during a
  cut, its buffer uploaded after; the backfill);
- :mod:`.pacing` — the start of a run (:func:`plan_start_ns`) and publishing in scaled real
  time, never a reading ahead of the wall clock;
- :mod:`.faults` — injected faults with ground truth (:class:`Fault`, :data:`FAULT_KINDS`,
  :data:`DEFAULT_FAULT_RATES`, :func:`read_faults`, :func:`write_faults`,
  :func:`random_faults`), applied by both emulators;
- :mod:`.offline` — the offline generator for benchmarks (:func:`emulated_readings`): a run's
  readings as the bridge stores them, with the truth, no broker;
- :mod:`.cli` — the ``roshanai emulate`` command (:func:`emulate_command`).
"""

from __future__ import annotations

from firmware_bridge.emulator.cli import emulate_command
from firmware_bridge.emulator.cuts import CUT_YEAR, Outage
from firmware_bridge.emulator.energy import FAULT_CODES, TypicalYear, typical_year
from firmware_bridge.emulator.faults import (
    DEFAULT_FAULT_RATES,
    FAULT_KINDS,
    Fault,
    random_faults,
    read_faults,
    write_faults,
)
from firmware_bridge.emulator.fleet import PROVINCE_CODES, synthetic_fleet, write_fleet
from firmware_bridge.emulator.gateways import Emulator
from firmware_bridge.emulator.offline import EmulatedTelemetry, emulated_readings
from firmware_bridge.emulator.pacing import CATCH_UP_S, MAX_LOOKBACK_S, plan_start_ns
from firmware_bridge.emulator.payloads import (
    BAD_REASONS,
    MAX_BATCH_READINGS,
    MAX_MESSAGE_BYTES,
    MIN_MESSAGE_BYTES,
    topic_for,
)

__all__ = [
    "BAD_REASONS",
    "CATCH_UP_S",
    "CUT_YEAR",
    "DEFAULT_FAULT_RATES",
    "FAULT_CODES",
    "FAULT_KINDS",
    "MAX_BATCH_READINGS",
    "MAX_LOOKBACK_S",
    "MAX_MESSAGE_BYTES",
    "MIN_MESSAGE_BYTES",
    "PROVINCE_CODES",
    "EmulatedTelemetry",
    "Emulator",
    "Fault",
    "Outage",
    "TypicalYear",
    "emulate_command",
    "emulated_readings",
    "plan_start_ns",
    "random_faults",
    "read_faults",
    "synthetic_fleet",
    "topic_for",
    "typical_year",
    "write_faults",
    "write_fleet",
]
