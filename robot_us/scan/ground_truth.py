"""Ground truth of a simulated scan, recorded after every physics step (lockstep only):
the true contact force, the probe pose, the phantom's breathing shift, and what the scan
commanded (state, arc length, force setpoint). ``sweep_figures`` turns it into the force,
orientation and lateral errors against the exact phantom and the planned path.

Not part of the real-time path: it calls the simulator (a few pybullet queries per step)
and exists to measure the scan, never to control it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot_us.scan.planning import PlannedScan
from robot_us.scan.states import ScanState


class GroundTruthLog:
    """Preallocated per-step record of a simulated scan (rows beyond ``capacity`` are
    counted in ``dropped``, never stored)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.t = np.zeros(capacity)
        self.force = np.zeros(capacity)  # summed contact normal force (N)
        self.f_ft = np.zeros(capacity)  # compensated, filtered F/T pressing force (N)
        self.f_set = np.zeros(capacity)  # ramped setpoint in use (N)
        self.tip = np.zeros((capacity, 3))  # probe face centre (m, base)
        self.zaxis = np.zeros((capacity, 3))  # probe z axis (base)
        self.ref = np.zeros((capacity, 3))  # commanded probe position (m, base)
        self.dz = np.zeros(capacity)  # breathing shift (m)
        self.s = np.zeros(capacity)  # arc length (m)
        self.override = np.zeros(capacity)  # speed override in use
        self.state = np.zeros(capacity, dtype=np.int8)
        self.n = 0
        self.dropped = 0

    def push(
        self,
        t: float,
        force: float,
        f_ft: float,
        f_set: float,
        T_probe: np.ndarray,
        ref: np.ndarray,
        dz: float,
        s: float,
        override: float,
        state: int,
    ) -> None:
        """Append one step."""
        i = self.n
        if i >= self.capacity:
            self.dropped += 1
            return
        self.t[i] = t
        self.force[i] = force
        self.f_ft[i] = f_ft
        self.f_set[i] = f_set
        self.tip[i] = T_probe[:3, 3]
        self.zaxis[i] = T_probe[:3, 2]
        self.ref[i] = ref
        self.dz[i] = dz
        self.s[i] = s
        self.override[i] = override
        self.state[i] = state
        self.n = i + 1

    def view(self, name: str) -> np.ndarray:
        """The recorded part of column ``name``."""
        return getattr(self, name)[: self.n]


@dataclass
class SweepFigures:
    """Errors during the sweep against the simulator's ground truth: forces in N, angles
    in degrees, distances in mm."""

    samples: int
    force_rms: float
    force_max_abs_err: float
    force_ft_rms: float
    orientation_rms_deg: float
    orientation_max_deg: float
    lateral_rms_mm: float
    lateral_max_mm: float
    along_track_rms_mm: float
    contact_overshoot: float

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready, rounded."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(self).items()}


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else float("nan")


def _max_abs(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) if len(x) else float("nan")


def probe_axis_angles_deg(geometry, tip: np.ndarray, zaxis: np.ndarray, dz: np.ndarray):
    """Angle (deg) between the probe axis ``zaxis`` (N x 3) and the true inward skin normal
    at the skin point closest to the tip ``tip`` (N x 3, m) of the exact phantom
    ``geometry`` shifted by ``dz`` (N, m; breathing)."""
    _, n = geometry.closest_point(tip, np.asarray(dz, dtype=float))
    return np.degrees(np.arccos(np.clip(-np.sum(n * zaxis, axis=-1), -1.0, 1.0)))


def sweep_figures(
    log: GroundTruthLog, geometry, planned: PlannedScan | None, nominal_force: float
) -> SweepFigures:
    """Force error (true contact force minus the setpoint in use), probe-axis angle to the
    true inward skin normal, cross-track (lateral) and along-track distance of the tip from
    the commanded path point (along the path tangent of ``planned.twist``), over the steps
    in ``SWEEP``; the peak force above ``nominal_force`` (N) while settling. ``geometry``:
    the exact phantom."""
    state = log.view("state")
    sweep = state == ScanState.SWEEP
    settle = state == ScanState.SETTLE
    force, f_set = log.view("force"), log.view("f_set")
    err = force[sweep] - f_set[sweep]
    err_ft = log.view("f_ft")[sweep] - f_set[sweep]
    tip, z, dz = log.view("tip")[sweep], log.view("zaxis")[sweep], log.view("dz")[sweep]
    angles = probe_axis_angles_deg(geometry, tip, z, dz)
    lateral = np.zeros(len(tip))
    along = np.zeros(len(tip))
    if planned is not None and len(tip):
        ref = log.view("ref")[sweep]
        s = log.view("s")[sweep]
        T, tw = np.eye(4), np.zeros(6)
        for i in range(len(tip)):
            tangent = planned.twist.twist_into(float(s[i]), 1.0, tw)[:3]
            tangent /= max(np.linalg.norm(tangent), 1e-12)
            normal = -planned.path.pose_at(float(s[i]), T)[:3, 2]  # outward normal = -probe z
            e = tip[i] - ref[i]
            e_t = e - (e @ normal) * normal
            along[i] = e_t @ tangent
            lateral[i] = np.linalg.norm(e_t - along[i] * tangent)
    settle_f = force[settle]
    overshoot = float(max(0.0, settle_f.max() - nominal_force)) if len(settle_f) else float("nan")
    return SweepFigures(
        samples=int(sweep.sum()),
        force_rms=_rms(err),
        force_max_abs_err=_max_abs(err),
        force_ft_rms=_rms(err_ft),
        orientation_rms_deg=_rms(angles),
        orientation_max_deg=float(angles.max()) if len(angles) else float("nan"),
        lateral_rms_mm=1e3 * _rms(lateral),
        lateral_max_mm=1e3 * (float(lateral.max()) if len(lateral) else float("nan")),
        along_track_rms_mm=1e3 * _rms(along),
        contact_overshoot=overshoot,
    )
