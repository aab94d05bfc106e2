"""``robot-us train-quality``: retrain the shipped image-quality model from simulated frames
(needs the ``train`` extra: torch and onnx)."""

from __future__ import annotations

import argparse

from robot_us.output_paths import add_overwrite_flag

HELP = "retrain the image-quality model on simulated frames and export it to ONNX"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us train-quality``."""
    p.add_argument(
        "--out",
        default=None,
        help="ONNX file to write (default: the shipped perception/quality/models/quality_cnn.onnx)",
    )
    p.add_argument("--per-class", type=int, default=None, help="training frames per class")
    p.add_argument("--epochs", type=int, default=None, help="training epochs")
    p.add_argument("--seed", type=int, default=None, help="seed of data and training")
    add_overwrite_flag(p)


def run(args: argparse.Namespace) -> int:
    """Train, export, print the report."""
    import dataclasses
    import importlib.util
    from pathlib import Path

    from robot_us.cli import CommandError

    missing = [m for m in ("torch", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        raise CommandError(
            f"training needs {' and '.join(missing)}: pip install -e '.[train]' "
            "(torch==2.13.0, onnx)"
        )

    from robot_us.imaging.training import SHIPPED_MODEL, TrainSettings, train_quality_model

    s = TrainSettings()
    over = {"per_class": args.per_class, "epochs": args.epochs, "seed": args.seed}
    for key, value in over.items():
        if value is not None:
            if value < (0 if key == "seed" else 1):
                raise ValueError(f"--{key.replace('_', '-')} must be positive, got {value}")
            s = dataclasses.replace(s, **{key: value})
    from robot_us.output_paths import check_new_file

    out = Path(args.out) if args.out else SHIPPED_MODEL
    for path in (out, out.with_suffix(".json")):  # the model and its training report
        check_new_file(path, args.overwrite)
    report = train_quality_model(out, s)
    print(f"wrote {out} ({report.onnx_bytes} bytes)")
    print(f"validation accuracy {report.val_accuracy:.3f}, score MAE {report.val_score_mae:.3f}")
    for name, acc in report.val_per_class.items():
        print(f"  {name:14s} {acc:.3f}")
    print(f"data {report.data_s:.0f} s, training {report.train_s:.0f} s")
    return 0
