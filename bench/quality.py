"""Benchmark of simulated ultrasound and image-quality assessment.

Held-out simulated frames (seeded, never used in training: seeds from BENCH_SEED) scored by
the shipped model; timing of the model per 256 x 256 frame, of confidence maps at 64 x 64
and 128 x 128, and of the simulator (one core). Writes DIR/quality.json and prints a table.

Figures of issue 16 (frames from real scanners):
- ``macro_accuracy_held_out_geometry``: probe presets never trained on
  (``HELD_OUT_PRESETS``) on a phantom never trained on, raw and as screen grabs with the
  training augmentations; imaging area given (as a probe preset or the live tracker gives
  it); ``..._single_frame``: the area detected in each frame alone.
- ``ood_recall``: fraction of the out-of-distribution set (``sim.ultrasound.ood_set``, 15
  kinds x ``--ood-per-kind``, plus frozen sequences) flagged; ``ood_false_alarm``: fraction
  of valid frames (held-out geometries, all classes, raw and screen grabs) flagged. Frames
  are judged one by one (imaging area detected per frame); frozen sequences by an assessor
  fed the frames in order. ``ood_false_alarm_area_given``: the same valid frames judged
  with their imaging area given (as a probe preset or a converged tracker gives it);
  ``ood_false_alarm_reasons``: what flagged them (area detected).
- ``blur_monotonic`` (and ``gain_monotonic``, ``saturation_monotonic``): on every test
  frame (raw held-out-geometry frames of class good, imaging area given) the score falls
  at each level: Gaussian blur sigma 0, 1, 2, 4, 8 px (of a 256 px frame); gain 0, -10,
  -20, -30 dB; saturation: gain g0, g0 + 10, g0 + 20, g0 + 30 dB, g0 the least gain (whole
  dB, -20..+30) at which 0.5 % of the frame's visible pixels are white (below it more gain
  exposes a dim frame better, which is no degradation). Gains in image space with a 50 dB
  display range. "Falls" means strictly lower, or 0 at that level and after (an
  out-of-distribution frame scores 0). 1 when every frame passes; ``..._fraction`` the
  share of frames that pass.
- ``confidence_ref_mae``: mean absolute difference of our confidence maps from MONAI's
  ``UltrasoundConfidenceMapTransform`` on the stored reference frames
  (``tests/data/confidence_reference``), and MONAI's time on the same inputs if installed.

``--legacy`` scores the way the code did before issue 16 (the model on the whole frame,
no out-of-distribution checks, no degradation factor), for an old-vs-new table.

    python bench/quality.py --out bench-results [--per-class 100] [--model m.onnx] [--legacy]
"""

from __future__ import annotations

# ruff: noqa: E402  (BLAS thread limits must be set before numpy is imported)
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: set before numpy loads its BLAS

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2

from perception.quality import augment
from perception.quality.assess import QualityAssessor, QualityResult
from perception.quality.classes import CLASS_ORDER
from perception.quality.confidence import confidence_map
from perception.quality.imaging_area import area_from_mask
from robot_us.config import Config
from robot_us.core.types import UltrasoundFrame
from robot_us.imaging.models import load_quality_model
from robot_us.imaging.training import BENCH_SEED
from robot_us.imaging.worker import ThreadQualityWorker
from sim.ultrasound.dataset import (
    Augmentation,
    FrameSampler,
    QualityFrameGenerator,
    quality_training_frames,
)
from sim.ultrasound.ood_set import OOD_KINDS, ood_frames
from sim.ultrasound.presets import HELD_OUT_PHANTOM, HELD_OUT_PRESETS, TRAIN_PRESETS

#: Scatterer-field seed of the "other patient" (the model was trained on the default seed).
OTHER_PATIENT = 4321
REFERENCE = ROOT / "tests" / "data" / "confidence_reference" / "reference.npz"
BLUR_LEVELS = (0.0, 1.0, 2.0, 4.0, 8.0)
LOW_GAIN_LEVELS = (0.0, -10.0, -20.0, -30.0)
HIGH_GAIN_LEVELS = (0.0, 10.0, 20.0, 30.0)  # above the saturation onset
#: Fraction of visible pixels white at the saturation onset.
SATURATION_ONSET = 0.005
#: Display range (dB) the gain levels are applied with.
DISPLAY_DR = 50.0


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


def macro(pred: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, float]]:
    per = {
        c.value: round(float(np.mean(pred[labels == k] == k)), 4)
        for k, c in enumerate(CLASS_ORDER)
        if np.any(labels == k)
    }
    return round(float(np.mean(list(per.values()))), 4), per


class Scorer:
    """The quality pipeline under test: the assessor (new) or the model on the whole
    frame (``legacy``)."""

    def __init__(self, cfg, model, legacy: bool) -> None:
        self.model = model
        self.legacy = legacy
        qcfg = dataclasses.replace(cfg.ultrasound.quality, imaging_area="frame")
        self.assessor = QualityAssessor(qcfg, model, sequence=False)
        self.qcfg = qcfg

    def __call__(self, image: np.ndarray, area=None) -> QualityResult:
        if self.legacy:
            out = self.model(image)
            return QualityResult(out.quality, out.score, out.probs, None)
        return self.assessor.assess(image, with_confidence=False, area=area)

    def sequence(self) -> QualityAssessor:
        """An assessor for a frame sequence (frozen detection on)."""
        return QualityAssessor(self.qcfg, self.model, sequence=True)


def monotonic(series: list[list[float]]) -> tuple[int, float]:
    """(1 if every frame's scores fall at each level else 0, fraction of frames that do)."""
    ok = []
    for s in series:
        ok.append(all(b < a or a == b == 0.0 for a, b in itertools.pairwise(s)))
    return int(all(ok)), round(float(np.mean(ok)), 4)


def onset_gain(img: np.ndarray, mask: np.ndarray) -> float:
    """The least whole-dB gain (-20..+30) at which SATURATION_ONSET of the frame's visible
    pixels in ``mask`` are white."""
    for g in range(-20, 31):
        v = augment.gain(img, g, DISPLAY_DR, mask)[mask]
        lit = v[v > 2]
        if lit.size and np.mean(lit >= 250) >= SATURATION_ONSET:
            return float(g)
    return 30.0


def degradation_series(scorer: Scorer, frames, areas) -> dict:
    """Scores of each frame under each degradation level (see the module doc)."""
    out = {}
    makers = {
        "blur": (BLUR_LEVELS, lambda img, v, m: augment.blur(img, v * img.shape[0] / 256, m)),
        "gain": (LOW_GAIN_LEVELS, lambda img, v, m: augment.gain(img, v, DISPLAY_DR, m)),
        "saturation": (HIGH_GAIN_LEVELS, lambda img, v, m: augment.gain(img, v, DISPLAY_DR, m)),
    }
    for name, (levels, make) in makers.items():
        series = []
        for img, area in zip(frames, areas, strict=True):
            g0 = onset_gain(img, area.mask) if name == "saturation" else 0.0
            series.append([scorer(make(img, g0 + v, area.mask), area).score for v in levels])
        flag, frac = monotonic(series)
        out[name] = {
            "monotonic": flag,
            "fraction": frac,
            "levels": list(levels),
            "mean_scores": np.round(np.mean(series, axis=0), 4).tolist(),
        }
    return out


def held_out_sampler(cfg) -> FrameSampler:
    """Frames of the held-out presets on the held-out phantom."""
    return FrameSampler(
        cfg.sim,
        cfg.probe,
        cfg.ultrasound.sim,
        presets=HELD_OUT_PRESETS,
        phantoms=(HELD_OUT_PHANTOM,),
    )


def held_out_display_frames(cfg, per_class: int, seed: int):
    """Held-out-geometry frames as displayed (raw or screen grab, augmented), with their
    true imaging areas and labels."""
    sampler = held_out_sampler(cfg)
    gen = QualityFrameGenerator(sampler, Augmentation(), (64, 64))
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(CLASS_ORDER), int)
    frames, areas, labels, presets = [], [], [], []
    while counts.min() < per_class:
        r = sampler.render(rng)
        k = CLASS_ORDER.index(r.frame.truth.quality)
        if counts[k] >= per_class:
            continue
        counts[k] += 1
        img, area, _ = gen.display(r, rng)
        frames.append(img)
        areas.append(area)
        labels.append(k)
        presets.append(r.entry.preset)
    return frames, areas, np.array(labels), presets


def good_raw_frames(cfg, n: int, seed: int):
    """Raw (not augmented, not screen-grabbed) held-out-geometry frames of class good."""
    sampler = held_out_sampler(cfg)
    rng = np.random.default_rng(seed)
    frames, areas = [], []
    while len(frames) < n:
        r = sampler.render(rng)
        if r.frame.truth.quality.value != "good":
            continue
        fov = r.entry.sim.scan.fov_mask
        frames.append(r.frame.image)
        areas.append(area_from_mask(fov if fov is not None else np.ones(r.frame.image.shape, bool)))
    return frames, areas


def confidence_reference() -> dict:
    """Our maps against the stored MONAI maps, and MONAI's time if it is installed."""
    with np.load(REFERENCE, allow_pickle=False) as z:
        names = [str(n) for n in z["names"]]
        cases = [(z[f"input_{n}"], z[f"map_{n}"]) for n in names]
    maes = [float(np.abs(confidence_map(x) - m).mean()) for x, m in cases]
    ours = timed(confidence_map, [x for x, _ in cases], repeat=3)
    out = {
        "confidence_ref_mae": float(f"{np.mean(maes):.3g}"),
        "confidence_ref_mae_max": float(f"{np.max(maes):.3g}"),
        "confidence_ref_frames": len(cases),
        "confidence_ref_ms_p50": p50_ms(ours),
    }
    try:
        from monai.transforms import UltrasoundConfidenceMapTransform
    except ImportError:
        out["monai_ms_p50"] = None
        return out
    ref = UltrasoundConfidenceMapTransform()
    theirs = timed(lambda x: ref(x[None].astype(np.float64)), [x for x, _ in cases], repeat=3)
    out["monai_ms_p50"] = p50_ms(theirs)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench-results", help="output folder")
    ap.add_argument("--per-class", type=int, default=100, help="held-out frames per class")
    ap.add_argument("--ood-per-kind", type=int, default=40, help="OOD frames per kind")
    ap.add_argument("--model", default="", help="ONNX model (default: the shipped one)")
    ap.add_argument("--legacy", action="store_true", help="score as before issue 16")
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)  # one core for the simulator and pre-processing
    cfg = Config()
    model = load_quality_model(args.model)
    scorer = Scorer(cfg, model, args.legacy)

    # -- the present figures: default probes (linear, convex 84 deg), raw frames ------------
    t0 = time.perf_counter()
    sampler = FrameSampler(cfg.sim, cfg.probe, cfg.ultrasound.sim)
    held = sampler.generate(args.per_class, seed=BENCH_SEED)
    gen_s = time.perf_counter() - t0
    fovs = {
        id(e.sim): area_from_mask(
            e.sim.scan.fov_mask if e.sim.scan.fov_mask is not None else np.ones((256, 256), bool)
        )
        for e in sampler.sims
    }
    # the area of each frame's geometry (given, as a preset or a converged tracker gives it)
    probe_area = {"linear": fovs[id(sampler.sims[0].sim)], "convex": fovs[id(sampler.sims[-1].sim)]}
    outs = [scorer(f, probe_area[k]) for f, k in zip(held.frames, held.probe, strict=True)]
    pred = np.array([CLASS_ORDER.index(o.quality) for o in outs])
    scores = np.array([o.score for o in outs])
    macro_acc, per_class = macro(pred, held.labels)
    single = np.array([CLASS_ORDER.index(scorer(f).quality) for f in held.frames])
    macro_single, _ = macro(single, held.labels)
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
    other_sampler = FrameSampler(other_cfg.sim, other_cfg.probe, other_cfg.ultrasound.sim)
    other = other_sampler.generate(max(1, args.per_class // 2), seed=BENCH_SEED + 1)
    other_pred = np.array(
        [
            CLASS_ORDER.index(scorer(f, probe_area[k]).quality)
            for f, k in zip(other.frames, other.probe, strict=True)
        ]
    )
    other_macro, _ = macro(other_pred, other.labels)

    # -- held-out geometries and phantom: model inputs as the pipeline cuts them -----------
    sections = (cfg.sim, cfg.probe, cfg.ultrasound.sim)
    size = model.input_size
    given = dataclasses.replace(Augmentation(), detect_fraction=0.0, jitter=0.0)
    detected = dataclasses.replace(Augmentation(), detect_fraction=1.0, detect_any=True)
    ho = {}
    for name, presets, phantom, aug in (
        ("geometry", HELD_OUT_PRESETS, HELD_OUT_PHANTOM, given),
        ("geometry_single_frame", HELD_OUT_PRESETS, HELD_OUT_PHANTOM, detected),
        ("phantom", TRAIN_PRESETS, HELD_OUT_PHANTOM, given),
    ):
        n = max(1, args.per_class // 2)
        if args.legacy:  # the whole screen, resized
            d = _legacy_inputs(cfg, presets, phantom, n, size)
        else:
            d = quality_training_frames(
                *sections, n, BENCH_SEED + 10, size, presets, (phantom,), aug
            )
        p = np.array([CLASS_ORDER.index(o.quality) for o in model.predict(d.frames)])
        acc, per = macro(p, d.labels)
        names = np.array(d.preset)
        by_preset = {
            n: round(float(np.mean(p[names == n] == d.labels[names == n])), 4)
            for n in sorted(set(d.preset))
        }
        ho[name] = {"macro": acc, "per_class": per, "per_preset": by_preset, "n": len(p)}

    # -- out of distribution ---------------------------------------------------------------
    valid, valid_areas, valid_labels, _ = held_out_display_frames(
        cfg, max(1, args.per_class // 2), BENCH_SEED + 20
    )
    valid_res = [scorer(f) for f in valid]
    flagged_valid = [r.ood for r in valid_res]
    false_reasons: dict[str, int] = {}
    for r in valid_res:
        if r.ood:
            false_reasons[r.ood_reason] = false_reasons.get(r.ood_reason, 0) + 1
    flagged_given = [scorer(f, a).ood for f, a in zip(valid, valid_areas, strict=True)]
    with_tissue = [
        f for f, k in zip(valid, valid_labels, strict=True) if CLASS_ORDER[k].value != "no_contact"
    ]
    ood, kinds, _ = ood_frames(args.ood_per_kind, BENCH_SEED + 30, with_tissue)
    ood_res = [scorer(f) for f in ood]
    per_kind, reason_ok = {}, {}
    for kind in OOD_KINDS:
        sel = [r for r, k in zip(ood_res, kinds, strict=True) if k == kind]
        exp = OOD_KINDS[kind][1]
        per_kind[kind] = round(float(np.mean([r.ood for r in sel])), 4)
        if exp:
            reason_ok[kind] = round(float(np.mean([r.ood_reason == exp for r in sel])), 4)
        reasons: dict[str, int] = {}
        for r in sel:
            reasons[r.ood_reason or "-"] = reasons.get(r.ood_reason or "-", 0) + 1
        per_kind[kind] = {"recall": per_kind[kind], "reasons": reasons}
    # frozen: a live source repeating one valid frame (4 frames in a row: flagged by the 4th)
    frozen_hits = []
    for f in with_tissue[: args.ood_per_kind]:
        seq = scorer.sequence()
        res = [seq.assess(f, with_confidence=False) for _ in range(4)]
        frozen_hits.append(False if args.legacy else res[-1].ood)
    per_kind["frozen"] = {"recall": round(float(np.mean(frozen_hits)), 4)}
    # live sequences of a still probe (fresh electronic noise each frame) are not frozen
    live_alarm = []
    for e in sampler.sims[:2]:
        seq = scorer.sequence()
        kw, press = sampler.families["contact"][0](np.random.default_rng(5), e.geometry)
        T, force = sampler.settle(e.sim, kw, press, e.geometry)
        res = [seq.assess(e.sim.render(T, force).image, with_confidence=False) for _ in range(6)]
        live_alarm += [False if args.legacy else r.ood_reason == "frozen" for r in res]
    all_hits = [r.ood for r in ood_res] + frozen_hits
    ood_recall = round(float(np.mean(all_hits)), 4)
    ood_false_alarm = round(float(np.mean(flagged_valid)), 4)

    # -- degradation monotonicity ----------------------------------------------------------
    good_frames, good_areas = good_raw_frames(cfg, max(10, args.per_class // 2), BENCH_SEED + 40)
    mono = degradation_series(scorer, good_frames, good_areas)

    # -- timing ----------------------------------------------------------------------------
    sample = held.frames[:: max(1, len(held.frames) // 100)]
    model_ts = timed(model, sample, repeat=2)
    assess_ts = timed(lambda f: scorer(f), sample[:50])
    small64 = [cv2.resize(f, (64, 64), interpolation=cv2.INTER_AREA) for f in sample[:40]]
    small128 = [cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in sample[:12]]
    conf64 = timed(confidence_map, small64)
    conf128 = timed(confidence_map, small128)
    conf_ref = confidence_reference()

    fps = {}
    rng = np.random.default_rng(7)
    for e in (sampler.sims[0], sampler.sims[len(sampler.sims) // 2]):  # default settings
        poses = []
        for _ in range(40):
            kw, press = sampler.families["contact"][0](rng, e.geometry)
            poses.append(sampler.settle(e.sim, kw, press, e.geometry))
        ts = timed(lambda p, sim=e.sim: sim.render(p[0], p[1]), poses)
        fps[e.kind] = round(1.0 / float(np.median(ts)), 1)

    # speckle statistics: envelope SNR (mean / std) in deep muscle of a well-coupled linear
    # frame, 4 mm windows away from boundaries; fully developed speckle gives 1.91
    from sim.ultrasound.dataset import probe_pose_on_skin
    from sim.ultrasound.tissue import Tissue

    lin = sampler.sims[0].sim
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
        "macro_accuracy": macro_acc,
        "per_class_accuracy": per_class,
        "model_ms_p50": p50_ms(model_ts),
        "confidence_ms_p50": {"64x64": p50_ms(conf64), "128x128": p50_ms(conf128)},
        "sim_fps": fps["linear"],
        # issue 16
        "macro_accuracy_held_out_geometry": ho["geometry"]["macro"],
        "ood_recall": ood_recall,
        "ood_false_alarm": ood_false_alarm,
        "blur_monotonic": mono["blur"]["monotonic"],
        "confidence_ref_mae": conf_ref["confidence_ref_mae"],
        # extras
        "gain_monotonic": mono["gain"]["monotonic"],
        "saturation_monotonic": mono["saturation"]["monotonic"],
        "monotonic_detail": mono,
        "held_out": ho,
        "macro_accuracy_single_frame_area": macro_single,
        "ood_per_kind": per_kind,
        "ood_reason_accuracy": reason_ok,
        "ood_false_alarm_area_given": round(float(np.mean(flagged_given)), 4),
        "ood_false_alarm_reasons": false_reasons,
        "ood_live_still_probe_frozen_alarm": round(float(np.mean(live_alarm)), 4),
        "n_ood": len(all_hits),
        "n_valid": len(valid),
        "confidence_reference": conf_ref,
        "model_bytes": Path(args.model).stat().st_size if args.model else _shipped_size(),
        "assess_ms_p50": p50_ms(assess_ts),
        "sim_fps_convex": fps["convex"],
        "accuracy_per_probe": per_probe,
        "macro_accuracy_other_patient": other_macro,
        "speckle_snr": speckle_snr,
        "score_mae": round(float(np.mean(np.abs(scores - held.scores))), 4),
        "confusion": {"order": [c.value for c in CLASS_ORDER], "rows_true": confusion.tolist()},
        "model_ms_p99": round(float(np.percentile(model_ts, 99)) * 1e3, 3),
        "worker_submit_us_p99": round(float(np.percentile(submit_ts, 99)) * 1e6, 1),
        "n_frames": len(held.frames),
        "frame_size": list(held.frames.shape[1:]),
        "held_out_seed": BENCH_SEED,
        "generation_s": round(gen_s, 1),
        "legacy": args.legacy,
        "load_average": list(np.round(os.getloadavg(), 2)),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(json.dumps(result, indent=2) + "\n")

    rows = [
        ("macro_accuracy", result["macro_accuracy"], ">= 0.9"),
        *((f"accuracy {k}", v, "") for k, v in per_class.items()),
        ("macro_accuracy single-frame area", macro_single, ""),
        ("macro_accuracy_held_out_geometry", ho["geometry"]["macro"], ">= 0.9"),
        ("  ... area from each frame", ho["geometry_single_frame"]["macro"], ""),
        ("macro_accuracy held-out phantom", ho["phantom"]["macro"], ""),
        ("ood_recall", ood_recall, ">= 0.95"),
        ("ood_false_alarm", ood_false_alarm, "<= 0.02"),
        ("  ... area given", result["ood_false_alarm_area_given"], ""),
        ("blur_monotonic", mono["blur"]["monotonic"], "1"),
        ("gain_monotonic", mono["gain"]["monotonic"], "1"),
        ("saturation_monotonic", mono["saturation"]["monotonic"], "1"),
        ("confidence_ref_mae", conf_ref["confidence_ref_mae"], "<= 1e-3"),
        ("score_mae", result["score_mae"], ""),
        ("macro_accuracy other patient", result["macro_accuracy_other_patient"], ""),
        ("model_ms_p50 (256x256)", result["model_ms_p50"], "<= 5"),
        ("assess_ms_p50 (no confidence)", result["assess_ms_p50"], ""),
        ("model_bytes", result["model_bytes"], "< 2 MB"),
        ("confidence_ms_p50 64x64", result["confidence_ms_p50"]["64x64"], "<= 40"),
        ("  MONAI on the reference set", conf_ref["monai_ms_p50"], ""),
        ("  ours on the reference set", conf_ref["confidence_ref_ms_p50"], ""),
        ("confidence_ms_p50 128x128", result["confidence_ms_p50"]["128x128"], ""),
        ("sim_fps linear 256x256", result["sim_fps"], ">= 30"),
        ("sim_fps convex 256x256", result["sim_fps_convex"], ""),
        ("worker_submit_us_p99", result["worker_submit_us_p99"], ""),
        ("speckle_snr (envelope)", result["speckle_snr"], "~1.91 (Rayleigh)"),
    ]
    print(f"{'figure':34s} {'value':>10s}  target")
    for name, value, target in rows:
        print(f"{name:34s} {value!s:>10s}  {target}")
    print("OOD recall per kind: " + ", ".join(f"{k} {v['recall']}" for k, v in per_kind.items()))
    print(f"({len(held.frames)} held-out frames, seed {BENCH_SEED}) -> {out / 'quality.json'}")
    return 0


def _shipped_size() -> int:
    from robot_us.imaging.models import shipped_model_bytes

    return len(shipped_model_bytes())


def _legacy_inputs(cfg, presets, phantom, per_class: int, size):
    """Held-out frames as the old pipeline saw them: the whole displayed frame resized."""
    sampler = FrameSampler(
        cfg.sim, cfg.probe, cfg.ultrasound.sim, presets=presets, phantoms=(phantom,)
    )
    gen = QualityFrameGenerator(sampler, Augmentation(), size)

    def whole(r, rng):
        img, _, screen = gen.display(r, rng)
        return cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA), screen

    from sim.ultrasound.dataset import balanced

    return balanced(sampler, per_class, BENCH_SEED + 10, whole)


if __name__ == "__main__":
    sys.exit(main())
