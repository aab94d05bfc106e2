"""Ground truth of a simulated scan, recorded after every physics step (lockstep only):
the true contact force, the probe pose, the phantom's breathing shift, the commanded
reference position, and the state-row columns (state, arc length, force setpoint and
measurement, speed override) they are compared with. ``sweep_figures`` turns it into the force,
orientation and lateral errors against the exact phantom and the planned path.

Not part of the real-time path: it calls the simulator (a few pybullet queries per step)
and exists to measure the scan, never to control it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from robot_us.ring import ColumnRing
from robot_us.scan.planning import PlannedScan
from robot_us.scan.states import ScanState


class GroundTruthLog(ColumnRing):
    """Per-step record of a simulated scan, for its report: what only the simulator knows
    (``force``: summed contact normal force, N; ``tip``/``zaxis``: the probe face centre,
    m, and axis, base frame; ``dz``: the breathing shift, m; ``t``: simulated time after
    the step, s), the commanded reference position ``ref`` (m, base), and the columns of
    the cycle's state row it is measured against, under their state-stream names
    (``s``, ``state``, ``f_set``, ``f_n``, ``speed_override``): the state stream is a
    ring the recorder drains, this log keeps the whole run (``capacity`` steps, newest
    overwrite oldest)."""

    COLUMNS: ClassVar[dict[str, type | tuple[type, tuple[int, ...]]]] = {
        "t": np.float64,
        "force": np.float64,
        "tip": (np.float64, (3,)),
        "zaxis": (np.float64, (3,)),
        "dz": np.float64,
        "ref": (np.float64, (3,)),
        "s": np.float64,
        "state": np.int8,
        "f_set": np.float64,
        "f_n": np.float64,
        "speed_override": np.float64,
    }

    def record(self, world: Any, ref: np.ndarray, row: np.void) -> None:
        """One step: the simulated ``world``'s truth now, the reference position ``ref``
        and the state row ``row`` of the cycle just run."""
        T = world.probe_pose()
        self.push(
            world.t,
            world.contact_force(),
            T[:3, 3],
            T[:3, 2],
            world.breathing_offset(),
            ref,
            row["s"],
            row["state"],
            row["f_set"],
            row["f_n"],
            row["speed_override"],
        )


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
    state = log.ordered("state")
    sweep = state == ScanState.SWEEP
    settle = state == ScanState.SETTLE
    force, f_set = log.ordered("force"), log.ordered("f_set")
    err = force[sweep] - f_set[sweep]
    err_ft = log.ordered("f_n")[sweep] - f_set[sweep]
    tip, z = log.ordered("tip")[sweep], log.ordered("zaxis")[sweep]
    dz = log.ordered("dz")[sweep]
    angles = probe_axis_angles_deg(geometry, tip, z, dz)
    lateral = np.zeros(len(tip))
    along = np.zeros(len(tip))
    if planned is not None and len(tip):
        ref = log.ordered("ref")[sweep]
        s = log.ordered("s")[sweep]
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
