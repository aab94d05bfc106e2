"""Real F/T drivers in the simulated loop. ``sim.ft_transport`` chooses how the control
cycle gets the pybullet cell's measured wrench (registry ``FT_TRANSPORTS``):

- ``direct``: the simulated sensor itself (``sim.ft_sensor.SimFtSensor``);
- ``robotiq-ft300-emulated``: the simulated reading is sampled at the FT 300's 100 Hz,
  encoded by the FT 300 emulator into stream frames on a pseudo-terminal, and read back
  by the real driver (``hardware_drivers.robotiq_ft300``), its parser, thread and age;
- ``ati-netft-emulated``: the same through the Net F/T emulator on loopback UDP and the
  real RDT driver, at ``hardware.ft.rdt_rate_hz`` with ``hardware.ft.counts_per_*``.

Timing follows the simulated clock: a device sample is taken when due in simulated time
and delivered one wire time later (8.3 ms for the FT 300's 16 bytes at 19200 baud), the
driver's clock is the world's time, and after each delivery the loop waits (wall time,
bounded) until the driver thread has parsed it, so a lockstep run stays deterministic
while every byte still crosses a real pty or socket. The driver is the cell's
``wrench``: the force controller and the staleness layer see its samples and ages.

This module composes ``sim`` and ``hardware_drivers`` (neither imports the other).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from hardware_drivers.devices import FT_DRIVERS, min_wrench_timeout
from hardware_drivers.netft_emulator import NetFtEmulator
from hardware_drivers.robotiq_emulator import Ft300Emulator
from hardware_drivers.wrench_stream import ThreadedWrenchSensor
from robot_us.core.backends import Cell, WrenchSensor
from robot_us.core.config_schema import ConfigError
from robot_us.core.registry import Registry
from robot_us.core.types import WrenchSample
from sim.cell import make_sim_cell as make_plain_sim_cell

#: Longest wall time a step waits for the driver to parse a delivered sample (s).
DELIVERY_WAIT_S = 2.0
#: Slack when deciding whether a sample is due in simulated time (s).
_DUE_EPS_S = 1e-9


@dataclass
class LinkStats:
    """What went over the emulated link."""

    delivered: int = 0
    late: int = 0  # the driver had not parsed a delivered sample within DELIVERY_WAIT_S


class EmulatedFtLink:
    """Samples ``source`` at ``rate_hz`` in simulated time (``clock``) and hands each
    sample to ``deliver`` one ``wire_time_s`` later; ``after_step`` runs after each
    physics step and waits until ``driver`` has published it."""

    def __init__(
        self,
        source: WrenchSensor,
        deliver: Callable[[np.ndarray], bool],
        driver: ThreadedWrenchSensor,
        clock: Callable[[], float],
        rate_hz: float,
    ) -> None:
        self.source = source
        self.deliver = deliver
        self.driver = driver
        self.clock = clock
        self.period = 1.0 / rate_hz
        self.wire_time_s = driver.wire_time_s
        self.stats = LinkStats()
        self._sample = WrenchSample()
        self.latest = np.zeros(6)  # the wrench of the newest device sample
        self._pending: list[tuple[float, np.ndarray]] = []
        self._next_k = 0

    def sample_now(self) -> np.ndarray:
        """Take one device sample of the simulated sensor now (the wrench it reports)."""
        self.source.read(self._sample)
        self.latest[:] = self._sample.wrench
        return self.latest

    def after_step(self) -> None:
        """Take the samples due by now, deliver those whose wire time has passed."""
        t = self.clock()
        while self._next_k * self.period <= t + _DUE_EPS_S:
            t_k = self._next_k * self.period
            self._pending.append((t_k + self.wire_time_s, self.sample_now().copy()))
            self._next_k += 1
        while self._pending and self._pending[0][0] <= t + _DUE_EPS_S:
            _, w = self._pending.pop(0)
            target = self.driver.seq + 1
            if self.deliver(w):
                self.stats.delivered += 1
                if not self.driver.wait_for_sample(target, DELIVERY_WAIT_S):
                    self.stats.late += 1

    def start_at(self, t: float) -> None:
        """The next device sample is the first one due at or after ``t`` (s)."""
        self._next_k = math.ceil(t / self.period - 1e-9)


def _emulated(cfg, cell: Cell, kind: str) -> Cell:
    world = cell.sim
    hw = cfg.hardware

    def clock() -> float:
        return world.t

    link_box: list[EmulatedFtLink] = []

    def latest() -> np.ndarray:  # what a start request is answered with
        return link_box[0].latest if link_box else np.zeros(6)

    if kind == "robotiq-ft300":
        emulator = Ft300Emulator(paced=True).start()
        driver = FT_DRIVERS.create("robotiq-ft300", _with_port(hw, emulator.port), clock=clock)
        rate = driver.rate_hz
    else:
        emulator = NetFtEmulator(
            latest,
            paced=True,
            counts_per_force=hw.ft.counts_per_force,
            counts_per_torque=hw.ft.counts_per_torque,
        ).start()
        host, port = emulator.address
        driver = FT_DRIVERS.create("ati-netft", _with_host(hw, host, port), clock=clock)
        rate = driver.rate_hz
    need = min_wrench_timeout(driver)
    if cfg.safety.wrench_timeout < need:
        emulator.close()
        raise ConfigError(
            f"safety.wrench_timeout = {cfg.safety.wrench_timeout * 1e3:g} ms is shorter than "
            f"sim.ft_transport = '{cfg.sim.ft_transport}' can meet ({need * 1e3:.1f} ms); "
            f"raise it (e.g. {recommended_wrench_timeout(cfg.sim.ft_transport, cfg):g} s)"
        )
    link = EmulatedFtLink(cell.wrench, emulator.emit, driver, clock, rate)
    link_box.append(link)
    try:
        link.sample_now()
        driver.start(first_sample_timeout=None if kind == "robotiq-ft300" else DELIVERY_WAIT_S)
        if kind == "robotiq-ft300":  # the first frame, so the loop starts with a sample
            emulator.emit(link.latest)
            if not driver.wait_for_sample(1, DELIVERY_WAIT_S):
                raise ConfigError("the emulated FT 300 link delivered no first sample")
        link.start_at(world.t + link.period)
    except BaseException:
        driver.close()
        emulator.close()
        raise
    step_world, close_world = cell.step_plant, cell.close

    def step_plant() -> None:
        step_world()
        link.after_step()

    def close() -> None:
        driver.close()
        emulator.close()
        if close_world is not None:
            close_world()

    cell.wrench = driver
    cell.step_plant = step_plant
    cell.close = close
    cell.ft_link = link  # type: ignore[attr-defined]  # for reports and tests
    cell.ft_emulator = emulator  # type: ignore[attr-defined]
    return cell


def _with_port(hw, port: str):
    return replace(hw, ft=replace(hw.ft, port=port))


def _with_host(hw, host: str, port: int):
    return replace(hw, ft=replace(hw.ft, host=host, udp_port=port))


#: How the simulated cell's wrench reaches the controller (``sim.ft_transport``):
#: ``transport(cfg, cell) -> cell``.
FT_TRANSPORTS: Registry[Cell] = Registry("sim F/T transport")
FT_TRANSPORTS.register("direct", lambda cfg, cell: cell)
FT_TRANSPORTS.register(
    "robotiq-ft300-emulated", lambda cfg, cell: _emulated(cfg, cell, "robotiq-ft300")
)
FT_TRANSPORTS.register("ati-netft-emulated", lambda cfg, cell: _emulated(cfg, cell, "ati-netft"))

#: The wrench timeout the emulated links are run with (s): the FT 300 needs 28.3 ms.
RECOMMENDED_WRENCH_TIMEOUT = {"robotiq-ft300-emulated": 0.04}


def recommended_wrench_timeout(transport: str, cfg) -> float:
    """A ``safety.wrench_timeout`` (s) that ``transport`` meets with margin."""
    return max(cfg.safety.wrench_timeout, RECOMMENDED_WRENCH_TIMEOUT.get(transport, 0.0))


def describe_link(transport: str, link: EmulatedFtLink) -> str:
    """One line: what crossed an emulated link and what the driver made of it."""
    st = link.driver.stats
    return (
        f"{transport}: {st.samples} samples at {1.0 / link.period:g} Hz through the real "
        f"driver, {st.crc_errors} CRC errors, {st.sequence_gaps} sequence gaps, "
        f"{link.stats.late} late"
    )


def make_sim_cell(cfg) -> Cell:
    """The simulated cell (``sim.cell.make_sim_cell``) with its wrench delivered as
    ``sim.ft_transport`` says (``CELLS["sim"]``)."""
    cell = make_plain_sim_cell(cfg)
    try:
        return FT_TRANSPORTS.create(cfg.sim.ft_transport, cfg, cell)
    except BaseException:
        if cell.close is not None:
            cell.close()
        raise
