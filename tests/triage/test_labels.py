"""Issue 17's definitions in the emulator's truth: a dead gateway that comes back is comms loss."""

from __future__ import annotations

import pandas as pd

from firmware_bridge.emulator.faults import Fault, truth_finding

T0 = pd.Timestamp("2025-12-01T00:00Z")
END = pd.Timestamp("2025-12-15T00:00Z")


def test_gateway_faults_are_named_by_what_the_readings_show() -> None:
    back = Fault("THR-000001", "offline", T0, T0 + pd.Timedelta(days=1), 1.0)
    gone = Fault("THR-000001", "offline", T0, None, 1.0)
    late = Fault("THR-000002", "comms_loss", T0, T0 + pd.Timedelta(hours=6), 1.0)
    never = Fault("THR-000002", "comms_loss", T0, END + pd.Timedelta(days=3), 1.0)
    assert truth_finding(back, END) == "comms_loss"  # the counter ran on across the gap
    assert truth_finding(gone, END) == "offline"  # nothing arrives, to the end
    assert truth_finding(late, END) == "comms_loss"  # the batch arrived later
    assert truth_finding(never, END) == "offline"  # the batch never arrived within the run
    assert truth_finding(never) == "comms_loss"
    trip = Fault("THR-000003", "inverter_fault", T0, None, 1.0, alarm_code=301)
    assert truth_finding(trip, END) == "inverter_fault"
