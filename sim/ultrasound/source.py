"""The simulated ultrasound frame source: renders a B-mode frame of the phantom for the
probe's true pose, contact force and breathing shift, read through callables so that the
source does not depend on pybullet (the world, a test or a recorded trajectory supply them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from robot_us.core.backends import UltrasoundSource
from robot_us.core.types import UltrasoundFrame
from sim.phantom_geometry import PhantomGeometry
from sim.ultrasound.bmode import BModeSimulator

#: Most grabs kept to look back ``latency`` (0.5 s at up to 1 kHz grabs).
MAX_HISTORY = 512


class SimUltrasoundSource(UltrasoundSource):
    """Frames from ``BModeSimulator`` on demand (no pacing: the caller grabs at its rate).

    ``pose()`` -> T_base_probe (4x4, m), ``force()`` -> normal contact force (N),
    ``breathing()`` -> body shift dz (m), ``clock()`` -> time (s); without a clock, frame
    times are ``seq / rate_hz``. ``max_frames`` ends the source (None = endless). Each
    frame's ``meta`` carries the simulator's ground truth (quality class, score, coupled and
    shadowed fractions); ``wrench`` is [0, 0, F, 0, 0, 0] in the probe frame.

    ``latency`` (s) makes the image lag its timestamp like a real scanner's: the frame
    stamped t (with the pose and force at t) shows the scene at t - latency, rendered from
    the probe state interpolated between the states seen at earlier grabs (linear
    position, force and breathing, slerped rotation); before the first grab the probe is
    taken to have been where it was then.
    """

    def __init__(
        self,
        simulator: BModeSimulator,
        pose: Callable[[], np.ndarray],
        force: Callable[[], float] | None = None,
        breathing: Callable[[], float] | None = None,
        clock: Callable[[], float] | None = None,
        rate_hz: float = 30.0,
        max_frames: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.simulator = simulator
        self._pose = pose
        self._force = force or (lambda: 0.0)
        self._breathing = breathing or (lambda: 0.0)
        self._clock = clock
        self._period = 1.0 / rate_hz
        self._max = max_frames
        self._seq = 0
        self.latency = float(latency)
        # (t, T, force, dz) of the grabs since the last one at or before t - latency
        self._history: deque[tuple[float, np.ndarray, float, float]] = deque(maxlen=MAX_HISTORY)

    def grab(self) -> UltrasoundFrame | None:
        """Render the next frame, or None once ``max_frames`` have been delivered."""
        if self._max is not None and self._seq >= self._max:
            return None
        T = np.array(self._pose(), dtype=np.float64)
        f = float(self._force())
        dz = float(self._breathing())
        t = float(self._clock()) if self._clock else self._seq * self._period
        T_shown, f_shown, dz_shown = T, f, dz
        if self.latency > 0:
            h = self._history
            h.append((t, T, f, dz))
            while len(h) > 2 and h[1][0] <= t - self.latency:
                h.popleft()
            T_shown, f_shown, dz_shown = self._state_at(t - self.latency)
        sim = self.simulator.render(T_shown, f_shown, dz_shown)
        truth = sim.truth
        frame = UltrasoundFrame(
            t=t,
            image=sim.image,
            spacing_m=sim.spacing_m,
            seq=self._seq,
            T_base_probe=T,
            wrench=np.array([0.0, 0.0, f, 0.0, 0.0, 0.0]),
            meta={
                "source": "sim",
                "quality": truth.quality.value,
                "score": truth.score,
                "coupled_fraction": truth.coupled_fraction,
                "shadow_fraction": truth.shadow_fraction,
                "breathing_dz": dz_shown,
            },
        )
        self._seq += 1
        return frame

    def _state_at(self, t: float) -> tuple[np.ndarray, float, float]:
        """Probe pose, force and breathing shift at time ``t`` (s) from the grab history."""
        h = self._history
        if t <= h[0][0]:
            return h[0][1], h[0][2], h[0][3]
        for (t0, T0, f0, z0), (t1, T1, f1, z1) in zip(h, list(h)[1:], strict=False):
            if t0 <= t <= t1 and t1 > t0:
                a = (t - t0) / (t1 - t0)
                T = np.eye(4)
                rots = Rotation.from_matrix(np.stack([T0[:3, :3], T1[:3, :3]]))
                T[:3, :3] = Slerp([0.0, 1.0], rots)(a).as_matrix()
                T[:3, 3] = (1 - a) * T0[:3, 3] + a * T1[:3, 3]
                return T, (1 - a) * f0 + a * f1, (1 - a) * z0 + a * z1
        return h[-1][1], h[-1][2], h[-1][3]


def make_simulator(cfg: Any) -> BModeSimulator:
    """The B-mode simulator of a root ``Config`` (probe, phantom, bed, ultrasound.sim)."""
    geometry = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    return BModeSimulator(cfg.ultrasound.sim, cfg.probe, geometry)


def make_sim_ultrasound_source(cfg: Any, world: Any = None) -> SimUltrasoundSource:
    """The simulated source of a root ``Config`` wired to a simulated world that provides
    ``probe_pose()`` (4x4), ``contact_force()`` (N), ``breathing_offset()`` (m) and its
    simulated time ``t`` (s), the frame times."""
    if world is None:
        raise ValueError(
            "the simulated ultrasound source needs a simulated world "
            "(probe_pose, contact_force, breathing_offset)"
        )
    for name in ("probe_pose", "contact_force", "breathing_offset"):
        if not callable(getattr(world, name, None)):
            raise ValueError(f"the simulated world has no method {name}() for the ultrasound sim")
    if not hasattr(world, "t"):
        raise ValueError("the simulated world has no time attribute t for the ultrasound sim")
    return SimUltrasoundSource(
        make_simulator(cfg),
        pose=world.probe_pose,
        force=world.contact_force,
        breathing=world.breathing_offset,
        clock=lambda: float(world.t),
        rate_hz=cfg.ultrasound.rate_hz,
        latency=cfg.ultrasound.sim.latency,
    )
