"""Recording benchmark: write throughput (256x256 frames/s, state rows/s), the cost of a
state-log push in the loop, and the data lost when the writer is killed with SIGKILL.

    python bench/recording.py --out bench-results

Writes ``DIR/recording.json``. Timings on a shared machine are noisy and pessimistic."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robot_us.core.types import UltrasoundFrame  # noqa: E402
from robot_us.recording.config import RecordingConfig  # noqa: E402
from robot_us.recording.reader import read_recording  # noqa: E402
from robot_us.recording.recorder import Recorder  # noqa: E402
from robot_us.recording.synthetic import run_synthetic_scan, speckle_frames  # noqa: E402
from robot_us.state_log import StateLog  # noqa: E402

SEED = 0


def bench_frames(tmp: Path, n: int = 300) -> dict[str, float]:
    """Frames handed over as fast as the recorder takes them (backpressure, no drops)."""
    frames = speckle_frames(n, 256, 256, SEED)  # all distinct: honest compression
    path = tmp / "frames.mcap"
    cfg = RecordingConfig(put_timeout_s=10.0)
    t0 = time.perf_counter()
    rec = Recorder(path, cfg).start()
    for i in range(n):
        rec.add_frame(UltrasoundFrame(t=i / 30.0, image=frames[i], spacing_m=(2e-4, 2e-4)))
    stats = rec.close()
    dt = time.perf_counter() - t0
    size = path.stat().st_size
    return {
        "frames_per_s_256x256": n / dt,
        "frame_mb_per_s": n * 256 * 256 / dt / 1e6,
        "frames_file_bytes_per_frame": size / n,
        "frames_dropped": float(sum(stats.dropped.values())),
        "sync_ms_max": stats.sync_ms_max,
    }


def bench_state(tmp: Path, duration_s: float = 2.0) -> dict[str, float]:
    """A producer thread pushes rows as fast as it can; the recorder drains and writes."""
    log = StateLog(200_000)
    path = tmp / "state.mcap"
    T, q, w = np.eye(4), np.zeros(7), np.zeros(6)
    stop = threading.Event()
    rec = Recorder(path, RecordingConfig(), state_log=log).start()

    def producer() -> None:
        k = 0
        while not stop.is_set():
            log.push_fields(k * 1e-3, k, q, q, q, w, w, T, 5, 5, 0, 0, 1, 0, 0, 1, 1)
            k += 1

    th = threading.Thread(target=producer)
    t0 = time.perf_counter()
    th.start()
    time.sleep(duration_s)
    stop.set()
    th.join()
    pushed = log.count
    stats = rec.close()
    dt = time.perf_counter() - t0
    return {
        "state_rows_per_s": stats.state_rows / dt,
        "state_rows_pushed": float(pushed),
        "state_rows_lost": float(stats.state_lost),
    }


def bench_realistic(tmp: Path, duration_s: float = 3.0) -> dict[str, float]:
    """A synthetic scan at realistic rates (1 kHz state, 30 Hz frames, real time): the
    recorder thread's CPU share and the file growth."""
    path = tmp / "synthetic.mcap"
    res = run_synthetic_scan(path, duration_s=duration_s)
    wall = res.loop.wall_time_s
    return {
        "realistic_recorder_cpu_fraction": res.recorder.cpu_s / wall,
        "realistic_file_mb_per_s": path.stat().st_size / wall / 1e6,
        "realistic_frames_dropped": float(res.frames_dropped + sum(res.recorder.dropped.values())),
        "realistic_state_rows_lost": float(res.recorder.state_lost),
    }


def bench_push_cost(n: int = 50_000) -> dict[str, float]:
    """Cost of one ``push_fields`` call (the loop's share of recording), us."""
    log = StateLog(10_000)
    T, q, w = np.eye(4), np.zeros(7), np.zeros(6)
    times = np.empty(n)
    perf = time.perf_counter_ns
    for k in range(n):
        t0 = perf()
        log.push_fields(k * 1e-3, k, q, q, q, w, w, T, 5, 5, 0, 0, 1, 0, 0, 1, 1)
        times[k] = perf() - t0
    return {
        "push_us_p50": float(np.percentile(times, 50) / 1e3),
        "push_us_p99": float(np.percentile(times, 99) / 1e3),
    }


def bench_kill(tmp: Path, runs: int = 3, kill_after_s: float = 2.5) -> dict[str, float]:
    """Kill the synthetic scan writer with SIGKILL; how much recorded time is lost (s)."""
    losses_state, losses_frames = [], []
    for i in range(runs):
        out = tmp / f"killed{i}.mcap"
        proc = subprocess.Popen(
            [sys.executable, "-m", "robot_us.recording.synthetic", str(out), "--duration", "30"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        t0 = float(proc.stdout.readline().split()[1])
        time.sleep(max(0.0, t0 + kill_after_s - time.monotonic()))
        kill_t = time.monotonic() - t0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        r = read_recording(out)
        losses_state.append(kill_t - float(r.state["t"].max()))
        losses_frames.append(kill_t - r.frames[-1].t)
    return {
        "kill9_loss_s_state_mean": float(np.mean(losses_state)),
        "kill9_loss_s_state_max": float(np.max(losses_state)),
        "kill9_loss_s_frames_mean": float(np.mean(losses_frames)),
        "kill9_loss_s_frames_max": float(np.max(losses_frames)),
        "kill9_runs": float(runs),
        "flush_period_s": RecordingConfig().flush_period_s,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="bench-results", help="output folder")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        figures: dict[str, float] = {}
        figures.update(bench_frames(tmp))
        figures.update(bench_state(tmp))
        figures.update(bench_realistic(tmp))
        figures.update(bench_push_cost())
        figures.update(bench_kill(tmp))
    (out / "recording.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{'figure':<32} value")
    for k, v in figures.items():
        print(f"{k:<32} {v:.4g}")
    print(f"wrote {out / 'recording.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
