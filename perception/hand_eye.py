"""Eye-to-hand calibration of a fixed camera against the robot: a calibration board is
fixed to the flange, the robot visits N poses ``T_base_flange[i]`` (forward kinematics)
and the camera measures the board ``T_camera_target[i]`` (PnP). Unknowns: the camera pose
``X = T_base_camera`` and the board on the flange ``Y = T_flange_target``, with

    T_base_flange[i] @ Y = X @ T_camera_target[i]        (A_i Y = X B_i)

Closed-form solvers from OpenCV (``calibrateHandEye``: Tsai, Park, Horaud, Andreff,
Daniilidis; ``calibrateRobotWorldHandEye``: Shah, Li), chosen by name from a registry,
then optionally refined by minimising the board corners' reprojection error over all
views. Residuals per pose say how well the poses agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from perception.charuco import CalibrationError, CharucoView, pose_from_view
from robot_us.core.registry import Registry

#: Fewest robot poses accepted (15-25 recommended).
MIN_POSES = 3
#: Relative robot rotations smaller than this (rad) carry no information about the axes.
MIN_ROTATION = np.radians(5.0)
#: The relative rotation axes must span two directions: second singular value of the
#: stacked unit axes (normalised by sqrt(N)) at least this.
MIN_AXIS_SPREAD = 0.15
#: Farthest a flange pose may be from the robot base (m). The arms here reach under 1 m
#: (Panda 0.855 m, LBR iiwa 7 0.8 m); a larger translation is a pose in millimetres.
MAX_FLANGE_DISTANCE = 2.0
#: A calibration whose mean residual exceeds either of these (the measured board pose vs
#: the one predicted from robot and calibration) is refused: expect well under 1 mm and
#: 0.1 deg; several millimetres mean wrong units, wrong board sizes or a bad pose set.
MAX_MEAN_TRANS_RESIDUAL_MM = 5.0
MAX_MEAN_ROT_RESIDUAL_DEG = 1.0

Solver = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
#: Closed-form solvers: (T_base_flange N x 4 x 4, T_camera_target N x 4 x 4) ->
#: (T_base_camera, T_flange_target).
SOLVERS: Registry[Solver] = Registry("hand-eye method")


def _inv(T: np.ndarray) -> np.ndarray:
    """Inverse of rigid transforms (..., 4, 4)."""
    R = np.swapaxes(T[..., :3, :3], -1, -2)
    out = np.zeros_like(T)
    out[..., :3, :3] = R
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", R, T[..., :3, 3])
    out[..., 3, 3] = 1.0
    return out


def _make(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.ravel(t)
    return T


def _mean_transform(Ts: np.ndarray) -> np.ndarray:
    """Chordal mean rotation and mean translation of transforms (N x 4 x 4)."""
    u, _, vt = np.linalg.svd(Ts[:, :3, :3].sum(axis=0))
    R = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    return _make(R, Ts[:, :3, 3].mean(axis=0))


def _hand_eye(method: int, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # eye-to-hand: feed base->gripper (inverse FK); "cam2gripper" is then cam->base
    Ainv = _inv(A)
    R, t = cv2.calibrateHandEye(
        list(Ainv[:, :3, :3]),
        list(Ainv[:, :3, 3]),
        list(B[:, :3, :3]),
        list(B[:, :3, 3]),
        method=method,
    )
    X = _make(R, t)
    Y = _mean_transform(np.einsum("nij,jk,nkl->nil", Ainv, X, B))
    return X, Y


def _robot_world(method: int, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # T_target_camera_i T_camera_base = T_target_flange T_flange_base_i: OpenCV's
    # world2cam := target<-camera, base2gripper := flange<-base
    Binv, Ainv = _inv(B), _inv(A)
    R_cb, t_cb, R_tf, t_tf = cv2.calibrateRobotWorldHandEye(
        list(Binv[:, :3, :3]),
        list(Binv[:, :3, 3]),
        list(Ainv[:, :3, :3]),
        list(Ainv[:, :3, 3]),
        method=method,
    )
    return _inv(_make(R_cb, t_cb)), _inv(_make(R_tf, t_tf))


for _name, _flag in [
    ("tsai", cv2.CALIB_HAND_EYE_TSAI),
    ("park", cv2.CALIB_HAND_EYE_PARK),
    ("horaud", cv2.CALIB_HAND_EYE_HORAUD),
    ("andreff", cv2.CALIB_HAND_EYE_ANDREFF),
    ("daniilidis", cv2.CALIB_HAND_EYE_DANIILIDIS),
]:
    SOLVERS.register(_name, partial(_hand_eye, _flag))
for _name, _flag in [
    ("shah", cv2.CALIB_ROBOT_WORLD_HAND_EYE_SHAH),
    ("li", cv2.CALIB_ROBOT_WORLD_HAND_EYE_LI),
]:
    SOLVERS.register(_name, partial(_robot_world, _flag))


@dataclass
class HandEyeResult:
    """Camera pose in the base frame and board pose on the flange, with per-pose residuals:
    the measured board pose in the camera against the one predicted from the robot
    (rotation deg, translation mm) and, when refined on corners, the reprojection RMS (px)."""

    T_base_camera: np.ndarray
    T_flange_target: np.ndarray
    method: str
    n_poses: int
    rot_residual_deg: np.ndarray
    trans_residual_mm: np.ndarray
    reprojection_rms_px: float | None = None
    refined: bool = False

    def summary(self) -> dict:
        """Residual statistics as plain numbers (for the calibration file)."""
        out = {
            "method": self.method,
            "refined": self.refined,
            "n_poses": self.n_poses,
            "rot_residual_deg_mean": float(np.mean(self.rot_residual_deg)),
            "rot_residual_deg_max": float(np.max(self.rot_residual_deg)),
            "trans_residual_mm_mean": float(np.mean(self.trans_residual_mm)),
            "trans_residual_mm_max": float(np.max(self.trans_residual_mm)),
        }
        if self.reprojection_rms_px is not None:
            out["reprojection_rms_px"] = float(self.reprojection_rms_px)
        return out

    def check_residuals(self) -> None:
        """Refuse a calibration whose mean residuals exceed ``MAX_MEAN_TRANS_RESIDUAL_MM``
        or ``MAX_MEAN_ROT_RESIDUAL_DEG``: the poses do not agree with any camera pose."""
        mm = float(np.mean(self.trans_residual_mm))
        deg = float(np.mean(self.rot_residual_deg))
        if mm > MAX_MEAN_TRANS_RESIDUAL_MM or deg > MAX_MEAN_ROT_RESIDUAL_DEG:
            raise CalibrationError(
                f"the hand-eye residuals are {mm:.4g} mm / {deg:.3g} deg mean (at most "
                f"{MAX_MEAN_TRANS_RESIDUAL_MM:g} mm / {MAX_MEAN_ROT_RESIDUAL_DEG:g} deg "
                "accepted; expect under 1 mm / 0.1 deg): check the units of T_base_flange "
                "(metres), the board sizes in [perception.charuco] and remove bad poses"
            )


def check_robot_poses(T_base_flange: np.ndarray) -> None:
    """Refuse robot flange poses (N x 4 x 4) that are not finite or lie farther than
    ``MAX_FLANGE_DISTANCE`` from the base (translations given in millimetres)."""
    A = np.asarray(T_base_flange, dtype=np.float64)
    if not np.all(np.isfinite(A)):
        raise CalibrationError("poses contain NaN or infinite values")
    dist = np.linalg.norm(A[:, :3, 3], axis=1)
    if len(dist) and dist.max() > MAX_FLANGE_DISTANCE:
        i = int(np.argmax(dist))
        raise CalibrationError(
            f"robot pose {i} puts the flange {dist[i]:g} m from the base; T_base_flange "
            f"translations must be in metres (at most {MAX_FLANGE_DISTANCE:g} m): these look "
            "like millimetres"
        )


def _check_poses(A: np.ndarray, B: np.ndarray) -> None:
    if A.ndim != 3 or A.shape[1:] != (4, 4) or B.shape != A.shape:
        raise CalibrationError(
            f"need matching N x 4 x 4 robot and board poses, got {A.shape} and {B.shape}"
        )
    if len(A) < MIN_POSES:
        raise CalibrationError(f"need at least {MIN_POSES} poses, got {len(A)}")
    check_robot_poses(A)
    if not np.all(np.isfinite(B)):
        raise CalibrationError("poses contain NaN or infinite values")
    rel = np.einsum("ij,njk->nik", A[0, :3, :3].T, A[1:, :3, :3])
    rv = Rotation.from_matrix(rel).as_rotvec()
    ang = np.linalg.norm(rv, axis=1)
    axes = rv[ang > MIN_ROTATION] / ang[ang > MIN_ROTATION, None]
    spread = np.linalg.svd(axes, compute_uv=False) / np.sqrt(max(len(axes), 1))
    if len(axes) < 2 or spread[1] < MIN_AXIS_SPREAD:
        raise CalibrationError(
            "the robot poses do not rotate the board about two different axes by more than "
            f"{np.degrees(MIN_ROTATION):.0f} degrees: add tilted poses"
        )


def residuals(
    X: np.ndarray, Y: np.ndarray, A: np.ndarray, B: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per pose: rotation (deg) and translation (mm) between the measured board pose B_i and
    the predicted inv(X) A_i Y."""
    pred = np.einsum("ij,njk,kl->nil", _inv(X), A, Y)
    dR = np.einsum("nji,njk->nik", B[:, :3, :3], pred[:, :3, :3])
    rot = np.degrees(np.linalg.norm(Rotation.from_matrix(dR).as_rotvec(), axis=1))
    trans = 1000.0 * np.linalg.norm(pred[:, :3, 3] - B[:, :3, 3], axis=1)
    return rot, trans


def calibrate_eye_to_hand(
    T_base_flange: Sequence[np.ndarray] | np.ndarray,
    T_camera_target: Sequence[np.ndarray] | np.ndarray,
    method: str = "park",
) -> HandEyeResult:
    """Closed-form eye-to-hand calibration with the named solver (``SOLVERS``)."""
    A = np.asarray(T_base_flange, dtype=np.float64)
    B = np.asarray(T_camera_target, dtype=np.float64)
    _check_poses(A, B)
    X, Y = SOLVERS.get(method)(A, B)
    rot, trans = residuals(X, Y, A, B)
    return HandEyeResult(X, Y, method, len(A), rot, trans)


def _pack(T: np.ndarray) -> np.ndarray:
    return np.concatenate([Rotation.from_matrix(T[:3, :3]).as_rotvec(), T[:3, 3]])


def _unpack(x: np.ndarray) -> np.ndarray:
    return _make(Rotation.from_rotvec(x[:3]).as_matrix(), x[3:6])


def refine_on_corners(
    initial: HandEyeResult,
    T_base_flange: Sequence[np.ndarray] | np.ndarray,
    T_camera_target: Sequence[np.ndarray] | np.ndarray,
    views: Sequence[CharucoView],
    K: np.ndarray,
    dist: np.ndarray,
) -> HandEyeResult:
    """Refine X and Y jointly by minimising the reprojection error (px) of every detected
    board corner in every view (robust Huber loss, 1 px scale); residuals recomputed
    against the measured board poses ``T_camera_target``."""
    A = np.asarray(T_base_flange, dtype=np.float64)
    B = np.asarray(T_camera_target, dtype=np.float64)
    if len(views) != len(A) or len(B) != len(A):
        raise CalibrationError(
            f"{len(views)} views and {len(B)} board poses for {len(A)} robot poses"
        )
    obj = [v.board_points for v in views]
    pix = [v.pixels for v in views]
    K = np.asarray(K, float)
    dist = np.asarray(dist, float)

    def reprojection(x: np.ndarray) -> np.ndarray:
        Xinv, Y = _inv(_unpack(x[:6])), _unpack(x[6:])
        out = []
        for Ai, o, p in zip(A, obj, pix, strict=True):
            T = Xinv @ Ai @ Y
            proj, _ = cv2.projectPoints(o, cv2.Rodrigues(T[:3, :3])[0], T[:3, 3], K, dist)
            out.append((proj.reshape(-1, 2) - p).ravel())
        return np.concatenate(out)

    x0 = np.concatenate([_pack(initial.T_base_camera), _pack(initial.T_flange_target)])
    sol = least_squares(reprojection, x0, loss="huber", f_scale=1.0, x_scale="jac")
    X, Y = _unpack(sol.x[:6]), _unpack(sol.x[6:])
    r = reprojection(sol.x).reshape(-1, 2)
    rot, trans = residuals(X, Y, A, B)
    return HandEyeResult(
        X,
        Y,
        initial.method,
        initial.n_poses,
        rot,
        trans,
        reprojection_rms_px=float(np.sqrt(np.mean(np.sum(r * r, axis=1)))),
        refined=True,
    )


def calibrate_from_views(
    T_base_flange: Sequence[np.ndarray] | np.ndarray,
    views: Sequence[CharucoView],
    K: np.ndarray,
    dist: np.ndarray,
    method: str = "park",
    refine: bool = True,
) -> HandEyeResult:
    """Eye-to-hand calibration from robot poses and the ChArUco corners seen at each: board
    poses by PnP, the closed-form solver, then (``refine``) the reprojection refinement;
    ``CalibrationError`` if the residuals are implausible (``check_residuals``)."""
    poses = []
    for i, v in enumerate(views):
        try:
            poses.append(pose_from_view(v, K, dist).T_camera_board)
        except CalibrationError as exc:
            raise CalibrationError(f"view {i}: {exc}") from exc
    B = np.array(poses)
    result = calibrate_eye_to_hand(T_base_flange, B, method)
    if refine:
        result = refine_on_corners(result, T_base_flange, B, views, K, dist)
    result.check_residuals()
    return result
