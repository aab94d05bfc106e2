"""ChArUco boards: detection, camera intrinsics from several views, and the board's pose in
one view (for eye-to-hand calibration). Board frame (OpenCV): origin at the board's
outer top-left chessboard corner, x along the squares_x direction, y along squares_y,
z = x cross y (into the board, away from a camera that sees its printed face)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from perception.config import CharucoConfig

#: Fewest ChArUco corners for a view to count (intrinsics) or for a pose (PnP).
MIN_CORNERS = 6
#: Fewest usable views for intrinsics.
MIN_VIEWS = 4


class CalibrationError(ValueError):
    """Calibration input that cannot give a result (too few views, board not found...)."""


def make_board(spec: CharucoConfig) -> cv2.aruco.CharucoBoard:
    """The OpenCV board object of ``spec``."""
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, spec.dictionary))
    board = cv2.aruco.CharucoBoard(
        (spec.squares_x, spec.squares_y), spec.square_length, spec.marker_length, dictionary
    )
    board.setLegacyPattern(spec.legacy_pattern)
    return board


def board_image(spec: CharucoConfig, px_per_m: float, margin_px: int = 0) -> np.ndarray:
    """The board rendered at ``px_per_m`` (uint8 greyscale), for printing or simulation;
    board point (X, Y) m lies at pixel (X * px_per_m - 0.5 + margin, Y * px_per_m - 0.5 +
    margin)."""
    w = round(spec.squares_x * spec.square_length * px_per_m)
    h = round(spec.squares_y * spec.square_length * px_per_m)
    img = make_board(spec).generateImage((w, h), marginSize=0)
    if margin_px:
        img = cv2.copyMakeBorder(img, *(4 * [margin_px]), cv2.BORDER_CONSTANT, value=255)
    return img


@dataclass
class CharucoView:
    """ChArUco corners found in one image: pixels (N x 2), ids (N), board points (N x 3, m)."""

    pixels: np.ndarray
    ids: np.ndarray
    board_points: np.ndarray


def detect(image: np.ndarray, spec: CharucoConfig) -> CharucoView:
    """ChArUco corners in a greyscale or BGR image (sub-pixel); may be empty."""
    board = make_board(spec)
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    corners, ids, _, _ = cv2.aruco.CharucoDetector(board).detectBoard(gray)
    if corners is None or ids is None or len(ids) == 0:
        return CharucoView(np.zeros((0, 2)), np.zeros(0, int), np.zeros((0, 3)))
    ids = ids.ravel().astype(int)
    obj = board.getChessboardCorners()[ids]
    return CharucoView(corners.reshape(-1, 2).astype(np.float64), ids, obj.astype(np.float64))


@dataclass
class IntrinsicsCalibration:
    """Camera intrinsics from ChArUco views: K, distortion (k1 k2 p1 p2 k3), RMS
    reprojection error (px) overall and per view, views used, image size (w, h)."""

    K: np.ndarray
    dist: np.ndarray
    rms_px: float
    per_view_rms_px: np.ndarray
    n_views: int
    image_size: tuple[int, int]


def calibrate_intrinsics(
    images: list[np.ndarray], spec: CharucoConfig, fix_k3: bool = True
) -> IntrinsicsCalibration:
    """Intrinsics from several views of the board (>= 4 with >= 6 corners each; 15-25
    views tilted up to ~45 degrees and covering the whole image work well)."""
    if not images:
        raise CalibrationError("no images given")
    h, w = images[0].shape[:2]
    obj, img = [], []
    for k, im in enumerate(images):
        if im.shape[:2] != (h, w):
            raise CalibrationError(f"image {k} is {im.shape[1]} x {im.shape[0]}, not {w} x {h}")
        view = detect(im, spec)
        if len(view.ids) >= MIN_CORNERS:
            obj.append(view.board_points.astype(np.float32))
            img.append(view.pixels.astype(np.float32).reshape(-1, 1, 2))
    if len(obj) < MIN_VIEWS:
        raise CalibrationError(
            f"the board was found in {len(obj)} of {len(images)} images; need at least "
            f"{MIN_VIEWS} views with {MIN_CORNERS} corners or more"
        )
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    rms, K, dist, _, _, _, _, per_view = cv2.calibrateCameraExtended(
        obj, img, (w, h), None, None, flags=flags
    )
    return IntrinsicsCalibration(
        K=K,
        dist=dist.ravel(),
        rms_px=float(rms),
        per_view_rms_px=per_view.ravel(),
        n_views=len(obj),
        image_size=(w, h),
    )


@dataclass
class BoardPose:
    """The board's pose in the camera (``T_camera_board``), corners used, RMS
    reprojection error (px)."""

    T_camera_board: np.ndarray
    n_corners: int
    rms_px: float


def board_pose(
    image: np.ndarray, spec: CharucoConfig, K: np.ndarray, dist: np.ndarray
) -> BoardPose:
    """Pose of the board in one image (PnP on its ChArUco corners, refined)."""
    view = detect(image, spec)
    return pose_from_view(view, K, dist)


def pose_from_view(view: CharucoView, K: np.ndarray, dist: np.ndarray) -> BoardPose:
    """Board pose from detected corners (iterative PnP + Levenberg-Marquardt refinement)."""
    if len(view.ids) < MIN_CORNERS:
        raise CalibrationError(
            f"board not found: {len(view.ids)} corners detected, need {MIN_CORNERS}"
        )
    obj = view.board_points.astype(np.float64)
    pix = view.pixels.astype(np.float64)
    ok, rvec, tvec = cv2.solvePnP(obj, pix, K, dist, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        raise CalibrationError("PnP failed on the detected board corners")
    rvec, tvec = cv2.solvePnPRefineLM(obj, pix, K, dist, rvec, tvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, K, dist)
    rms = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - pix) ** 2, axis=1))))
    T = np.eye(4)
    T[:3, :3] = cv2.Rodrigues(rvec)[0]
    T[:3, 3] = tvec.ravel()
    return BoardPose(T_camera_board=T, n_corners=len(view.ids), rms_px=rms)
