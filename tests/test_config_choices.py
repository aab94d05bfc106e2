"""Every configuration key with a choice set offers exactly what its consumer accepts: the
names of the registry it picks from (or the enumeration it is parsed into). A new choice
key must be added to ``CONSUMERS`` below, so no choice can validate and then fail."""

import dataclasses
import typing

import cv2
import pytest

from force_control.controller import CONTROLLERS
from hardware_drivers.devices import ARM_DRIVERS, CAMERA_DRIVERS, FT_DRIVERS
from perception.reconstruction.compounding import SPLATTERS
from robot_us.config import Config, ConfigError, load_config
from robot_us.core.arms import ARMS
from robot_us.core.backends import CELLS, ULTRASOUND_SOURCES
from robot_us.imaging.worker import QUALITY_WORKERS
from robot_us.recording.durable_writer import COMPRESSION
from robot_us.sim_ft_transport import FT_TRANSPORTS
from sim.ft_devices import FT_DEVICES
from sim.joint_servo import ACTUATION_MODELS
from sim.phantom_geometry import PHANTOM_SHAPES
from sim.profiles import PLANT_PROFILES
from sim.ultrasound.scan_geometry import SCAN_GEOMETRIES
from trajectory.frames import ImagingPlane

#: choice key -> the names its consumer accepts (the choices must be exactly these)
CONSUMERS = {
    "cell.backend": CELLS.names,
    "robot.model": ARMS.names,
    "ultrasound.source": ULTRASOUND_SOURCES.names,
    "force_control.controller": CONTROLLERS.names,
    "ultrasound.quality.worker": QUALITY_WORKERS.names,
    "probe.geometry": SCAN_GEOMETRIES.names,
    "trajectory.plane": lambda: [p.value for p in ImagingPlane],
    "recording.compression": lambda: list(COMPRESSION),
    "sim.ft_transport": FT_TRANSPORTS.names,
    "sim.profile": PLANT_PROFILES.names,
    "sim.phantom.shape": PHANTOM_SHAPES.names,
    "sim.ft.device": FT_DEVICES.names,
    "sim.actuation.model": ACTUATION_MODELS.names,
    "reconstruction.interpolation": SPLATTERS.names,
    # "none" = no such device (the hardware cell names the key it needs)
    "hardware.arm.driver": lambda: ["none", *ARM_DRIVERS.names()],
    "hardware.ft.driver": lambda: ["none", *FT_DRIVERS.names()],
    "hardware.camera.driver": lambda: ["none", *CAMERA_DRIVERS.names()],
}
#: choice keys with a plain enumeration, no registry behind them (and where it is read)
ENUMERATIONS = {
    "hardware.arm.ur.command": "hardware_drivers/ur_rtde_arm.py (servoj: position targets)",
    "sim.tissue.pressure": "sim/lens_contact.py (distributed, else deepest)",
    "server.deadman_action": "robot_us/server/control_process.py _stop_motion and "
    "robot_us/teleop_reference.py stop (retract, else hold)",
    "ultrasound.quality.imaging_area": "perception/quality/assess.py (full, track, else frame)",
}
#: choice key -> the names its consumer accepts (the choices are a curated subset)
SUBSETS = {
    # perception/charuco.py: cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))
    "perception.charuco.dictionary": lambda: [n for n in dir(cv2.aruco) if n.startswith("DICT_")],
}


def _choice_params(cls: type, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        if f.metadata.get("section"):
            yield from _choice_params(hints[f.name], key)
        elif f.metadata.get("choices"):
            yield key, f.metadata["choices"]


CHOICE_PARAMS = dict(_choice_params(Config))


def test_every_choice_key_has_a_known_consumer():
    assert sorted(CHOICE_PARAMS) == sorted([*CONSUMERS, *SUBSETS, *ENUMERATIONS])


@pytest.mark.parametrize("key", sorted(CONSUMERS))
def test_choices_are_what_the_consumer_accepts(key):
    assert sorted(CHOICE_PARAMS[key]) == sorted(CONSUMERS[key]())


@pytest.mark.parametrize("key", sorted(SUBSETS))
def test_curated_choices_are_accepted_by_the_consumer(key):
    assert set(CHOICE_PARAMS[key]) <= set(SUBSETS[key]())


def test_unregistered_cell_backend_is_refused_at_load():
    """Only registered cells validate (no name that fails later with a registry error)."""
    assert "ros" not in CELLS
    with pytest.raises(ConfigError, match=r"cell\.backend.*'hardware', 'sim'"):
        load_config(overrides={"cell.backend": "ros"})
