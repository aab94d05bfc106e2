"""``robot-us bringup camera`` and ``robot-us bringup handeye``: collect ChArUco views
from the configured RGB-D camera (and, for the hand-eye step, the arm's flange pose at
each view, the arm read-only while the operator moves it by hand), save them as the
images and ``hand_eye.json`` that ``robot-us calibrate`` reads, and run that command's
maths on them to write ``calibration.json`` (the file ``map-stroke --calibration`` and
the scan read). The board is ``perception.charuco`` (``[perception.charuco]``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from perception.charuco import detect
from robot_us.commands import calibrate
from robot_us.core.backends import ArmBackend, RgbdCamera
from robot_us.core.types import ArmState
from robot_us.output_paths import new_folder

#: Fewest board corners for a view to be kept.
MIN_CORNERS = 6
#: Fewest views for each step.
MIN_INTRINSICS_VIEWS = 6
MIN_HAND_EYE_VIEWS = 5
INTRINSICS_PATTERN = "intr_*.png"
HAND_EYE_FILE = "hand_eye.json"
CALIBRATION_FILE = "calibration.json"


def _grey(frame) -> np.ndarray:
    return cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)


def collect_views(
    camera: RgbdCamera,
    spec,
    out_dir: Path,
    prefix: str,
    views: int,
    prompt: Callable[[str], str],
    pose: Callable[[], np.ndarray] | None = None,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Up to ``views`` views with enough corners, each saved as ``<prefix>_NNN.png``
    (grey) with the flange pose ``pose()`` where given; the operator answers ``prompt``
    with Enter to capture or ``q`` to finish. ``out_dir`` must be new or empty (the
    output policy of ``robot_us.output_paths``)."""
    new_folder(out_dir)
    kept: list[dict] = []
    while len(kept) < views:
        answer = prompt(
            f"view {len(kept) + 1}/{views}: place the board, Enter to capture, q to end: "
        )
        if answer.strip().lower() == "q":
            break
        T = pose() if pose is not None else None
        image = _grey(camera.capture())
        view = detect(image, spec)
        n = len(view.ids)
        if n < MIN_CORNERS:
            log(f"  {n} corners found (need {MIN_CORNERS}): not kept; show more of the board")
            continue
        name = f"{prefix}_{len(kept):03d}.png"
        cv2.imwrite(str(out_dir / name), image)
        entry: dict = {"image": name, "corners": n}
        if T is not None:
            entry["T_base_flange"] = np.asarray(T).tolist()
        kept.append(entry)
        log(f"  kept {name}: {n} corners")
    return kept


def _calibrate(config_files: list[str], **kw) -> int:
    args = argparse.Namespace(
        intrinsics_images=None,
        intrinsics=None,
        hand_eye=None,
        method="park",
        no_refine=False,
        config=list(config_files),
        overwrite=False,
    )
    for k, v in kw.items():
        setattr(args, k, v)
    return calibrate.run(args)


def camera_intrinsics(
    camera: RgbdCamera,
    spec,
    out_dir: Path,
    views: int,
    prompt: Callable[[str], str],
    config_files: list[str],
    log: Callable[[str], None] = print,
) -> Path:
    """Collect intrinsics views and write ``out_dir/calibration.json``."""
    kept = collect_views(camera, spec, out_dir, "intr", views, prompt, log=log)
    if len(kept) < MIN_INTRINSICS_VIEWS:
        raise ValueError(
            f"only {len(kept)} usable views (need {MIN_INTRINSICS_VIEWS}): tilt the board and "
            "cover the corners of the image"
        )
    out = out_dir / CALIBRATION_FILE
    _calibrate(config_files, intrinsics_images=str(out_dir / INTRINSICS_PATTERN), out=str(out))
    return out


def hand_eye(
    camera: RgbdCamera,
    arm: ArmBackend,
    fk_flange: Callable[[np.ndarray], np.ndarray],
    spec,
    out_dir: Path,
    intrinsics: Path,
    views: int,
    prompt: Callable[[str], str],
    config_files: list[str],
    method: str = "park",
    log: Callable[[str], None] = print,
) -> Path:
    """Collect (flange pose, board view) pairs and write ``out_dir/calibration.json`` with
    the intrinsics of ``intrinsics`` and the camera pose ``T_base_camera``."""
    state = ArmState(arm.n_joints)

    def pose() -> np.ndarray:
        arm.read(state)
        if state.stop:
            log(f"  the arm reports stop state {state.stop}; the pose is still read")
        return fk_flange(state.q)

    kept = collect_views(camera, spec, out_dir, "he", views, prompt, pose=pose, log=log)
    if len(kept) < MIN_HAND_EYE_VIEWS:
        raise ValueError(
            f"only {len(kept)} usable poses (need {MIN_HAND_EYE_VIEWS}): rotate the flange about "
            "different axes between views"
        )
    he = out_dir / HAND_EYE_FILE
    poses = [{"T_base_flange": k["T_base_flange"], "image": k["image"]} for k in kept]
    he.write_text(json.dumps({"poses": poses}, indent=1) + "\n")
    out = out_dir / CALIBRATION_FILE
    _calibrate(
        config_files, intrinsics=str(intrinsics), hand_eye=str(he), method=method, out=str(out)
    )
    return out
