"""Hybrid force/position control of the ultrasound probe: wrench pipeline (tare, probe
gravity compensation, low-pass), the selection-vector hybrid law with an admittance along
the probe axis, damped-least-squares joint velocities with null-space joint-limit
avoidance and joint rate limits, guarded approach, contact loss re-seek and retract.

Pure algorithms: arrays in, arrays out; no I/O, clocks or simulators.
"""

import importlib

#: Public names and the module each lives in; imported on first use, so that loading the
#: configuration (``force_control.config``) does not pull in scipy and the controller.
_EXPORTS = {
    "CONTROLLERS": "force_control.controller",
    "ControllerInput": "force_control.controller",
    "ControllerOutput": "force_control.controller",
    "Event": "force_control.controller",
    "ForceControlConfig": "force_control.config",
    "Mode": "force_control.controller",
    "ProbeController": "force_control.controller",
    "WrenchPipeline": "force_control.wrench_pipeline",
    "make_controller": "force_control.controller",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'force_control' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
