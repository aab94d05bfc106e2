"""The generated-URDF cache is the user's own and content-checked: a planted or damaged
file is never loaded, a folder others can write to is made private, one owned by someone
else is refused."""

import dataclasses
import os
import stat

import pytest

from robot_us.core.arms import arm_model
from robot_us.core.probe import ProbeConfig
from sim.file_cache import CacheDirError, cache_dir, cached_file
from sim.probe_tool import ProbeTool
from sim.urdf_builder import build_arm_urdf


def _arm():
    return arm_model("panda")


def test_default_cache_is_private_under_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("ROBOT_US_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    d = cache_dir()
    assert d == tmp_path / "xdg" / "robot-us"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_a_planted_file_is_replaced_not_loaded(tmp_path):
    good = cached_file(tmp_path, "arm", ".urdf", b"<robot name='good'/>")
    good.write_text("<robot name='planted'/>")  # same name, other content
    again = cached_file(tmp_path, "arm", ".urdf", b"<robot name='good'/>")
    assert again == good and again.read_bytes() == b"<robot name='good'/>"


def test_the_arm_urdf_is_verified_on_every_build(tmp_path):
    arm = _arm()
    tool = ProbeTool.from_config(dataclasses.replace(ProbeConfig(), geometry="convex"))
    urdf = build_arm_urdf(arm.name, arm.sim, tool, tmp_path)
    text = urdf.read_text()
    assert "probe" in text and urdf.name.startswith(f"{arm.name}-convex-")
    mesh = next(tmp_path.glob("convex_lens-*.obj"))
    mesh.write_text("v 0 0 0\n")  # damage the mesh and plant a URDF
    urdf.write_text("<robot name='evil'/>")
    assert build_arm_urdf(arm.name, arm.sim, tool, tmp_path) == urdf
    assert urdf.read_text() == text and mesh.read_text().count("\nf ") > 10


def test_a_group_writable_cache_is_made_private(tmp_path, monkeypatch):
    d = tmp_path / "shared"
    d.mkdir()
    os.chmod(d, 0o777)
    monkeypatch.setenv("ROBOT_US_CACHE", str(d))
    assert cache_dir() == d and stat.S_IMODE(d.stat().st_mode) == 0o700


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the folder away")
def test_a_cache_owned_by_another_user_is_refused(tmp_path, monkeypatch):
    d = tmp_path / "theirs"
    d.mkdir()
    os.chown(d, 65534, -1)
    monkeypatch.setenv("ROBOT_US_CACHE", str(d))
    with pytest.raises(CacheDirError, match="belongs to another user"):
        cache_dir()
