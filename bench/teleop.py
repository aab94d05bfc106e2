"""Teleoperation figures of the real robot-side server (``robot-us serve`` in its own
processes, the simulated cell in the real-time loop) on loopback, then through the
impairment proxy at 300 ms round trip.

LAN (deadman 100 ms, hold):
- the loop alone, no client connected: compute p99 and overruns (from the session
  recording: every state row);
- an operator teleoperating on the skin (twists at 50 Hz), an observer with every stream,
  a fuzzer process throwing garbage at the command port: request round trip (``heartbeat``
  -> ``ack``, waited for, at 100 Hz; ``rtt`` = client round trip minus the server's hold
  time, as docs/protocol.md defines it) p50/p99, the state rate the observer receives and
  the server publishes, ultrasound frames per second and their latency (acquisition to
  arrival), and the loop's compute p99 and overruns over that window;
- deadman: heartbeats stop while the operator keeps sending twists; time from the last
  heartbeat to the probe tip's tangential speed under 1 mm/s (state rows' times, server
  clock = this machine's), several times.

WAN (proxy: 150 ms each way, +-50 ms jitter, 0.5 stalls/s of 100 ms; deadman 400 ms,
retract; client horizons 0.35 s for twists, 0.5 s for heartbeats): the contact force's RMS
error while sliding (every state row of the window, from the recording), executed twists
older than their horizon (from the recorded commands), deadman stop after the link goes
silent.

The client processes' I/O threads, the server's event loop and the control loop run at
SCHED_FIFO priorities where allowed (reported). Writes DIR/teleop.json.

    python bench/teleop.py [--seconds S] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robot_us.config import load_config
from robot_us.core.backends import ULTRASOUND_SOURCES
from robot_us.core.kinematics import ArmKinematics, probe_transform
from robot_us.imaging.pipeline import ImagingPipeline
from robot_us.imaging.worker import make_quality_worker
from robot_us.protocol import messages as m
from robot_us.protocol.client import RemoteError
from robot_us.protocol.impairment import Impairment
from robot_us.recording.reader import read_recording
from robot_us.server.imaging_process import RateLimitedWorker, StreamedProbe
from robot_us.state_log import StateLog
from tests.server_harness import (
    CLIENT_PRIORITY,
    ProxyProcess,
    ServerProcess,
    connect,
    fifo_allowed,
)

FORCE = 5.0
SLIDE = 0.01  # m/s
STOP_SPEED = 0.001  # m/s: "stopped"
WAN_LINK = Impairment(delay=0.15, jitter=0.05, stall_rate=0.5, stall_duration=0.1, seed=11)
WAN_SETTINGS = {
    "server.deadman_ms": 400.0,
    "server.deadman_action": "retract",
    "server.twist_hold_max": 0.3,
}
WAN_TTL = {"heartbeat": 0.5, "teleop_twist": 0.35}
DEADMAN_TRIALS = 3


def pct(x, q: float) -> float | None:
    a = np.asarray(x, dtype=float)
    return float(np.percentile(a, q)) if a.size else None


def fuzz(url: str, seconds: float, rate_hz: float, sent: Any) -> None:
    """A process throwing garbage at the command port (random frames, envelope-shaped
    maps with random values) and raw bytes at every port, at ``rate_hz``; puts the number
    of messages sent into ``sent``."""
    rng = random.Random(5)
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.linger = 0
    dealer.connect(url)
    port = int(url.rsplit(":", 1)[1])
    kinds = ["hello", "set_force", "teleop_twist", "take_control", "plan", "warp"]
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        r = rng.random()
        if r < 0.4:
            dealer.send_multipart([rng.randbytes(rng.choice([1, 9, 90, 900]))])
        elif r < 0.9:
            body = {rng.choice("abcxyz"): rng.choice([None, 1, -1e300, "x" * 30, [1, 2]])}
            env = {"type": rng.choice(kinds), "v": rng.choice([1, 2]), "seq": rng.randint(0, 9)}
            env.update({"t_sent": time.time(), "body": body})
            dealer.send(msgpack.packb(env))
        else:
            # (the server may refuse or drop such a connection: that is fine)
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port + rng.randrange(4)), 1) as s,
            ):
                s.sendall(rng.randbytes(200))
        while dealer.poll(0):
            dealer.recv_multipart()
        time.sleep(1.0 / rate_hz)
    sent.put(n)
    dealer.close()
    ctx.term()


def imaging_alone(cfg, seconds: float) -> dict[str, float]:
    """The imaging process's pipeline in this process, paced at ``server.frame_rate_hz``
    (render, quality at ``server.quality_rate_hz``) on a still probe in contact: the frame
    rate it reaches and the share of a core it takes (what it needs from the machine)."""
    log = StateLog(16)
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = (cfg.sim.phantom.center_xy[0], 0.0, cfg.sim.bed.top_z + cfg.sim.phantom.height)
    q, w = np.zeros(7), np.zeros(6)
    log.push_fields(1.0, 1000, q, q, q, w, w, T, FORCE, FORCE, 0, 0, 1, 0, 0, 0, 0)
    probe = StreamedProbe(cfg, log)
    probe.refresh()
    source = ULTRASOUND_SOURCES.create("sim", cfg, probe)
    worker = RateLimitedWorker(
        make_quality_worker(cfg.ultrasound.quality), cfg.server.quality_rate_hz
    )
    pipe = ImagingPipeline(source, worker)
    pipe.step()
    period = 1.0 / cfg.server.frame_rate_hz
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    next_t = t0
    while time.perf_counter() - t0 < seconds:
        pipe.step()
        n += 1
        next_t += period
        time.sleep(max(0.0, next_t - time.perf_counter()))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assessed = worker.stats().assessed
    pipe.close()
    return {"fps": n / wall, "assessed_hz": assessed / wall, "cpu_share": cpu / wall}


def tangential_speed(state: m.State, kin: ArmKinematics) -> float:
    q, qd = np.array(state.q), np.array(state.qd)
    v = kin.jacobian(q)[:3] @ qd
    z = np.array(state.T_base_probe).reshape(4, 4)[:3, 2]
    return float(np.linalg.norm(v - z * (z @ v)))


def wait_state(client, predicate, timeout: float) -> m.State:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = client.wait_state(0.5)
        if s is not None and predicate(s.state):
            return s.state
    raise RuntimeError(f"condition not met in {timeout} s: {client.latest_state()}")


#: Attempts at taking control and starting teleoperation: over the impaired link on a
#: busy machine the deadman can take control away between the two (counted, reported).
SETUP_ATTEMPTS = 3


def to_skin(op, obs) -> int:
    """Take control, start teleoperation, wait for the set-point on the skin; returns the
    attempts that lost control before teleoperation started."""
    for lost in range(SETUP_ATTEMPTS):
        op.take_control()
        try:
            op.teleop_start()
        except RemoteError as err:
            if err.code.value != "not_in_control" or lost == SETUP_ATTEMPTS - 1:
                raise
            continue
        wait_state(obs, lambda s: s.mode == "teleop", 30.0)
        wait_state(obs, lambda s: abs(s.force - FORCE) < 0.25, 10.0)
        return lost
    raise AssertionError("unreachable")


def window_figures(rec, t0: float, t1: float) -> dict[str, Any]:
    """Loop figures of the state rows with loop time in [t0, t1) (s)."""
    rows = rec.state[(rec.state["t"] >= t0) & (rec.state["t"] < t1)]
    gaps = np.diff(rows["cycle"])
    return {
        "cycles": len(rows),
        "compute_us_p99": pct(rows["compute_us"][1:], 99),
        "compute_us_max": float(rows["compute_us"][1:].max()) if len(rows) > 1 else None,
        "overruns": int(np.count_nonzero(gaps > 1)),
        "skipped": int(np.sum(gaps[gaps > 1] - 1)),
        "rate_hz": (len(rows) - 1) / (rows["t"][-1] - rows["t"][0]) if len(rows) > 1 else None,
    }


def lan(workdir: Path, seconds: float, kin) -> dict[str, Any]:
    srv = ServerProcess(workdir / "lan", {}, teleop_home=True)
    out: dict[str, Any] = {}
    try:
        srv.wait_ready()
        time.sleep(seconds)  # the loop alone, nobody connected (the window below)
        obs = connect(srv.url, "observer")
        first = obs.wait_state(2.0).state
        t_origin = first.t - first.cycle * 1e-3  # Unix time of loop time 0
        idle = (time.time() - seconds - t_origin, time.time() - t_origin)
        op = connect(srv.url, "operator", timeout=5.0)
        to_skin(op, obs)
        states, frames, latencies = [], [], []
        obs.on_state = lambda s: states.append((s.seq, s.t_local))

        def on_frame(f) -> None:
            frames.append(f.t_local)
            latencies.append(f.t_local + obs.link.offset - f.frame.t)

        obs.on_frame = on_frame
        spawn = mp.get_context("spawn")
        fuzz_sent = spawn.Queue()
        fuzzer = spawn.Process(target=fuzz, args=(srv.url, seconds, 200.0, fuzz_sent), daemon=True)
        fuzzer.start()
        t_start = time.time()
        rtts, next_twist = [], 0.0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_twist:
                next_twist = now + 0.02
                op.teleop_twist(vx=SLIDE if int(now) % 4 < 2 else -SLIDE, hold=0.1)
            r = op.heartbeat()
            rtts.append(r.rtt - (r.msg.env.t_sent - (r.msg.env.t_recv or r.msg.env.t_sent)))
            time.sleep(0.01)
        t_end = time.time()
        obs.on_state = obs.on_frame = None
        out["fuzz_messages"] = fuzz_sent.get(timeout=30.0)
        fuzzer.join(10.0)
        window = [(q, t) for q, t in states if t_start <= t < t_end]
        in_window = [t for t in frames if t_start <= t < t_end]
        span = t_end - t_start
        busy = (t_start - t_origin, t_end - t_origin)
        out.update(
            rtt_ms_p50=pct(rtts, 50) * 1e3,
            rtt_ms_p99=pct(rtts, 99) * 1e3,
            rtt_samples=len(rtts),
            state_rate_hz=len(window) / span,
            state_published_hz=(window[-1][0] - window[0][0]) / span if window else None,
            frame_fps=len(in_window) / span,
            frame_latency_ms_p50=pct(latencies, 50) * 1e3 if latencies else None,
            frame_latency_ms_p99=pct(latencies, 99) * 1e3 if latencies else None,
            frame_size="256x256",
            state_decimation=1,
        )
        # deadman: heartbeats stop, twists go on
        stops = []
        for _ in range(DEADMAN_TRIALS):
            if not op.in_control:
                to_skin(op, obs)
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                op.teleop_twist(vx=SLIDE, hold=0.1)
                time.sleep(0.02)
            t_loss = time.time()  # the I/O thread's last heartbeat is sent after this
            op.heartbeat_hz = op.idle_heartbeat_hz = 1e-6
            s = None
            end = time.monotonic() + 2.0
            while time.monotonic() < end and s is None:
                op.teleop_twist(vx=SLIDE, hold=0.1)
                sample = obs.latest_state()
                later = sample is not None and sample.state.t > t_loss + 0.02
                if later and tangential_speed(sample.state, kin) < STOP_SPEED:
                    s = sample.state
                time.sleep(0.002)
            stops.append((s.t - t_loss) * 1e3 if s is not None else float("nan"))
            op.heartbeat_hz, op.idle_heartbeat_hz = 50.0, 2.0
            time.sleep(0.5)
        out["deadman_stop_ms"] = max(stops)
        out["deadman_stop_ms_trials"] = stops
        op.close()
        obs.close()
    finally:
        srv.stop()
    rec = read_recording(srv.recordings()[0])
    out["loop_idle"] = window_figures(rec, *idle)
    out["loop_busy"] = window_figures(rec, *busy)
    out["compute_us_p99"] = out["loop_busy"]["compute_us_p99"]
    out["overruns"] = out["loop_busy"]["overruns"]
    out["fuzz_errors"] = rec.summary.get("errors") if rec.summary else None
    cpu = rec.summary.get("cpu_s", {})
    length = rec.end_t - rec.start_t
    out["cpu_share"] = {k: (v / length if v is not None else None) for k, v in cpu.items()}
    out["recording_dropped"] = {
        k: rec.summary.get(k) for k in ("recording_frames_dropped", "recording_items_dropped")
    }
    return out


def wan(workdir: Path, seconds: float, kin) -> dict[str, Any]:
    srv = ServerProcess(workdir / "wan", WAN_SETTINGS, teleop_home=True)
    out: dict[str, Any] = {}
    try:
        srv.wait_ready()
        proxy = ProxyProcess(srv.port, WAN_LINK)
        obs = connect(srv.url, "observer")
        op = connect(proxy.url(0), "remote", ttl=WAN_TTL, timeout=5.0)
        out["wan_setup_control_lost"] = to_skin(op, obs)
        s0 = obs.wait_state(1.0).state
        t_origin = s0.t - s0.cycle * 1e-3
        t_start = time.time()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.monotonic()
            op.teleop_twist(vy=SLIDE if int(now) % 4 < 2 else -SLIDE, hold=0.3)
            time.sleep(0.02)
        t_end = time.time()
        out["wan_rtt_ms_p50"] = op.link.summary().rtt_p50 * 1e3
        proxy.blackhole()
        t_drop = time.time()
        stopped = wait_state(
            obs, lambda s: s.t > t_drop and tangential_speed(s, kin) < STOP_SPEED, 5.0
        )
        lost = wait_state(obs, lambda s: s.controller is None, 5.0)
        out["wan_deadman_stop_ms"] = (stopped.t - t_drop) * 1e3
        out["wan_control_lost_ms"] = (lost.t - t_drop) * 1e3
        op.close()
        obs.close()
        proxy.stop()
    finally:
        srv.stop()
    rec = read_recording(srv.recordings()[0])
    t0, t1 = t_start - t_origin, t_end - t_origin
    rows = rec.state[(rec.state["t"] >= t0) & (rec.state["t"] < t1)]
    sliding = rows[rows["mode"] == 3]  # in contact
    err = sliding["f_n"] - sliding["f_set"]
    out["wan_force_rms_N"] = float(np.sqrt(np.mean(err**2)))
    out["wan_force_max_err_N"] = float(np.max(np.abs(err)))
    out["wan_slide_rows"] = len(sliding)
    twists = [c for c in rec.operator_commands if c["type"] == "teleop_twist"]
    executed = [c for c in twists if c["result"] == "ok"]
    out["wan_twists_server"] = rec.summary.get("commands", {}).get("teleop_twist", 0)
    out["wan_twists_recorded"] = len(twists)
    out["wan_twists_executed"] = len(executed)
    out["wan_stale_dropped"] = sum(c["result"] == "stale" for c in twists)
    out["wan_stale_executed"] = sum(c["age"] > (c["ttl"] or 0.25) for c in executed) + int(
        rec.summary.get("twists_stale_in_control", 0)
    )
    out["wan_loop"] = window_figures(rec, t0, t1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each window (s)")
    ap.add_argument("--out", type=Path, default=Path("bench-results"))
    args = ap.parse_args()
    if fifo_allowed():  # (the processes this one starts get normal scheduling back)
        policy = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
        os.sched_setscheduler(0, policy, os.sched_param(CLIENT_PRIORITY - 1))
    cfg = load_config()
    kin = ArmKinematics(cfg.robot.model, probe_transform(cfg.probe.tip_offset))
    load0 = os.getloadavg()
    alone = imaging_alone(cfg, 5.0)
    with tempfile.TemporaryDirectory(prefix="bench-teleop-") as tmp:
        result: dict[str, Any] = lan(Path(tmp), args.seconds, kin)
        result.update(wan(Path(tmp), args.seconds, kin))
    result["imaging_alone"] = alone
    ph = cfg.sim.phantom
    result["conditions"] = {
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "cores": os.cpu_count(),
        "sched_fifo": fifo_allowed(),
        "priorities": "control loop 10, server event loop 5, clients 4"
        if fifo_allowed()
        else "normal scheduling",
        "simulation": f"pybullet cell, {cfg.robot.model}, real-time 1 kHz loop",
        "sensor": f"F/T {cfg.sim.ft.rate_hz:g} Hz, noise {cfg.sim.ft.force_noise_std} N",
        "tissue": f"phantom stiffness {ph.stiffness:g} N/m, damping {ph.damping:g} N s/m, "
        f"friction {ph.lateral_friction}, breathing {ph.breathing_amplitude} m",
        "frames": "B-mode simulator 256x256 at 30 Hz, quality model with confidence maps",
        "wan_link": "150 ms each way, +-50 ms jitter, 0.5 stalls/s of 0.1 s",
        "window_s": args.seconds,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "teleop.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("rtt p50 / p99", f"{result['rtt_ms_p50']:.2f} / {result['rtt_ms_p99']:.2f} ms (<= 2)"),
        (
            "state rate received / published",
            f"{result['state_rate_hz']:.0f} / {result['state_published_hz']:.0f} Hz (>= 500)",
        ),
        ("frames", f"{result['frame_fps']:.1f} fps at 256x256 (>= 30)"),
        (
            "imaging alone (same moment)",
            f"{alone['fps']:.1f} fps using {alone['cpu_share'] * 100:.0f} % of a core; "
            f"in the server run it got {(result['cpu_share'].get('imaging') or 0) * 100:.0f} %",
        ),
        ("frame latency p99", f"{result['frame_latency_ms_p99']:.1f} ms (<= 10)"),
        ("deadman stop", f"{result['deadman_stop_ms']:.0f} ms (<= 120)"),
        (
            "loop compute p99 / overruns",
            f"idle {result['loop_idle']['compute_us_p99']:.0f} us / "
            f"{result['loop_idle']['overruns']}, busy {result['compute_us_p99']:.0f} us / "
            f"{result['overruns']}",
        ),
        ("WAN force RMS", f"{result['wan_force_rms_N']:.3f} N (<= 0.5)"),
        ("WAN stale executed", f"{result['wan_stale_executed']} (0)"),
        ("WAN deadman stop", f"{result['wan_deadman_stop_ms']:.0f} ms (deadman 400 ms)"),
        ("load average", f"{load0[0]:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"),
    ]
    print("teleop (robot-us serve, simulated cell, loopback)")
    for name, value in rows:
        print(f"  {name:<34s} {value}")
    print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
