"""``robot-us calibrate``: camera intrinsics from ChArUco images and/or the eye-to-hand
calibration of the fixed camera against the robot -> calibration.json."""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

from robot_us.output_paths import add_overwrite_flag

HELP = "calibrate the camera (ChArUco intrinsics, eye-to-hand pose) -> calibration.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us calibrate``."""
    p.add_argument(
        "--intrinsics-images",
        metavar="GLOB",
        help="images of the ChArUco board for the intrinsics (e.g. 'intr/*.png', quoted)",
    )
    p.add_argument(
        "--intrinsics",
        metavar="FILE",
        help="an earlier calibration.json whose intrinsics to use instead",
    )
    p.add_argument(
        "--hand-eye",
        metavar="FILE",
        help='hand_eye.json: {"poses": [{"T_base_flange": 4x4, "image": "he_000.png"}, ...]}',
    )
    p.add_argument("--method", default="park", help="hand-eye solver (default park)")
    p.add_argument(
        "--no-refine", action="store_true", help="skip the corner reprojection refinement"
    )
    p.add_argument("--config", action="append", default=[], help="TOML config file(s)")
    p.add_argument("--out", required=True, help="calibration.json to write")
    add_overwrite_flag(p)


def _read_image(path: Path):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    return img


def _hand_eye_input(path: Path) -> tuple[list, list]:
    """Robot poses and images of hand_eye.json (images only from inside its folder)."""
    from robot_us.perception_files import load_hand_eye

    data = load_hand_eye(path)
    return list(data.T_base_flange), [_read_image(p) for p in data.images]


def run(args: argparse.Namespace) -> int:
    """Run the requested calibration steps and write the calibration file."""
    import numpy as np

    from perception.camera_calibration import CameraCalibration
    from perception.charuco import calibrate_intrinsics, detect
    from perception.hand_eye import calibrate_from_views
    from robot_us.config import load_config
    from robot_us.core.types import CameraIntrinsics
    from robot_us.output_paths import check_new_file, new_file
    from robot_us.perception_files import load_calibration, save_calibration

    check_new_file(args.out, args.overwrite)
    if not (args.intrinsics_images or args.hand_eye):
        raise ValueError("nothing to do: give --intrinsics-images and/or --hand-eye")
    spec = load_config(*args.config).perception.charuco
    calib = CameraCalibration(T_base_camera=None)
    if args.intrinsics_images:
        files = sorted(glob.glob(args.intrinsics_images))
        if not files:
            raise FileNotFoundError(f"no images match {args.intrinsics_images!r}")
        res = calibrate_intrinsics([_read_image(Path(f)) for f in files], spec)
        w, h = res.image_size
        calib.intrinsics = CameraIntrinsics(w, h, res.K, res.dist)
        calib.intrinsics_report = {
            "rms_px": res.rms_px,
            "n_views": res.n_views,
            "n_images": len(files),
            "worst_view_rms_px": float(res.per_view_rms_px.max()),
        }
        print(
            f"intrinsics from {res.n_views} of {len(files)} images: fx {res.K[0, 0]:.1f} "
            f"fy {res.K[1, 1]:.1f} cx {res.K[0, 2]:.1f} cy {res.K[1, 2]:.1f} px, "
            f"RMS {res.rms_px:.3f} px"
        )
    elif args.intrinsics:
        earlier = load_calibration(args.intrinsics)
        if earlier.intrinsics is None:
            raise ValueError(f"{args.intrinsics} holds no intrinsics")
        calib.intrinsics = earlier.intrinsics
        calib.intrinsics_report = earlier.intrinsics_report
    if args.hand_eye:
        if calib.intrinsics is None:
            raise ValueError(
                "the hand-eye step needs the camera intrinsics: give --intrinsics-images "
                "or --intrinsics"
            )
        T_base_flange, images = _hand_eye_input(Path(args.hand_eye))
        views = [detect(img, spec) for img in images]
        K, dist = calib.intrinsics.K, np.asarray(calib.intrinsics.dist)
        res = calibrate_from_views(
            T_base_flange, views, K, dist, method=args.method, refine=not args.no_refine
        )
        calib.T_base_camera = res.T_base_camera
        calib.hand_eye = res.summary()
        calib.hand_eye["T_flange_target"] = res.T_flange_target.tolist()
        s = res.summary()
        print(
            f"camera pose from {s['n_poses']} robot poses ({s['method']}"
            f"{', refined' if s['refined'] else ''}): residuals "
            f"{s['trans_residual_mm_mean']:.2f} mm / {s['rot_residual_deg_mean']:.3f} deg mean, "
            f"{s['trans_residual_mm_max']:.2f} mm / {s['rot_residual_deg_max']:.3f} deg max"
            + (
                f", reprojection RMS {s['reprojection_rms_px']:.3f} px"
                if "reprojection_rms_px" in s
                else ""
            )
        )
    with new_file(args.out, args.overwrite) as tmp:
        save_calibration(tmp, calib)
    print(f"wrote {args.out}")
    return 0
