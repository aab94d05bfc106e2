"""The real device drivers by configuration name (``[hardware]`` ``driver`` keys). Entries
are lazy ("module:factory"), so choosing one imports only its module (and its vendor SDK
only when it connects).

Factories (none does I/O; ``connect()`` / ``start()`` do):
- ``ARM_DRIVERS[name](hardware_cfg)`` -> an ``ArmBackend`` with ``rate_hz`` (its native
  control rate), ``models`` (the ``robot.model`` names it drives), ``connect()``,
  ``close()`` and ``describe()``;
- ``FT_DRIVERS[name](hardware_cfg, clock=time.monotonic)`` -> a ``ThreadedWrenchSensor``;
- ``CAMERA_DRIVERS[name](hardware_cfg)`` -> an ``RgbdCamera`` with ``connect()`` and
  ``close()``.
"""

from __future__ import annotations

from hardware_drivers.wrench_stream import ThreadedWrenchSensor
from robot_us.core.registry import Registry

ARM_DRIVERS: Registry = Registry("arm driver")
ARM_DRIVERS.register("ur", "hardware_drivers.ur_rtde_arm:make_ur_arm")
ARM_DRIVERS.register("franka", "hardware_drivers.franka_arm:make_franka_arm")

FT_DRIVERS: Registry[ThreadedWrenchSensor] = Registry("force/torque driver")
FT_DRIVERS.register("robotiq-ft300", "hardware_drivers.robotiq_ft300:make_ft300")
FT_DRIVERS.register("ati-netft", "hardware_drivers.netft_rdt:make_netft")

CAMERA_DRIVERS: Registry = Registry("camera driver")
CAMERA_DRIVERS.register("realsense", "hardware_drivers.realsense_camera:make_realsense")
CAMERA_DRIVERS.register("scene", "hardware_drivers.scene_playback:make_scene_camera")


def min_wrench_timeout(sensor: ThreadedWrenchSensor) -> float:
    """The shortest ``safety.wrench_timeout`` (s) ``sensor`` can meet: two sample periods
    plus a sample's time on the wire (the FT 300: 2 x 10 ms + 8.3 ms)."""
    return 2.0 / sensor.rate_hz + sensor.wire_time_s
