"""Property tests (hypothesis) of the stroke and path readers, the smoothing along the rays
and the stroke mapper: any input gives a result or the project's own error, never another
exception, and every result is finite."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perception.path_smoothing import smooth_along_rays
from perception.stroke import StrokeError
from perception.stroke_mapping import StrokeMapper
from robot_us.config import Config
from robot_us.perception_files import FileFormatError, load_path, load_stroke
from tests.perception_scene import default_frame

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=5))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
pairs = st.lists(st.one_of(st.lists(numbers, min_size=2, max_size=2), json_values), max_size=6)
triples = st.lists(st.one_of(st.lists(numbers, min_size=3, max_size=3), json_values), max_size=6)
stroke_docs = st.one_of(json_values, st.fixed_dictionaries({"pixels": pairs}))
path_docs = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"frame": st.sampled_from(["base", "camera", 3]), "points": triples, "normals": triples}
    ),
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("docs")


def _read(folder, name: str, doc, reader):
    """``reader`` on ``doc`` written as JSON to ``folder/name``; None if it raised the
    project's file error, which must name the file."""
    f = folder / name
    f.write_text(json.dumps(doc))
    try:
        return reader(f)
    except FileFormatError as exc:
        assert str(f) in str(exc)
        return None


@PROPERTY
@given(doc=stroke_docs)
def test_stroke_reader_returns_pixels_or_a_file_error(folder, doc):
    px = _read(folder, "stroke.json", doc, load_stroke)
    assert px is None or (px.dtype == np.float64 and px.ndim == 2 and px.shape[1] == 2)


@PROPERTY
@given(doc=path_docs)
def test_path_reader_returns_a_finite_path_or_a_file_error(folder, doc):
    path = _read(folder, "path.json", doc, load_path)
    if path is not None:
        assert np.all(np.isfinite(path.points)) and np.all(np.isfinite(path.normals))
        assert path.points.shape == path.normals.shape and len(path.points) >= 2


@st.composite
def mapped_paths(draw):
    """Camera-frame points of a path in front of the camera (any spacing, repeats
    included) and unit normals facing the camera, as the mapper produces them."""
    n = draw(st.integers(1, 120))
    steps = draw(
        st.lists(st.lists(st.floats(-0.01, 0.01), min_size=3, max_size=3), min_size=n, max_size=n)
    )
    start = np.array([draw(st.floats(-0.3, 0.3)), draw(st.floats(-0.3, 0.3)), 0.0])
    start[2] = draw(st.floats(0.2, 3.0))
    pts = start + np.cumsum(np.array(steps), axis=0)
    pts[:, 2] = np.clip(pts[:, 2], 0.1, None)
    raw = np.array(
        draw(st.lists(st.lists(st.floats(-1, 1), min_size=3, max_size=3), min_size=n, max_size=n))
    )
    to_camera = -pts / np.linalg.norm(pts, axis=1, keepdims=True)
    nrm = to_camera + 0.99 * raw  # within ~90 deg of the direction to the camera
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    return pts, nrm, draw(st.floats(0.0, 0.05))


@PROPERTY
@given(data=mapped_paths())
def test_smoothing_along_rays_is_finite_and_keeps_the_rays(data):
    pts, nrm, sigma = data
    ps, ns = smooth_along_rays(pts, nrm, sigma)
    assert ps.shape == pts.shape and ns.shape == nrm.shape
    assert np.all(np.isfinite(ps)) and np.all(np.isfinite(ns))
    np.testing.assert_allclose(np.linalg.norm(ns, axis=1), 1.0, atol=1e-9)
    unit = pts / np.linalg.norm(pts, axis=1, keepdims=True)
    assert np.abs(np.cross(ps, unit)).max() < 1e-9  # still on each point's line of sight
    assert np.all(np.sum(ps * unit, axis=1) > 0)  # in front of the camera


@pytest.fixture(scope="module")
def frame_and_mapper():
    frame, _ = default_frame(scale=0.5, noise=0.001, dropout=0.02)
    return frame, StrokeMapper(Config().perception)


strokes = st.lists(
    st.tuples(st.floats(0, 319), st.floats(0, 239)), min_size=0, max_size=40
).flatmap(
    # crowd some strokes: repeat samples and add sub-pixel neighbours
    lambda px: st.sampled_from([px, [p for p in px for _ in range(3)]])
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(px=strokes)
def test_mapping_any_stroke_gives_a_finite_path_or_a_stroke_error(frame_and_mapper, px):
    frame, mapper = frame_and_mapper
    try:
        res = mapper.map(frame, np.array(px, dtype=float).reshape(-1, 2))
    except StrokeError:
        return
    assert np.all(np.isfinite(res.path.points)) and np.all(np.isfinite(res.path.normals))
    gaps = np.linalg.norm(np.diff(res.path.points, axis=0), axis=1)
    assert gaps.max() <= mapper.cfg.densify_step + 1e-9
    assert mapper.cfg.min_length <= res.length <= mapper.cfg.max_length
