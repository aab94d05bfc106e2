"""A short recorded sweep for the reconstruction, bridge and report tests: 40 mm along the
body over both vessels (transverse plane, lockstep simulation with ultrasound frames and
live quality), with a known image latency injected in the simulator. Made once per test
session (about 30 s of wall time)."""

from __future__ import annotations

from pathlib import Path

from robot_us.scan.runner import RunOptions, run_scan
from tests.scan_helpers import short_config, stroke_on_skin

#: Image latency injected in the simulator for the fixture sweep (s).
FIXTURE_LATENCY = 0.04
#: The stroke: skin angles (rad) and body-axis positions (m, from the phantom centre).
FIXTURE_THETA = (0.0, 0.0)
FIXTURE_Y = (-0.02, 0.02)


def make_sweep_recording(out_dir: Path, latency: float = FIXTURE_LATENCY) -> Path:
    """Run the short sweep into ``out_dir`` (new or empty); the recording's path."""
    cfg = short_config(**{"ultrasound.sim.latency": latency})
    stroke = stroke_on_skin(cfg, FIXTURE_THETA, FIXTURE_Y)
    opts = RunOptions(out_dir=out_dir, stroke=stroke, plane="transverse", pictures=False)
    run = run_scan(cfg, opts)
    assert run.recording is not None and run.outcome is not None
    return run.recording
