"""Benchmark of simulated ultrasound and image-quality assessment.

Held-out simulated frames (seeded, never used in training: seeds from BENCH_SEED) scored by
the shipped model; timing of the model per 256 x 256 frame, of confidence maps at 64 x 64
and 128 x 128, and of the simulator (one core). Writes DIR/quality.json and prints a table.

    python bench/quality.py --out bench-results [--per-class 100]
"""

from __future__ import annotations

# ruff: noqa: E402  (BLAS thread limits must be set before numpy is imported)
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: set before numpy loads its BLAS

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2

from perception.quality.classes import CLASS_ORDER
from perception.quality.confidence import confidence_map
from robot_us.config import Config
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.models import load_quality_model
from robot_us.imaging.training import BENCH_SEED
from robot_us.imaging.worker import ThreadQualityWorker
from sim.ultrasound.dataset import FrameSampler

#: Scatterer-field seed of the "other patient" (the model was trained on the default seed).
OTHER_PATIENT = 4321


def p50_ms(ts: list[float]) -> float:
    return round(float(np.median(ts)) * 1e3, 3)


def timed(fn, items, repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        for it in items:
            t0 = time.perf_counter()
            fn(it)
            out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-results", help="output folder")
    ap.add_argument("--per-class", type=int, default=100, help="held-out frames per class")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # one core for the simulator and pre-processing
    cfg = Config()

    t0 = time.perf_counter()
    sampler = FrameSampler(cfg.sim, cfg.probe, cfg.ultrasound.sim)
    held = sampler.generate(args.per_class, seed=BENCH_SEED)
    gen_s = time.perf_counter() - t0

    model = load_quality_model()
    outs = [model(f) for f in held.frames]
    pred = np.array([CLASS_ORDER.index(o.quality) for o in outs])
    scores = np.array([o.score for o in outs])
    per_class = {
        c.value: round(float(np.mean(pred[held.labels == k] == k)), 4)
        for k, c in enumerate(CLASS_ORDER)
    }
    confusion = np.zeros((len(CLASS_ORDER),) * 2, int)
    np.add.at(confusion, (held.labels, pred), 1)
    probes = np.array(held.probe)
    per_probe = {
        kind: round(float(np.mean(pred[probes == kind] == held.labels[probes == kind])), 4)
        for kind in ("linear", "convex")
    }

    # extra: another simulated patient (scatterer field seed) than the one trained on
    other_cfg = dataclasses.replace(
        cfg,
        ultrasound=dataclasses.replace(
            cfg.ultrasound, sim=dataclasses.replace(cfg.ultrasound.sim, seed=OTHER_PATIENT)
        ),
    )
    other = FrameSampler(other_cfg.sim, other_cfg.probe, other_cfg.ultrasound.sim).generate(
        max(1, args.per_class // 2), seed=BENCH_SEED + 1
    )
    other_pred = np.array([CLASS_ORDER.index(o.quality) for o in model.predict(other.frames)])
    other_macro = np.mean(
        [np.mean(other_pred[other.labels == k] == k) for k in range(len(CLASS_ORDER))]
    )

    sample = held.frames[:: max(1, len(held.frames) // 100)]
    model_ts = timed(model, sample, repeat=2)
    small64 = [cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in sample[:40]]
    small128 = [cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in sample[:12]]
    conf64 = timed(confidence_map, small64)
    conf128 = timed(confidence_map, small128)

    fps = {}
    rng = np.random.default_rng(7)
    for kind, sim in sampler.sims[:: len(sampler.sims) // 2]:  # default settings per probe
        poses = []
        for _ in range(40):
            kw, press = sampler.families["contact"][0](rng)
            poses.append(sampler.settle(sim, kw, press))
        ts = timed(lambda p, sim=sim: sim.render(p[0], p[1]), poses)
        fps[kind] = round(1.0 / float(np.median(ts)), 1)

    # speckle statistics: envelope SNR (mean / std) in deep muscle of a well-coupled linear
    # frame, 4 mm windows away from boundaries; fully developed speckle gives 1.91
    from sim.ultrasound.dataset import probe_pose_on_skin
    from sim.ultrasound.tissue import Tissue

    lin = sampler.sims[0][1]
    fr = lin.render(probe_pose_on_skin(sampler.geometry, 0.35, 0.12, 0.0, press=0.002), 4.0)
    ds = lin.scan.sample_spacing
    win = round(0.004 / ds)
    snrs = []
    for r0 in range(int(0.02 / ds), fr.labels.shape[0] - win, win):
        for c0 in range(0, fr.labels.shape[1] - win, win):
            lab = fr.labels[r0 : r0 + win, c0 : c0 + win]
            if np.all(lab == Tissue.MUSCLE):
                e = fr.envelope[r0 : r0 + win, c0 : c0 + win]
                snrs.append(e.mean() / e.std())
    speckle_snr = round(float(np.median(snrs)), 3) if snrs else float("nan")

    class Fixed:
        def assess(self, image, width_m=None, with_confidence=True, seq=0, t=0.0):
            time.sleep(0.02)

    submit_ts = []
    with ThreadQualityWorker(Fixed()) as w:
        for i in range(200):
            fr = UltrasoundFrame(t=0.0, image=held.frames[0], spacing_m=(0, 0), seq=i)
            t1 = time.perf_counter()
            w.submit(fr)
            submit_ts.append(time.perf_counter() - t1)
            time.sleep(0.002)

    result = {
        "macro_accuracy": round(float(np.mean(list(per_class.values()))), 4),
        "per_class_accuracy": per_class,
        "model_ms_p50": p50_ms(model_ts),
        "confidence_ms_p50": {"64x64": p50_ms(conf64), "128x128": p50_ms(conf128)},
        "sim_fps": fps["linear"],
        # extras
        "sim_fps_convex": fps["convex"],
        "accuracy_per_probe": per_probe,
        "macro_accuracy_other_patient": round(float(other_macro), 4),
        "speckle_snr": speckle_snr,
        "score_mae": round(float(np.mean(np.abs(scores - held.scores))), 4),
        "confusion": {"order": [c.value for c in CLASS_ORDER], "rows_true": confusion.tolist()},
        "model_ms_p99": round(float(np.percentile(model_ts, 99)) * 1e3, 3),
        "worker_submit_us_p99": round(float(np.percentile(submit_ts, 99)) * 1e6, 1),
        "n_frames": len(held.frames),
        "frame_size": list(held.frames.shape[1:]),
        "held_out_seed": BENCH_SEED,
        "generation_s": round(gen_s, 1),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(result, indent=2) + "\n")

    rows = [
        ("macro_accuracy", result["macro_accuracy"], ">= 0.9"),
        *((f"accuracy {k}", v, "") for k, v in per_class.items()),
        ("score_mae", result["score_mae"], ""),
        ("macro_accuracy other patient", result["macro_accuracy_other_patient"], ""),
        ("model_ms_p50 (256x256)", result["model_ms_p50"], "<= 5"),
        ("confidence_ms_p50 64x64", result["confidence_ms_p50"]["64x64"], "<= 40"),
        ("confidence_ms_p50 128x128", result["confidence_ms_p50"]["128x128"], ""),
        ("sim_fps linear 256x256", result["sim_fps"], ">= 30"),
        ("sim_fps convex 256x256", result["sim_fps_convex"], ""),
        ("worker_submit_us_p99", result["worker_submit_us_p99"], ""),
        ("speckle_snr (envelope)", result["speckle_snr"], "~1.91 (Rayleigh)"),
    ]
    print(f"{'figure':28s} {'value':>10s}  target")
    for name, value, target in rows:
        print(f"{name:28s} {value:>10}  {target}")
    print(f"({len(held.frames)} held-out frames, seed {BENCH_SEED}) -> {out / 'quality.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
