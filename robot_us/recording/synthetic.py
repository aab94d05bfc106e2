"""A synthetic scan that feeds a ``Recorder`` at realistic rates: a 1 kHz loop
(``LoopRunner``, real time by default) pushing state rows, an imaging thread handing over
B-mode-like frames (256x256 speckle, 30 Hz) with quality results, plus the plan, config,
camera capture and events. For the crash test, the benchmark and for trying the recorder
without a robot:

    python -m robot_us.recording.synthetic OUT.mcap --duration 3

prints ``READY <monotonic time of loop start>`` once the loop runs (for a parent that
wants to kill it at a known loop time)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_us.core.types import CameraIntrinsics, RgbdFrame, ScanPlan, SegmentKind, UltrasoundFrame
from robot_us.loop import LoopClock, LoopRunner, LoopStats
from robot_us.recording.config import RecordingConfig
from robot_us.recording.contents import QualitySample
from robot_us.recording.recorder import Recorder, RecorderStats
from robot_us.state_log import StateLog

#: Scan state ids of the synthetic scan and their names.
STATE_NAMES = {0: "idle", 1: "approach", 2: "sweep", 3: "retract"}
#: Loop time (s) at which each state begins.
STATE_STARTS = ((0.0, 0), (0.2, 1), (0.5, 2))
#: Sweep speed (m/s) of the synthetic path.
SWEEP_SPEED = 0.01
#: Distinct speckle frames generated up front and cycled (keeps the producer cheap).
N_PATTERNS = 8


@dataclass
class SyntheticResult:
    """What a synthetic run produced."""

    recorder: RecorderStats
    loop: LoopStats
    frames_sent: int
    frames_dropped: int
    rows: int


def speckle_frames(n: int, h: int, w: int, seed: int) -> list[np.ndarray]:
    """``n`` B-mode-like uint8 frames: Rayleigh speckle with depth attenuation."""
    rng = np.random.default_rng(seed)
    depth_gain = np.exp(-2.0 * np.linspace(0.0, 1.0, h))[:, None]
    out = []
    for _ in range(n):
        speckle = rng.rayleigh(0.35, size=(h, w)) * depth_gain
        out.append((np.clip(speckle, 0.0, 1.0) * 255).astype(np.uint8))
    return out


def _plan() -> ScanPlan:
    n = 50
    s = np.linspace(0.0, 0.05, n)
    poses = np.repeat(np.eye(4)[None], n, axis=0)
    poses[:, 0, 3] = 0.5 + s
    poses[:, 2, 3] = 0.1
    return ScanPlan(
        poses=poses,
        arc_length=s,
        joints=np.zeros((n, 7)),
        kinds=[SegmentKind.SWEEP] * n,
        speed_m_s=SWEEP_SPEED,
        duration_s=5.0,
    )


def run_synthetic_scan(
    path: str | Path,
    duration_s: float = 3.0,
    frame_hz: float = 30.0,
    frame_shape: tuple[int, int] = (256, 256),
    rate_hz: float = 1000.0,
    mode: str = "realtime",
    config: RecordingConfig | None = None,
    seed: int = 0,
    ready: Callable[[float], None] | None = None,
) -> SyntheticResult:
    """Record a synthetic scan of ``duration_s`` (loop time) to ``path``. ``ready`` is
    called (from the imaging thread) with the monotonic time of the loop's first cycle."""
    log = StateLog(capacity=max(4 * int(rate_hz), 1000))
    patterns = speckle_frames(N_PATTERNS, *frame_shape, seed=seed)
    q = np.zeros(7)
    qd = np.zeros(7)
    w_raw = np.zeros(6)
    w_f = np.zeros(6)
    T = np.eye(4)
    T[2, 3] = 0.1
    rng = np.random.default_rng(seed + 1)
    noise = rng.normal(0.0, 0.1, 4096)
    started = threading.Event()
    t0_box = [0.0]
    stop = threading.Event()
    sent = [0, 0]

    rec = Recorder(path, config, state_log=log, state_names=STATE_NAMES)
    with rec:
        rec.write_config({"synthetic": True, "duration_s": duration_s, "frame_hz": frame_hz})
        rec.write_plan(_plan())
        h, w = 48, 64
        rec.add_camera(
            RgbdFrame(
                t=0.0,
                rgb=np.full((h, w, 3), 90, dtype=np.uint8),
                depth=np.full((h, w), 0.8, dtype=np.float32),
                intrinsics=CameraIntrinsics(
                    w, h, np.array([[60.0, 0, 32], [0, 60.0, 24], [0, 0, 1]])
                ),
                T_base_camera=np.eye(4),
            )
        )

        def imaging() -> None:
            started.wait()
            if ready is not None:
                ready(t0_box[0])
            period = 1.0 / frame_hz
            seq = 0
            next_t = time.monotonic()
            while not stop.is_set():
                t = time.monotonic() - t0_box[0]
                img = patterns[seq % N_PATTERNS]
                frame = UltrasoundFrame(t=t, image=img, spacing_m=(2e-4, 2e-4), seq=seq)
                ok = rec.add_frame(frame)
                conf = float(img.mean() / 255.0)
                rec.add_quality(QualitySample(t, seq, "good", 0.8, conf, None, SWEEP_SPEED * t))
                sent[0 if ok else 1] += 1
                seq += 1
                next_t += period
                time.sleep(max(0.0, next_t - time.monotonic()))

        thread = threading.Thread(target=imaging, name="synthetic-imaging", daemon=True)
        thread.start()

        def cycle(clock: LoopClock) -> bool:
            t = clock.t
            if clock.k == 0:
                t0_box[0] = time.monotonic()
                started.set()
            sid = 0
            for start, s_id in STATE_STARTS:
                if t >= start:
                    sid = s_id
            s = SWEEP_SPEED * max(0.0, t - 0.5)
            T[0, 3] = 0.5 + s
            f_n = 5.0 + noise[clock.k % 4096]
            w_f[2] = f_n
            w_raw[2] = f_n + 2.45
            q[0] = 0.1 * t
            log.push_fields(
                t, clock.k, q, qd, qd, w_raw, w_f, T, 5.0, f_n, s, SWEEP_SPEED, 1.0, sid, 0,
                clock.last_compute_us, clock.last_lateness_us,
            )  # fmt: skip
            return True

        runner = LoopRunner(rate_hz=rate_hz, mode=mode)
        try:
            loop_stats = runner.run(cycle, duration_s=duration_s)
        finally:
            stop.set()
            thread.join(2.0)
        rec.post_event(duration_s, "done", "synthetic scan finished", SWEEP_SPEED * duration_s)
        stats = rec.close(summary={"synthetic": True, "frames_sent": sent[0]})
    return SyntheticResult(stats, loop_stats, sent[0], sent[1], log.count)


def main(argv: list[str] | None = None) -> int:
    """Command line of the synthetic scan (see the module doc)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="recording to write (.mcap)")
    p.add_argument("--duration", type=float, default=3.0, help="loop time to record (s)")
    p.add_argument("--frame-hz", type=float, default=30.0, help="ultrasound frame rate (Hz)")
    p.add_argument("--flush-period", type=float, default=0.5, help="durable flush period (s)")
    args = p.parse_args(argv)

    def ready(t0: float) -> None:
        print(f"READY {t0:.9f}", flush=True)

    res = run_synthetic_scan(
        args.out,
        duration_s=args.duration,
        frame_hz=args.frame_hz,
        config=RecordingConfig(flush_period_s=args.flush_period),
        ready=ready,
    )
    print(f"DONE frames={res.frames_sent} rows={res.rows} dropped={res.recorder.dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
