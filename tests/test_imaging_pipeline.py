"""The imaging side around the worker: the pipeline's step record, the hand-over of frames
and results to the scan and the recorder in lockstep and in real time, and the protocols
the imaging side types its seams with (the project's classes must meet them)."""

from __future__ import annotations

import inspect
import time

import numpy as np
import pytest

from perception.quality.assess import QualityAssessor, QualityResult
from perception.quality.classes import QualityClass
from perception.quality.config import QualityConfig
from perception.quality.features import ConfidenceFeatures
from robot_us.core.backends import UltrasoundSource
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.handover import quality_sample
from robot_us.imaging.lockstep import LockstepImaging
from robot_us.imaging.pipeline import ImagingPipeline
from robot_us.imaging.protocols import ImagingRecorder, QualityAssessing, QualityReceiver
from robot_us.imaging.realtime import RealtimeImaging
from robot_us.imaging.worker import QualityWorker, WorkerStats, make_quality_worker
from robot_us.recording import Recorder
from robot_us.scan.quality_policy import QualityObservation
from robot_us.scan.scan import Scan
from robot_us.scan.states import ScanState


class _Source(UltrasoundSource):
    """``n`` frames, frame k stamped ``t0 + k dt`` (default: a device clock at 100 s)."""

    def __init__(self, n: int, t0: float = 100.01, dt: float = 0.01) -> None:
        self.n, self.seq, self.t0, self.dt = n, 0, t0, dt

    def grab(self) -> UltrasoundFrame | None:
        if self.seq >= self.n:
            return None
        self.seq += 1
        return UltrasoundFrame(
            t=self.t0 + self.dt * (self.seq - 1),
            image=np.zeros((8, 8), np.uint8),
            spacing_m=(0.0, 0.0),
            seq=self.seq - 1,
            meta={"quality": "good", "score": 0.9},
        )


def _result(frame: UltrasoundFrame, conf: bool = False) -> QualityResult:
    feats = ConfidenceFeatures(0.6, np.full(4, 0.6), 0.0) if conf else None
    return QualityResult(QualityClass.GOOD, 0.5 + 0.01 * frame.seq, np.ones(4) / 4, feats,
                         frame.seq, frame.t)  # fmt: skip


class _Worker(QualityWorker):
    """Scores a submitted frame ``lag`` polls later (0: at the next poll)."""

    def __init__(self, lag: int = 0) -> None:
        self.lag = lag
        self.pending: list[tuple[int, UltrasoundFrame]] = []

    def submit(self, frame: UltrasoundFrame) -> None:
        self.pending.append((self.lag, frame))

    def poll(self) -> QualityResult | None:
        ready = [f for wait, f in self.pending if wait == 0]
        self.pending = [(wait - 1, f) for wait, f in self.pending if wait > 0]
        return _result(ready[-1]) if ready else None

    def stats(self) -> WorkerStats:
        return WorkerStats()

    def close(self) -> None:
        self.pending.clear()


class _Scan:
    """Takes quality results; its arc length runs at 2 m per s of loop time."""

    def __init__(self) -> None:
        self.got: list[tuple[int, float, float, str]] = []
        self.state = ScanState.APPROACH
        self.s = 0.0

    def submit_quality(self, sample: QualityObservation) -> None:
        self.got.append((sample.seq, sample.t, sample.score, sample.label))

    def arc_length_at(self, t: float) -> float:
        return 2.0 * t


class _Recorder:
    def __init__(self) -> None:
        self.frames: list[UltrasoundFrame] = []
        self.quality: list = []

    def add_frame(self, frame: UltrasoundFrame) -> bool:
        self.frames.append(frame)
        return True

    def add_quality(self, sample) -> bool:
        self.quality.append(sample)
        return True


def test_step_returns_the_frame_in_loop_time_and_the_new_result():
    pipe = ImagingPipeline(_Source(2), _Worker(lag=1), to_loop_time=lambda t: t - 100.0)
    first = pipe.step()
    assert first.frame.seq == 0 and first.frame.t == pytest.approx(0.01)
    assert first.result is None  # the worker is one poll behind
    assert first.grab_s >= 0 and first.submit_s >= 0 and first.t_grab <= time.monotonic()
    second = pipe.step()
    assert second.frame.seq == 1 and second.result.seq == 0
    assert second.result.t == pytest.approx(0.01)  # stamped with the frame's loop time
    last = pipe.step()
    assert last.frame is None and last.result.seq == 1  # exhausted; the last result still comes
    assert pipe.latest_frame.seq == 1 and pipe.latest_result.seq == 1
    assert pipe.poll() is None and pipe.latest_result.seq == 1


def test_imaging_pipeline_feeds_the_worker():
    from sim.ultrasound.source import SimUltrasoundSource
    from tests.us_helpers import on_skin, small_sim

    src = SimUltrasoundSource(small_sim(), pose=lambda: on_skin(press=-0.01), max_frames=3)
    pipe = ImagingPipeline(src, make_quality_worker(QualityConfig(confidence_size=32)))
    steps = [pipe.step() for _ in range(4)]
    assert steps[-1].frame is None and pipe.latest_frame.seq == 2
    end = time.monotonic() + 10
    while (pipe.latest_result is None or pipe.latest_result.seq != 2) and time.monotonic() < end:
        pipe.poll()
        time.sleep(0.01)
    pipe.close()
    assert pipe.latest_result.seq == 2
    assert pipe.latest_result.quality == QualityClass.NO_CONTACT
    sample = quality_sample(pipe.latest_result, s=0.01)
    assert (sample.seq, sample.label, sample.s) == (2, "no_contact", 0.01)
    assert sample.scanline_confidence.shape == (32,)


@pytest.mark.parametrize("lag", [0, 1])
def test_realtime_imaging_hands_results_to_the_scan_and_the_recorder(lag):
    scan, rec = _Scan(), _Recorder()
    pipe = ImagingPipeline(_Source(5), _Worker(lag), to_loop_time=lambda t: t - 100.0)
    im = RealtimeImaging(pipe, rate_hz=200.0, scan=scan, recorder=rec).start()
    im.join(5.0)
    assert im.error is None and im.frames == 5 and im.results == 5  # none lost at the end
    assert [g[0] for g in scan.got] == [0, 1, 2, 3, 4]
    assert scan.got[0][1] == pytest.approx(0.01)  # loop time, not the device clock
    assert scan.got[0][3] == "good"
    assert [f.seq for f in rec.frames] == [0, 1, 2, 3, 4]
    q = rec.quality[2]
    assert (q.seq, q.label, q.score) == (2, "good", pytest.approx(0.52))
    assert q.s == pytest.approx(2.0 * 0.03)  # placed on the path at the frame's time


class _Assessor:
    """Remembers whether each frame was asked for a confidence map."""

    def __init__(self) -> None:
        self.conf: list[bool] = []

    def assess(self, image, width_m=None, with_confidence=True, seq=0, t=0.0) -> QualityResult:
        self.conf.append(with_confidence)
        f = UltrasoundFrame(t=t, image=image, spacing_m=(0.0, 0.0), seq=seq)
        return _result(f, with_confidence)


def test_lockstep_imaging_paces_frames_in_loop_time_and_hands_them_over():
    scan, rec, assessor = _Scan(), _Recorder(), _Assessor()
    source = _Source(100, t0=0.0, dt=0.125)  # stamped in loop time, like the simulated source
    im = LockstepImaging(source, assessor, rate_hz=8.0, scan=scan, recorder=rec)
    for k in range(18):  # physics steps of 62.5 ms up to t = 1.0625 s
        t = k * 0.0625
        scan.state = (
            ScanState.APPROACH if t < 0.25 else ScanState.SETTLE if t < 0.5 else ScanState.SWEEP
        )
        scan.s = 0.5 * t
        im.after_step(t)
    # a frame due every 0.125 s of loop time: t = 0, 0.125, ..., 1.0
    assert [g[0] for g in scan.got] == list(range(9)) and scan.got[3][3] == "good"
    assert assessor.conf == [False, False] + [True] * 7  # no confidence map in the air
    assert [f.seq for f in rec.frames] == list(range(9))
    assert [q.seq for q in rec.quality] == list(range(9))
    assert rec.quality[3].s == pytest.approx(0.1875)  # the scan's arc length at that step
    a = im.log.arrays()
    assert list(a["seq"]) == list(range(9)) and list(a["true_label"]) == ["good"] * 9
    assert list(a["state"][1:3]) == [ScanState.APPROACH, ScanState.SETTLE]
    assert np.isnan(a["confidence"][0]) and a["confidence"][2] == pytest.approx(0.6)
    assert im.latest_score == pytest.approx(0.58)
    # images kept while sweeping only, at most one per KEEP_EVERY_S (0.2 s) of frame time
    assert [k.seq for k in im.kept] == [4, 6, 8]
    im.after_step(1.5)  # late: one frame, the missed ones are skipped
    im.after_step(1.55)
    assert [g[0] for g in scan.got[9:]] == [9]


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


@pytest.mark.parametrize(
    ("impl", "proto"),
    [
        (QualityAssessor, QualityAssessing),
        (Scan, QualityReceiver),
        (Recorder, ImagingRecorder),
    ],
)
def test_the_project_classes_meet_the_imaging_protocols(impl, proto):
    """Same method names and parameters as the protocol the imaging side calls them by."""
    methods = [n for n, v in vars(proto).items() if inspect.isfunction(v) and n[0] != "_"]
    assert methods
    for name in methods:
        assert _params(getattr(impl, name)) == _params(getattr(proto, name)), name
