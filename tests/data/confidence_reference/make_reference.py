"""Regenerates the confidence-map reference (``reference.npz``) with MONAI's
``UltrasoundConfidenceMapTransform`` (the Karamalis reference definition; needs the
``train`` extra: ``pip install -e '.[train]'``):

    python tests/data/confidence_reference/make_reference.py

Inputs are simulated frames (linear and convex probes: in contact, over the rib, tilted
off one edge, lifted off) decimated with area averaging as ``confidence_at_size`` does,
plus one non-square input; the maps are MONAI's
with its defaults (alpha 2, beta 90, gamma 0.05, mode B, sink mode all, direct solver).
The test (``tests/test_quality_confidence.py``) reads inputs and maps from the file, so it
does not depend on the simulator staying the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from monai import __version__ as monai_version  # noqa: E402
from monai.transforms import UltrasoundConfidenceMapTransform  # noqa: E402

from tests.us_helpers import RIB_Y, on_skin, small_sim  # noqa: E402

#: (name, probe geometry, pose keywords, force N, decimated size (h, w))
CASES = (
    ("linear_contact", "linear", {}, 4.0, (64, 64)),
    ("linear_rib", "linear", {"y": RIB_Y, "yaw": np.pi / 2}, 4.0, (64, 64)),
    ("linear_tilted", "linear", {"roll": 0.3, "press": 0.0005}, 1.0, (64, 64)),
    ("linear_lifted", "linear", {"press": -0.01}, 0.0, (64, 64)),
    ("convex_contact", "convex", {}, 4.0, (64, 64)),
    ("convex_rib", "convex", {"y": RIB_Y, "yaw": np.pi / 2}, 4.0, (64, 64)),
    ("convex_tilted", "convex", {"roll": 0.3, "press": 0.0005}, 1.0, (64, 64)),
    ("linear_non_square", "linear", {"theta": 0.2}, 3.0, (48, 80)),
)


def main() -> None:
    ref = UltrasoundConfidenceMapTransform()
    names, inputs, maps = [], [], []
    for name, kind, pose, force, (h, w) in CASES:
        image = small_sim(kind, 128).render(on_skin(**pose), force).image
        small = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        conf = np.asarray(ref(small[None].astype(np.float64)), dtype=np.float64)
        names.append(name)
        inputs.append(small)
        maps.append(conf.reshape(h, w).astype(np.float32))
    arrays = {"names": np.array(names), "monai_version": np.array(monai_version)}
    for name, x, m in zip(names, inputs, maps, strict=True):
        arrays[f"input_{name}"] = x
        arrays[f"map_{name}"] = m
    np.savez_compressed(HERE / "reference.npz", **arrays)
    print(f"{len(names)} reference maps (MONAI {monai_version}) -> {HERE / 'reference.npz'}")


if __name__ == "__main__":
    main()
