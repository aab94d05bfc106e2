"""Shared message and state types. SI units everywhere; transforms are named ``T_a_b``
(4x4 homogeneous, maps b-coordinates into frame a).

Types that live in the 1 kHz loop (``ArmState``, ``WrenchSample``) are preallocated once
and filled in place by ``read(out)`` calls; they never reallocate their arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import numpy as np


def _vec(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.float64)


def zeros_where_none(obj: object, **shapes: int | tuple[int, ...]) -> None:
    """Give each attribute of ``obj`` named in ``shapes`` that is None a zero array of
    that shape (float64): the preallocation of a dataclass's array fields."""
    for name, shape in shapes.items():
        if getattr(obj, name) is None:
            setattr(obj, name, np.zeros(shape, dtype=np.float64))


class ArmStop(IntEnum):
    """Why the arm's own controller is not executing commands (0 = it is)."""

    NONE = 0
    PROTECTIVE = 1  # protective / safeguard stop (UR), raised by the controller
    EMERGENCY = 2  # emergency stop or user stop button pressed
    REFLEX = 3  # collision / limit reflex (Franka)
    LINK_LOST = 4  # the command link or the robot-side program stopped (watchdog, RTDE)


@dataclass
class ArmState:
    """Joint-space state of the arm: positions (rad), velocities (rad/s), torques (N·m),
    and ``stop``, the arm controller's stop state (an ``ArmStop`` value, 0 = running)."""

    n_joints: int
    t: float = 0.0
    q: np.ndarray = field(default=None)  # type: ignore[assignment]
    qd: np.ndarray = field(default=None)  # type: ignore[assignment]
    tau: np.ndarray = field(default=None)  # type: ignore[assignment]
    stop: int = 0

    def __post_init__(self) -> None:
        n = self.n_joints
        zeros_where_none(self, q=n, qd=n, tau=n)

    def copy_from(self, other: ArmState) -> None:
        """Copy ``other`` into this state without allocating."""
        self.t = other.t
        self.q[:] = other.q
        self.qd[:] = other.qd
        self.tau[:] = other.tau
        self.stop = other.stop


@dataclass
class JointKinematics:
    """The arm's joint state and the probe's kinematics at it, for one control cycle:
    positions ``q`` (rad), velocities ``qd`` (rad/s), the probe pose ``T_base_probe``
    (4x4) and its Jacobian ``J`` (6 x n, base frame, [v; w]). Arrays left None are
    allocated (zeros); pass views to share one set between readers (the control cycle
    shares it between the controller input and the safety signals)."""

    n_joints: int
    q: np.ndarray = field(default=None)  # type: ignore[assignment]
    qd: np.ndarray = field(default=None)  # type: ignore[assignment]
    T_base_probe: np.ndarray = field(default_factory=lambda: np.eye(4))
    J: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = self.n_joints
        zeros_where_none(self, q=n, qd=n, J=(6, n))


@dataclass
class WrenchSample:
    """One force/torque sample [fx fy fz tx ty tz] (N, N·m) in the sensor frame.

    ``seq`` increments with every new sensor sample; a reader that sees the same ``seq``
    twice knows the sensor has not delivered anything new (staleness detection). ``t`` is
    when the sample was measured and ``age`` how old it was when ``read`` returned it (s,
    both on the sensor's clock: simulated time in simulation; for a threaded driver its
    arrival minus its time on the wire), which the wrench-staleness safety layer checks.
    """

    t: float = 0.0
    wrench: np.ndarray = field(default_factory=lambda: _vec(6))
    seq: int = 0
    age: float = 0.0

    @property
    def force(self) -> np.ndarray:
        """Force part (N), a view."""
        return self.wrench[:3]

    @property
    def torque(self) -> np.ndarray:
        """Torque part (N·m), a view."""
        return self.wrench[3:]

    def copy_from(self, other: WrenchSample) -> None:
        """Copy ``other`` into this sample without allocating."""
        self.t = other.t
        self.wrench[:] = other.wrench
        self.seq = other.seq
        self.age = other.age


@dataclass
class CameraIntrinsics:
    """Pinhole intrinsics with OpenCV conventions; ``dist`` in OpenCV order (k1 k2 p1 p2 k3...)."""

    width: int
    height: int
    K: np.ndarray  # 3x3
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))


@dataclass
class RgbdFrame:
    """One RGB-D capture: ``rgb`` HxWx3 uint8, ``depth`` HxW float32 metres along the optical
    axis (0 or NaN = invalid), intrinsics, the camera pose and a body mask if known."""

    t: float
    rgb: np.ndarray
    depth: np.ndarray
    intrinsics: CameraIntrinsics
    T_base_camera: np.ndarray | None = None
    mask: np.ndarray | None = None  # HxW bool body pixels, where the source knows them


@dataclass
class UltrasoundFrame:
    """One B-mode frame (HxW uint8) with its time (s), pixel spacing (m/pixel: lateral, axial)
    and, where known, the probe pose and the wrench at that time."""

    t: float
    image: np.ndarray
    spacing_m: tuple[float, float]
    seq: int = 0
    T_base_probe: np.ndarray | None = None
    wrench: np.ndarray | None = None
    meta: dict = field(default_factory=dict)


@dataclass
class SurfacePath:
    """Points on the skin and outward unit normals (both Nx3, metres) in frame ``frame``."""

    points: np.ndarray
    normals: np.ndarray
    frame: str = "base"

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64)
        self.normals = np.asarray(self.normals, dtype=np.float64)
        if self.points.ndim != 2 or self.points.shape[1] != 3:
            raise ValueError(f"SurfacePath.points must be Nx3, got shape {self.points.shape}")
        if self.normals.shape != self.points.shape:
            raise ValueError(
                f"SurfacePath.normals shape {self.normals.shape} != points shape "
                f"{self.points.shape}"
            )
        if not np.all(np.isfinite(self.points)) or not np.all(np.isfinite(self.normals)):
            raise ValueError("SurfacePath contains NaN or infinite values")
        norms = np.linalg.norm(self.normals, axis=1)
        if np.any(norms < 1e-9):
            raise ValueError("SurfacePath has a zero-length normal")
        self.normals = self.normals / norms[:, None]

    def __len__(self) -> int:
        return len(self.points)


class SegmentKind(StrEnum):
    """Kind of a planned motion segment."""

    TRANSFER = "transfer"  # joint-space move to the pre-approach pose
    APPROACH = "approach"  # along the normal, from stand-off to the skin
    SWEEP = "sweep"  # along the surface path in contact
    RETRACT = "retract"  # along the normal, back to stand-off


@dataclass
class ScanPlan:
    """A planned scan, in execution order: probe poses (N x 4 x 4, base frame), the path
    arc length at each pose (N, m: 0 before the sweep, the path length after it), the
    joint solution per pose (N x n, rad) and the segment kind of each pose. ``duration_s``
    is the total at the set ``speed_m_s``; ``segment_durations_s`` splits it by kind.
    ``flipped``: the probe is turned 180 deg about its axis from the nominal plane;
    ``max_speed_m_s``: the fastest sweep speed the arm's joint speed limits allow."""

    poses: np.ndarray
    arc_length: np.ndarray
    joints: np.ndarray
    kinds: list[SegmentKind]
    speed_m_s: float
    duration_s: float
    robot: str = "panda"
    plane: str = "longitudinal"
    flipped: bool = False
    max_speed_m_s: float = 0.0
    segment_durations_s: dict[str, float] = field(default_factory=dict)

    def segment(self, kind: SegmentKind) -> np.ndarray:
        """Indices of the poses of one segment kind."""
        return np.flatnonzero(np.array([k == kind for k in self.kinds], dtype=bool))
