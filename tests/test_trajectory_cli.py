"""path.json validation, plan.json content and the ``robot-us plan`` exit codes."""

import json

import numpy as np
import pytest

from robot_us.cli import main
from robot_us.config import Config
from robot_us.core.types import SegmentKind, SurfacePath
from sim.phantom_geometry import PhantomGeometry
from trajectory.formats import PLAN_FORMAT, PathFormatError, path_from_dict, path_to_dict


def _doc(n=60, theta=(-0.3, 0.0), y=(-0.06, 0.06)):
    cfg = Config()
    geo = PhantomGeometry.from_config(cfg.sim.phantom, cfg.sim.bed)
    p, nrm = geo.surface_point(np.linspace(*theta, n), np.linspace(*y, n))
    return path_to_dict(SurfacePath(p, nrm))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("normals"), "missing the key 'normals'"),
        (lambda d: d.update(frame="camera"), "frame must be 'base'"),
        (lambda d: d.update(points=d["points"][:1], normals=d["normals"][:1]), "at least 2"),
        (lambda d: d["points"].__setitem__(3, [0.1, 0.2]), r"'points'\[3\] must be a list of 3"),
        (lambda d: d["points"][4].__setitem__(1, float("nan")), r"'points'\[4\].*non-finite"),
        (lambda d: d["normals"][2].__setitem__(0, "x"), r"'normals'\[2\] has a non-number"),
        (lambda d: d["normals"].__setitem__(5, [0.0, 0.0, 0.0]), "normal 5 has zero length"),
        (lambda d: d["normals"].pop(), "60 points but 59 normals"),
        (lambda d: d.update(points=(np.array(d["points"]) * 1000).tolist()), "must be metres"),
        (lambda d: d.update(points="none"), "list of"),
    ],
)
def test_malformed_path_documents_name_the_problem(mutate, message):
    doc = _doc()
    mutate(doc)
    with pytest.raises(PathFormatError, match=message):
        path_from_dict(doc)


def test_path_document_round_trip():
    doc = _doc()
    path = path_from_dict(doc)
    assert path_to_dict(path)["points"] == doc["points"]
    with pytest.raises(PathFormatError, match="JSON object"):
        path_from_dict([1, 2, 3])


def test_plan_command_writes_a_plan(tmp_path, capsys):
    src, out = tmp_path / "path.json", tmp_path / "out" / "plan.json"
    src.write_text(json.dumps(_doc()))
    code = main(
        ["plan", "--path", str(src), "--plane", "transverse", "--speed", "20", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    plan = json.loads(out.read_text())
    assert plan["format"] == PLAN_FORMAT and plan["version"] == 1
    assert plan["plane"] == "transverse" and plan["speed_m_s"] == pytest.approx(0.02)
    n = len(plan["kinds"])
    assert np.shape(plan["poses"]) == (n, 4, 4) and np.shape(plan["joints_rad"]) == (n, 7)
    assert len(plan["arc_length_m"]) == n and SegmentKind.SWEEP.value in plan["kinds"]
    assert plan["duration_s"] == pytest.approx(sum(plan["segment_durations_s"].values()))
    assert "planned" in capsys.readouterr().out


def test_plan_command_fails_on_an_unreachable_path(tmp_path, capsys):
    """Over the far side of the body: out of the Panda's reach with the probe normal."""
    src, out = tmp_path / "path.json", tmp_path / "plan.json"
    src.write_text(json.dumps(_doc(80, theta=(0.0, 0.8), y=(0.0, 0.0))))
    assert main(["plan", "--path", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "mm from the start" in err and "out of reach" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", [], "not valid JSON"),
        (json.dumps({"frame": "base", "points": [[0, 0, 0]] * 3}), [], "'normals'"),
        (None, ["--speed", "80"], "outside"),
    ],
)
def test_plan_command_rejects_bad_input(tmp_path, capsys, content, args, message):
    src = tmp_path / "path.json"
    src.write_text(content if content is not None else json.dumps(_doc()))
    code = main(["plan", "--path", str(src), "--out", str(tmp_path / "p.json"), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_plan_command_missing_file(tmp_path, capsys):
    code = main(["plan", "--path", str(tmp_path / "nope.json"), "--out", str(tmp_path / "p")])
    assert code == 2
    assert "not found" in capsys.readouterr().err
