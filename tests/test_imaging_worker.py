"""Quality runs beside the caller: submit never waits, the latest frame wins, results are
polled; thread and process workers; the lockstep's inline worker."""

import time

import numpy as np
import pytest

from perception.quality.assess import QualityResult
from perception.quality.classes import QualityClass
from perception.quality.config import QualityConfig
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.worker import InlineQualityWorker, ThreadQualityWorker, make_quality_worker


class SlowAssessor:
    """Takes ``delay`` seconds per frame and remembers which frames it saw."""

    def __init__(self, delay):
        self.delay = delay
        self.seen = []
        self.calls = []

    def assess(self, image, width_m=None, with_confidence=True, seq=0, t=0.0):
        if image.ndim != 2:
            raise ValueError("bad frame")
        time.sleep(self.delay)
        self.seen.append(seq)
        self.calls.append((seq, width_m, with_confidence))
        return QualityResult(QualityClass.GOOD, 1.0, np.ones(4) / 4, None, seq, t)


def frame(seq, shape=(32, 32)):
    return UltrasoundFrame(t=seq * 0.1, image=np.zeros(shape, np.uint8), spacing_m=(0, 0), seq=seq)


def wait_for(worker, seq, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = worker.poll()
        if r is not None and r.seq == seq:
            return r
        time.sleep(0.01)
    raise AssertionError(f"no result for frame {seq}")


def test_submit_does_not_wait_and_latest_frame_wins():
    slow = SlowAssessor(0.3)
    with ThreadQualityWorker(slow) as w:
        t0 = time.perf_counter()
        for seq in range(6):
            w.submit(frame(seq))
        elapsed = time.perf_counter() - t0
        assert elapsed < 0.15  # six submits while one assessment takes 0.3 s
        wait_for(w, 5)
        s = w.stats()
    assert slow.seen[-1] == 5 and len(slow.seen) < 6  # frames in between were skipped
    assert s.submitted == 6 and s.dropped >= 1 and s.assessed == len(slow.seen)


def test_poll_returns_each_result_once_and_none_when_nothing_new():
    with ThreadQualityWorker(SlowAssessor(0.0)) as w:
        assert w.poll() is None
        w.submit(frame(1))
        assert wait_for(w, 1).seq == 1
        assert w.poll() is None


def test_bad_frame_is_counted_not_fatal():
    with ThreadQualityWorker(SlowAssessor(0.0)) as w:
        w.submit(UltrasoundFrame(t=0, image=np.zeros((4, 4, 3), np.uint8), spacing_m=(0, 0)))
        time.sleep(0.3)
        w.submit(frame(2))
        wait_for(w, 2)
        s = w.stats()
    assert s.failed == 1 and "bad frame" in s.last_error


def test_thread_worker_with_the_shipped_model():
    with make_quality_worker(QualityConfig(confidence_size=32)) as w:
        w.submit(frame(3, (64, 64)))
        r = wait_for(w, 3)
    assert r.quality in set(QualityClass) and r.confidence.per_scanline.shape == (32,)


def test_process_worker_scores_the_latest_frame():
    cfg = QualityConfig(worker="process", confidence_size=32)
    with make_quality_worker(cfg) as w:
        for seq in range(20):
            w.submit(frame(seq, (96, 96)))
        r = wait_for(w, 19, timeout=60)
        s = w.stats()
    assert r.quality == QualityClass.NO_CONTACT  # an all-black frame ...
    assert r.ood and r.ood_reason == "blank" and r.score == 0.0  # ... is blank
    assert r.stats is not None and r.stats.spread == 0.0  # packed through shared memory
    assert r.confidence.per_scanline.shape == (32,)
    assert s.submitted == 20 and s.assessed + s.dropped == 20


def test_a_repeated_frame_from_a_live_source_is_frozen():
    from tests.us_helpers import on_skin, small_sim

    img = small_sim().render(on_skin(), 4.0).image
    with make_quality_worker(QualityConfig(confidence_size=32, frozen_frames=3)) as w:
        results = []
        for seq in range(5):
            w.submit(UltrasoundFrame(t=seq * 0.1, image=img, spacing_m=(0, 0), seq=seq))
            results.append(wait_for(w, seq))
    assert [r.ood_reason for r in results] == ["", "", "", "frozen", "frozen"]
    assert results[0].score > 0.3 and results[-1].score == 0.0


def test_process_worker_reports_a_bad_model(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"junk")
    with pytest.raises((RuntimeError, FileNotFoundError, ValueError), match="not a loadable"):
        make_quality_worker(QualityConfig(worker="process"), str(bad))


def test_inline_worker_assesses_at_submit_and_asks_for_confidence_per_frame():
    assessor = SlowAssessor(0.0)
    wanted = iter([False, True, True])
    w = InlineQualityWorker(assessor, with_confidence=lambda: next(wanted))
    assert w.poll() is None
    w.submit(frame(1))
    assert assessor.seen == [1]  # assessed before submit returned
    assert w.poll().seq == 1 and w.poll() is None  # each result once
    spaced = UltrasoundFrame(t=0.2, image=np.zeros((32, 40), np.uint8), spacing_m=(1e-4, 0), seq=2)
    w.submit(spaced)
    w.submit(frame(3))  # the result of frame 2 was never polled: replaced
    assert w.poll().seq == 3
    assert assessor.calls == [(1, None, False), (2, pytest.approx(40e-4), True), (3, None, True)]
    s = w.stats()
    assert (s.submitted, s.assessed, s.dropped) == (3, 3, 1) and s.last_assess_s > 0


def test_inline_worker_lets_a_bad_frame_fail_loudly():
    w = InlineQualityWorker(SlowAssessor(0.0))
    with pytest.raises(ValueError, match="bad frame"):
        w.submit(UltrasoundFrame(t=0, image=np.zeros((4, 4, 3), np.uint8), spacing_m=(0, 0)))
