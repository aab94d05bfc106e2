"""The console's parts without a server: what the camera view draws (projection, span
categories, off-body samples, progress by quality), the side view's normals, the force
history, the operator's one-line messages, the client key folder and ``robot-us gui``
without the gui extra."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads: no display needed

import sys

import msgspec
import numpy as np
import pytest

from gui.elided_label import ELLIPSIS
from gui.link import ForceHistory, describe
from gui.path_overlay import (
    ProgressTrack,
    off_body,
    point_categories,
    project,
    runs,
    span_category,
)
from gui.profile_view import normal_strokes
from gui.scan_panel import ScanPanel, ScanView
from gui.status_bar import StatusBar
from robot_us import cli
from robot_us.protocol import messages as m
from robot_us.protocol.client import NotConnectedError, RemoteError
from robot_us.protocol.errors import ErrorCode
from robot_us.protocol.security import ClientKeys, generate_keys
from tests.protocol_samples import SAMPLES

K = np.array([[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]])


def looking_down(height: float) -> np.ndarray:
    """A camera ``height`` m above the base origin looking down (x right, y towards -y)."""
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[2, 3] = height
    return T


def test_projection_puts_points_where_the_pinhole_model_says():
    T = looking_down(1.0)
    uv = project(np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.1, 0.5]]), K, T)
    np.testing.assert_allclose(uv[0], [320.0, 240.0])
    np.testing.assert_allclose(uv[1], [380.0, 240.0])  # 0.1 m at 1 m: 60 px right
    np.testing.assert_allclose(uv[2], [320.0, 120.0])  # 0.1 m at 0.5 m: 120 px up
    behind = project(np.array([[0.0, 0.0, 2.0]]), K, T)
    assert np.all(np.isnan(behind))


def test_spans_colour_points_and_runs_share_their_boundary():
    assert span_category("ok") == "reachable"
    assert span_category("out_of_reach") == "unreachable"
    assert span_category("joint_limit") == "unreachable"
    assert span_category("off_body") == "off_body"
    s = np.linspace(0.0, 0.1, 11)
    spans = [
        m.Span(s0=0.0, s1=0.04, status="ok"),
        m.Span(s0=0.04, s1=0.07, status="out_of_reach"),
        m.Span(s0=0.07, s1=0.1, status="ok"),
    ]
    cats = point_categories(s, spans)
    assert cats[:4] == ["reachable"] * 4
    assert cats[4:8] == ["unreachable"] * 4
    assert cats[8:] == ["reachable"] * 3
    assert runs(cats) == [(0, 4, "reachable"), (4, 8, "unreachable"), (8, 10, "reachable")]


def test_stroke_samples_far_from_the_mapped_path_are_off_the_body():
    path = np.array([[100.0, 100.0], [200.0, 100.0]])
    stroke = np.array([[100.0, 101.0], [150.0, 99.0], [200.0, 100.0], [260.0, 100.0]])
    np.testing.assert_array_equal(off_body(stroke, path, 12.0), [False, False, False, True])
    assert off_body(stroke, np.full((2, 2), np.nan), 12.0).all()


def test_progress_track_merges_equal_quality_and_keeps_the_newest_label():
    track = ProgressTrack()
    track.reset(plan_id=7)
    for s, label in [(0.01, "good"), (0.02, "good"), (0.03, "shadowed"), (0.03, "good")]:
        track.add(s, label)
    track.add(0.05, "good")  # the shadowed result at 0.03 was replaced by a newer one
    assert track.segments() == [(0.0, 0.05, "good")]
    track.reset(plan_id=8)
    track.add(0.01, "good")
    track.add(0.02, "shadowed")
    track.add(0.04, "shadowed")
    assert track.segments() == [(0.0, 0.01, "good"), (0.01, 0.04, "shadowed")]


def test_side_view_normals_point_along_the_path_and_up():
    # a path along x over a slope rising 45 degrees: normals tilt back against the travel
    x = np.linspace(0.0, 0.1, 5)
    pts = np.stack([x, np.zeros_like(x), x], axis=1)
    n = np.tile([-np.sqrt(0.5), 0.0, np.sqrt(0.5)], (5, 1))
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    segs = normal_strokes(pts, n, s)
    assert segs.shape == (10, 2)
    d = segs[1::2] - segs[0::2]
    assert np.all(d[:, 0] < 0) and np.all(d[:, 1] > 0)
    np.testing.assert_allclose(np.hypot(d[:, 0], d[:, 1]), 12.0)


def test_force_history_returns_the_recent_samples_in_order_and_stays_bounded():
    h = ForceHistory(size=8)
    for i in range(20):
        h.push(float(i), 1.0 * i, 5.0)
    recent = h.recent(seconds=3.0, now=19.0)
    np.testing.assert_allclose(recent[:, 0], [-3.0, -2.0, -1.0, 0.0])
    np.testing.assert_allclose(recent[:, 1], [16.0, 17.0, 18.0, 19.0])
    assert len(h.recent(seconds=100.0, now=19.0)) == 8


def test_failed_commands_read_as_one_line_for_the_operator():
    busy = RemoteError(ErrorCode.BUSY, "controlled", reason="controlled")
    assert describe(busy) == "another console holds control"
    refused = RemoteError(ErrorCode.REFUSED, "scan running", reason="scan_running")
    assert describe(refused) == "scan running (scan_running)"
    assert describe(NotConnectedError("x")) == "no connection to the server"


def test_client_key_folder_needs_one_secret_and_the_server_key(tmp_path):
    server = tmp_path / "server"
    console = tmp_path / "console"
    generate_keys(server)
    console.mkdir()
    with pytest.raises(FileNotFoundError, match=r"server\.key"):
        ClientKeys.from_folder(console)
    (console / "server.key").write_bytes((server / "server.key").read_bytes())
    with pytest.raises(ValueError, match="expected one client"):
        ClientKeys.from_folder(console)
    generate_keys(console, "bedside")
    keys, name = ClientKeys.from_folder(console)
    assert name == "bedside" and keys.server_public
    generate_keys(console, "remote")
    with pytest.raises(ValueError, match="bedside, remote"):
        ClientKeys.from_folder(console)
    assert ClientKeys.from_folder(console, "remote")[1] == "remote"


def test_gui_without_the_gui_extra_is_one_line_naming_the_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "PySide6", None)  # import PySide6 fails
    code = cli.main(["gui", "--connect", "tcp://127.0.0.1:5560"])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_FAILED
    assert err.count("\n") == 0
    assert "pip install -e '.[gui]'" in err


def test_gui_with_a_bad_url_is_an_input_error(capsys):
    assert cli.main(["gui", "--connect", "localhost:5560"]) == cli.EXIT_INPUT
    assert "tcp://HOST:PORT" in capsys.readouterr().err


def scan_state(scan: str, faults: tuple = (), estop: bool = False) -> m.State:
    """A state with the scan in ``scan`` (what the scan panel reads of it)."""
    st = SAMPLES["state"]
    assert isinstance(st, m.State)
    return msgspec.structs.replace(
        st,
        scan=msgspec.structs.replace(st.scan, state=scan),
        faults=list(faults),
        estop=estop,
        teleop=False,
    )


def test_start_is_offered_after_any_ended_scan_but_not_while_a_fault_is_latched(qtbot):
    panel = ScanPanel()
    qtbot.addWidget(panel)
    preview = SAMPLES["path_preview"]
    assert isinstance(preview, m.PathPreview) and preview.feasible
    for scan in ("idle", "done", "aborted", "faulted"):
        panel.set_view(ScanView(scan_state(scan), True, preview))
        assert panel.start.isEnabled(), scan
    for scan in ("sweep", "paused", "safe_retract", "retract"):
        panel.set_view(ScanView(scan_state(scan), True, preview))
        assert not panel.start.isEnabled(), scan
    fault = m.Fault(code=10, name="estop", cause="E-stop input 0 pressed", t=1.7e9)
    panel.set_view(ScanView(scan_state("faulted", (fault,)), True, preview))
    assert not panel.start.isEnabled() and panel.reset.isEnabled()
    panel.set_view(ScanView(scan_state("faulted", estop=True), True, preview))
    assert not panel.start.isEnabled()
    panel.set_view(ScanView(scan_state("faulted"), False, preview))  # observing
    assert not panel.start.isEnabled()


def test_a_long_status_line_is_cut_with_an_ellipsis_and_the_full_text_in_its_tooltip(qtbot):
    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.resize(900, 40)
    bar.show()
    qtbot.waitExposed(bar)
    note = bar.note
    bar.say("connected", False)
    assert note.shown() == "connected" and note.toolTip() == "" and not note.elided()
    long = "refused: " + " ".join(f"reason{i}" for i in range(20))  # ~1200 px
    bar.say(long, True)
    assert note.text() == long and note.elided()
    shown = note.shown()
    assert shown.endswith(ELLIPSIS) and long.startswith(shown[:-1]) and len(shown) > 5
    assert note.fontMetrics().horizontalAdvance(shown) <= note.contentsRect().width()
    assert note.toolTip() == long
    bar.resize(8000, 40)  # room enough: the whole line, no tooltip
    qtbot.waitUntil(lambda: not note.elided())
    assert note.shown() == long and note.toolTip() == ""
    bar.resize(900, 40)
    qtbot.waitUntil(note.elided)
    bar.say("short again", False)
    assert note.shown() == "short again" and note.toolTip() == ""
