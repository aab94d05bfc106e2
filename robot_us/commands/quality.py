"""``robot-us quality``: score a folder of PNG frames or an .npz frame stack; writes per
frame the quality class, the score, the out-of-distribution flag and reason and the
confidence features to a JSON file. Frames are a sequence (one scanner session, in order:
the imaging area is tracked, repeated frames count as frozen) unless ``--independent``."""

from __future__ import annotations

import argparse

from robot_us.output_paths import add_overwrite_flag

HELP = "score ultrasound frames (PNG folder or .npz stack) for image quality"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``robot-us quality``."""
    p.add_argument(
        "--frames",
        required=True,
        help="a folder of image frames (PNG...) or an .npz file with 'frames' (N x H x W uint8)",
    )
    p.add_argument("--out", required=True, help="JSON file to write the scores to")
    p.add_argument("--model", default=None, help="ONNX quality model (default: the shipped one)")
    p.add_argument("--config", action="append", default=[], help="TOML config file(s)")
    p.add_argument("--no-confidence", action="store_true", help="skip the confidence map (faster)")
    p.add_argument(
        "--independent",
        action="store_true",
        help="frames are unrelated: find the imaging area in each, no frozen-frame check",
    )
    add_overwrite_flag(p)


def run(args: argparse.Namespace) -> int:
    """Score every frame and write ``--out``."""
    import json
    from pathlib import Path

    from hardware_drivers.frame_files import FrameFileError
    from hardware_drivers.frame_stack import NpzStackSource
    from hardware_drivers.image_folder import ImageFolderSource
    from perception.quality.assess import QualityAssessor
    from robot_us.config import load_config
    from robot_us.imaging.models import load_quality_model
    from robot_us.output_paths import check_new_file, new_file

    out = check_new_file(args.out, args.overwrite)
    cfg = load_config(*args.config)
    qcfg = cfg.ultrasound.quality
    path = Path(args.frames)
    if path.is_dir():
        source = ImageFolderSource(path)
    elif path.is_file():
        source = NpzStackSource(path)
    else:
        raise FrameFileError(f"frames not found: {path}")
    model = load_quality_model(args.model if args.model is not None else qcfg.model)
    assessor = QualityAssessor(qcfg, model, sequence=not args.independent)
    rows = []
    while (frame := source.grab()) is not None:
        try:
            res = assessor.assess(
                frame.image, with_confidence=not args.no_confidence, seq=frame.seq
            )
        except ValueError as exc:  # e.g. a frame too small: name the frame
            where = path / frame.meta["name"] if "name" in frame.meta else f"{path}[{frame.seq}]"
            raise FrameFileError(f"{where}: {exc}") from exc
        row = {"index": frame.seq, "name": frame.meta.get("name", str(frame.seq))}
        row.update(res.to_dict())
        del row["seq"], row["t"]
        rows.append(row)
    counts: dict[str, int] = {}
    ood: dict[str, int] = {}
    for r in rows:
        counts[r["class"]] = counts.get(r["class"], 0) + 1
        if r["ood"]:
            ood[r["ood_reason"]] = ood.get(r["ood_reason"], 0) + 1
    report = {
        "frames": str(path),
        "model": model.name,
        "confidence": None
        if args.no_confidence
        else {
            "alpha": qcfg.alpha,
            "beta": qcfg.beta,
            "gamma": qcfg.gamma,
            "size": qcfg.confidence_size,
        },
        "counts": counts,
        "out_of_distribution": ood,
        "results": rows,
    }
    with new_file(out, args.overwrite) as tmp:
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"scored {len(rows)} frames -> {out}: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + "".join(f", out of distribution ({k}) {v}" for k, v in ood.items())
    )
    return 0
