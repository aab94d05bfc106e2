"""`robot-us sim-scene` saves the simulated camera's view; `map-stroke` maps a stroke on
it onto the exact phantom surface (pybullet, one world build)."""

import json

import numpy as np
import pytest

from perception.camera_model import CameraModel
from robot_us.cli import main
from robot_us.config import Config
from robot_us.perception_files import load_scene, save_stroke
from sim.phantom_geometry import PhantomGeometry


@pytest.mark.slow
def test_sim_scene_then_map_stroke(tmp_path, capsys):
    scene = tmp_path / "scene.npz"
    assert main(["sim-scene", "--out", str(scene), "--noise", "0.001", "--dropout", "0.02"]) == 0
    frame = load_scene(scene)
    cfg = Config()
    assert frame.depth.shape == (cfg.sim.camera.height, cfg.sim.camera.width)
    assert frame.mask is not None and 0.05 < frame.mask.mean() < 0.6
    assert frame.rgb.dtype == np.uint8 and frame.T_base_camera is not None
    assert np.mean(frame.depth == 0) > 0.01  # dropout reached the file
    geom = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    p, _ = geom.surface_point(np.linspace(-0.3, 0.6, 6), np.linspace(-0.12, 0.12, 6))
    T = np.linalg.inv(frame.T_base_camera)
    px = CameraModel(frame.intrinsics).project(p @ T[:3, :3].T + T[:3, 3])
    save_stroke(tmp_path / "stroke.json", px)
    out = tmp_path / "path.json"
    args = ["map-stroke", "--scene", str(scene), "--stroke", str(tmp_path / "stroke.json")]
    assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
    path = json.loads(out.read_text())
    pts, nrm = np.array(path["points"]), np.array(path["normals"])
    cp, cn = geom.closest_point(pts)
    assert np.linalg.norm(pts - cp, axis=1).mean() < 0.5e-3
    assert np.degrees(np.arccos(np.clip(np.sum(nrm * cn, 1), -1, 1))).mean() < 2.0
    assert np.linalg.norm(pts[0] - p[0]) < 2e-3 and np.linalg.norm(pts[-1] - p[-1]) < 2e-3
