"""Hybrid force/position control of the ultrasound probe: wrench pipeline (tare, probe
gravity compensation, low-pass), the selection-vector hybrid law with an admittance along
the probe axis, damped-least-squares joint velocities with null-space joint-limit
avoidance and joint rate limits, guarded approach, contact loss re-seek and retract.

Pure algorithms: arrays in, arrays out; no I/O, clocks or simulators.
"""

from force_control.config import ForceControlConfig
from force_control.controller import (
    CONTROLLERS,
    ControllerInput,
    ControllerOutput,
    Event,
    Mode,
    ProbeController,
    make_controller,
)
from force_control.wrench_pipeline import WrenchPipeline

__all__ = [
    "CONTROLLERS",
    "ControllerInput",
    "ControllerOutput",
    "Event",
    "ForceControlConfig",
    "Mode",
    "ProbeController",
    "WrenchPipeline",
    "make_controller",
]
