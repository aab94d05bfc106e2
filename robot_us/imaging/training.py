"""Reproducible training of the shipped quality model (needs the ``train`` extra: torch and
onnx). Simulated frames with ground-truth labels (``sim.ultrasound.dataset``: training probe
presets and phantoms, augmented, raw and as screen grabs, cut to the imaging area) -> a
small CNN (``robot_us.imaging.network``: class, score, flipped and not-B-mode heads, and a
novelty output) -> ONNX meeting ``perception.quality.model``'s contract.

Run: ``robot-us train-quality`` (writes ``perception/quality/models/quality_cnn.onnx`` and a
``quality_cnn.json`` training report beside it). Same seed, same data, same weights.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from perception.quality.classes import CLASS_ORDER
from perception.quality.model import CLASSES_METADATA, CONTRACT
from robot_us.config import Config
from robot_us.imaging.models import SHIPPED_PACKAGE, SHIPPED_RESOURCE
from robot_us.imaging.network import (
    OUTPUT_NAMES,
    batch_loss,
    build_exported,
    build_network,
    fit_novelty,
    head_accuracy,
    ood_calibration,
)
from sim.ultrasound.dataset import LabelledFrames, quality_training_frames

#: Model input side (px).
INPUT_SIZE = 64
#: Default location of the shipped model inside the source tree (the resource
#: ``robot_us.imaging.models`` loads).
SHIPPED_MODEL = (
    Path(__file__).resolve().parents[2] / SHIPPED_PACKAGE.replace(".", "/") / SHIPPED_RESOURCE
)
#: Training data seed offset: benchmark frames use seeds from BENCH_SEED (never trained on).
BENCH_SEED = 1_000_000
#: ONNX opset of the exported model.
OPSET = 17


@dataclass
class TrainSettings:
    """Training hyper-parameters (defaults reproduce the shipped model)."""

    per_class: int = 600
    val_per_class: int = 100
    epochs: int = 30
    batch: int = 64
    lr: float = 3e-3
    score_weight: float = 4.0
    seed: int = 0
    threads: int = 2
    #: Fractions of each batch turned upside down, and made surrogates (without B-mode
    #: speckle statistics), for the flipped and not-B-mode heads (``robot_us.imaging.network``).
    flip_fraction: float = 0.15
    surrogate_fraction: float = 0.15


@dataclass
class TrainReport:
    """What a training run produced: validation accuracy per class and overall, score MAE,
    frame counts, wall times (s) and the settings used."""

    contract: str
    classes: list[str]
    val_accuracy: float
    val_per_class: dict[str, float]
    val_score_mae: float
    n_train: int
    n_val: int
    data_s: float
    train_s: float
    settings: dict
    onnx_bytes: int
    heads: dict | None = None
    novelty: dict | None = None
    ood_calibration: dict | None = None
    presets: list[str] | None = None


def make_datasets(
    settings: TrainSettings, log: Callable[[str], None] = print
) -> tuple[LabelledFrames, LabelledFrames]:
    """Training and validation frames (N x 64 x 64 uint8) with labels and scores."""
    cfg = Config()
    sections = (cfg.sim, cfg.probe, cfg.ultrasound.sim)
    size = (INPUT_SIZE, INPUT_SIZE)
    log(f"rendering {settings.per_class} training frames per class ...")
    train = quality_training_frames(*sections, settings.per_class, settings.seed, size)
    log(f"rendering {settings.val_per_class} validation frames per class ...")
    val = quality_training_frames(*sections, settings.val_per_class, settings.seed + 1, size)
    return train, val


def train_quality_model(
    out: Path = SHIPPED_MODEL,
    settings: TrainSettings | None = None,
    log: Callable[[str], None] = print,
) -> TrainReport:
    """Train, export to ONNX at ``out`` (and ``out`` with .json: the report), return the
    report. Deterministic for ``settings.seed``."""
    try:  # the optional 'train' extra: loaded only when training
        import torch
    except ImportError as exc:
        raise RuntimeError(
            "training needs the 'train' extra: pip install 'robot-us[train]'"
        ) from exc
    s = settings or TrainSettings()
    torch.manual_seed(s.seed)
    torch.set_num_threads(s.threads)
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    train, val = make_datasets(s, log)
    data_s = time.perf_counter() - t0

    def tensors(d):
        x = torch.from_numpy(d.frames.astype(np.float32) / 255.0)[:, None]
        return x, torch.from_numpy(d.labels).long(), torch.from_numpy(d.scores)[:, None]

    xt, yt, st = tensors(train)
    xv, yv, sv = tensors(val)
    net = build_network()
    opt = torch.optim.AdamW(net.parameters(), lr=s.lr, weight_decay=1e-4)
    steps = s.epochs * int(np.ceil(len(xt) / s.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s.lr, total_steps=steps)
    gen = torch.Generator().manual_seed(s.seed)
    t1 = time.perf_counter()
    for epoch in range(s.epochs):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for k in range(0, len(xt), s.batch):
            idx = order[k : k + s.batch]
            xb = xt[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5  # left-right mirror is valid
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = batch_loss(net, xb, yt[idx], st[idx], s, gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        acc, _, mae = _evaluate(net, xv, yv, sv)
        log(
            f"epoch {epoch + 1:2d}/{s.epochs}: loss {total / len(xt):.4f}  val acc {acc:.3f}  "
            f"score MAE {mae:.3f}"
        )
    train_s = time.perf_counter() - t1
    acc, per_class, mae = _evaluate(net, xv, yv, sv)
    heads = head_accuracy(net, xv, gen)
    novelty = fit_novelty(net, xt, xv)
    log(f"heads on validation frames {heads}; novelty reference {novelty['reference']:.2f}")

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    thresholds = {k: v for k, v in heads.items() if k.endswith("_threshold")}
    export_onnx(build_exported(net, novelty), out, thresholds)
    report = TrainReport(
        contract=CONTRACT,
        classes=[c.value for c in CLASS_ORDER],
        val_accuracy=round(acc, 4),
        val_per_class={k: round(v, 4) for k, v in per_class.items()},
        val_score_mae=round(mae, 4),
        n_train=len(xt),
        n_val=len(xv),
        data_s=round(data_s, 1),
        train_s=round(train_s, 1),
        settings=asdict(s),
        onnx_bytes=out.stat().st_size,
        heads=heads,
        novelty={k: v for k, v in novelty.items() if k not in ("mean", "chol")},
        ood_calibration=ood_calibration(train.stats),
        presets=sorted(set(train.preset)),
    )
    out.with_suffix(".json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    return report


def _evaluate(net, x, y, s) -> tuple[float, dict[str, float], float]:
    import torch  # the optional 'train' extra

    net.eval()
    with torch.no_grad():
        logits, score = net(x)[:2]
    pred = logits.argmax(1)
    per = {c.value: float((pred[y == k] == k).float().mean()) for k, c in enumerate(CLASS_ORDER)}
    mae = float((torch.sigmoid(score) - s).abs().mean())
    return float((pred == y).float().mean()), per, mae


def export_onnx(model, path: Path, metadata: dict | None = None) -> None:
    """Export ``model`` (input [N, 1, 64, 64]) to ONNX at ``path`` with the contract's names
    and class metadata (TorchScript exporter: needs only ``onnx``, works offline)."""
    import onnx  # the optional 'train' extra
    import torch

    dummy = torch.zeros(1, 1, INPUT_SIZE, INPUT_SIZE)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=list(OUTPUT_NAMES),
        dynamic_axes={"image": {0: "n"}, **{name: {0: "n"} for name in OUTPUT_NAMES}},
        opset_version=OPSET,
        dynamo=False,
    )
    m = onnx.load(str(path))
    extra = {k: str(v) for k, v in (metadata or {}).items()}
    for key, value in (("classes", CLASSES_METADATA), ("contract", CONTRACT), *extra.items()):
        entry = m.metadata_props.add()
        entry.key, entry.value = key, value
    m.producer_name = "robot-us train-quality"
    onnx.save(m, str(path))
