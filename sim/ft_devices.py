"""F/T sensor device profiles: the data-sheet facts (rate, latency, noise, range, output
resolution) that ``sim.ft.device`` puts under the ``sim.ft`` keys. Plain data; sources in
docs/simulation.md ("F/T devices"). Values marked "judgment" there are not from a sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.registry import Registry


@dataclass(frozen=True)
class FtDevice:
    """One F/T sensor as the control loop sees it. ``max_rate_hz`` is the device's fastest
    output (Hz); ``rate_hz`` the rate the simulated loop reads it at (<= the 1 kHz loop:
    a faster stream gives the loop nothing but its latest sample)."""

    name: str
    rate_hz: float
    max_rate_hz: float
    latency: float  # s, from acquisition to the sample being readable
    force_noise_std: float  # N
    torque_noise_std: float  # N·m
    range: tuple[float, ...]  # +-[fx fy fz tx ty tz] (N, N·m)
    resolution: tuple[float, ...]  # output step [fx fy fz tx ty tz] (N, N·m), 0 = none

    def settings(self) -> dict[str, object]:
        """The ``sim.ft`` keys this device sets (dotted, relative to ``sim``)."""
        return {
            "ft.rate_hz": self.rate_hz,
            "ft.latency": self.latency,
            "ft.force_noise_std": self.force_noise_std,
            "ft.torque_noise_std": self.torque_noise_std,
            "ft.range": list(self.range),
            "ft.resolution": list(self.resolution),
        }


#: Robotiq FT 300 streaming: 16-byte frames at 100 Hz over 19200 bit/s 8N1 serial.
FT300_FRAME_BITS = 16 * 10
FT300_BAUD = 19200.0

#: F/T devices by ``sim.ft.device``.
FT_DEVICES: Registry[FtDevice] = Registry("F/T device")
FT_DEVICES.register(
    "ideal",
    lambda: FtDevice(
        name="ideal",
        rate_hz=1000.0,
        max_rate_hz=1000.0,
        latency=0.0,
        force_noise_std=0.1,
        torque_noise_std=0.005,
        range=(1000.0, 1000.0, 1000.0, 100.0, 100.0, 100.0),
        resolution=(0.0,) * 6,
    ),
)
FT_DEVICES.register(
    "ft300",
    lambda: FtDevice(
        name="ft300",
        rate_hz=100.0,
        max_rate_hz=100.0,
        latency=FT300_FRAME_BITS / FT300_BAUD,  # 8.3 ms: the frame's time on the wire
        force_noise_std=0.1,
        torque_noise_std=0.005,
        range=(300.0, 300.0, 300.0, 30.0, 30.0, 30.0),
        resolution=(0.01, 0.01, 0.01, 0.001, 0.001, 0.001),
    ),
)
FT_DEVICES.register(
    "netft",
    lambda: FtDevice(  # ATI Net F/T with a Gamma SI-130-10 transducer, RDT over UDP
        name="netft",
        rate_hz=1000.0,
        max_rate_hz=7000.0,
        latency=0.000288,
        force_noise_std=0.025,
        torque_noise_std=0.00125,
        range=(130.0, 130.0, 400.0, 10.0, 10.0, 10.0),
        resolution=(1 / 40, 1 / 40, 1 / 20, 1 / 800, 1 / 800, 1 / 800),
    ),
)


def ft_device(name: str) -> FtDevice:
    """The registered F/T device ``name`` (error names the known devices)."""
    return FT_DEVICES.create(name)
