"""The learned quality model: an ONNX network run with onnxruntime, and the input/output
contract any plugged-in model must meet (checked when the model is loaded).

Contract ``robot-us-quality/1``:
- exactly one input, float32, shape [N, 1, H, W] with H and W fixed (N may be dynamic):
  the B-mode frame (rows = depth, transducer at the top) resized to H x W with area
  averaging and scaled to [0, 1] (uint8 / 255);
- an output ``probs``, float32 [N, 4]: class probabilities in the order good, poor_contact,
  shadowed, no_contact (each in [0, 1], summing to 1);
- an output ``score``, float32 [N, 1]: quality score in [0, 1] (1 = the whole field of
  view is usable);
- optional metadata ``classes`` = "good,poor_contact,shadowed,no_contact" (checked if set);
- optional outputs (used when present, float32 [N, 1] each): ``flipped``, the probability
  that the frame is upside down (transducer at the bottom); ``not_bmode``, the probability
  that it lacks the statistics of B-mode speckle; ``novelty``, a distance of the frame from
  the model's training frames scaled so that above 1 the frame is unlike them
  (``perception.quality.ood`` turns them into out-of-distribution reasons);
- optional metadata ``flipped_threshold`` and ``not_bmode_threshold`` (in [0.5, 1)): the
  probability above which those outputs count (default 0.5).

The frame a model sees is the imaging area of the displayed frame (its bounding box, the
pixels outside the area set to 0; ``perception.quality.imaging_area``), not the whole
screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from perception.quality.classes import CLASS_ORDER, QualityClass

CONTRACT = "robot-us-quality/1"
PROBS_OUTPUT = "probs"
SCORE_OUTPUT = "score"
#: Optional outputs, [N, 1] each.
FLIPPED_OUTPUT = "flipped"
NOT_BMODE_OUTPUT = "not_bmode"
NOVELTY_OUTPUT = "novelty"
OPTIONAL_OUTPUTS = (FLIPPED_OUTPUT, NOT_BMODE_OUTPUT, NOVELTY_OUTPUT)
CLASSES_METADATA = ",".join(c.value for c in CLASS_ORDER)
#: Tolerance on the probabilities summing to one.
PROB_SUM_TOL = 1e-3
#: Largest model input side accepted (px).
MAX_INPUT_SIDE = 512


class ModelContractError(ValueError):
    """A quality model does not meet the input/output contract (the message says how)."""


@dataclass
class ModelOutput:
    """One frame's model output: class, score (0..1), probabilities in ``CLASS_ORDER``,
    and the optional outputs (None when the model has none): probability that the frame
    is upside down, that it is not B-mode, novelty (> 1: unlike the training frames)."""

    quality: QualityClass
    score: float
    probs: np.ndarray
    flipped: float | None = None
    not_bmode: float | None = None
    novelty: float | None = None


def _fixed_dim(d: object) -> int | None:
    return d if isinstance(d, int) and d > 0 else None


class QualityModel:
    """An ONNX quality model validated against the contract at construction.

    ``model`` is the serialized ONNX model (bytes; ``robot_us.imaging.models`` reads files);
    ``name`` is used in error messages. One intra-op thread by default, so the model never
    takes over the machine.
    """

    def __init__(self, model: bytes, name: str = "quality model", threads: int = 1) -> None:
        self.name = name
        if not isinstance(model, bytes | bytearray):
            raise TypeError(f"{name}: QualityModel takes the serialized model (bytes)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                model, sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises several private exception types
            raise ModelContractError(f"{name}: not a loadable ONNX model ({exc})") from exc
        self.input_size = self._check_contract()

    def _fail(self, why: str) -> ModelContractError:
        return ModelContractError(f"{self.name} violates contract {CONTRACT}: {why}")

    def _check_contract(self) -> tuple[int, int]:
        s = self.session
        inputs = s.get_inputs()
        if len(inputs) != 1:
            raise self._fail(f"expected exactly one input, found {len(inputs)}")
        inp = inputs[0]
        if inp.type != "tensor(float)":
            raise self._fail(f"input '{inp.name}' must be float32, is {inp.type}")
        shape = inp.shape
        if len(shape) != 4 or shape[1] != 1:
            raise self._fail(f"input '{inp.name}' must be [N, 1, H, W], is {shape}")
        h, w = _fixed_dim(shape[2]), _fixed_dim(shape[3])
        if h is None or w is None or max(h, w) > MAX_INPUT_SIDE:
            raise self._fail(
                f"input '{inp.name}' needs fixed H, W <= {MAX_INPUT_SIDE}, is {shape[2:]}"
            )
        self.input_name = inp.name
        outs = {o.name: o for o in s.get_outputs()}
        for name, width in ((PROBS_OUTPUT, len(CLASS_ORDER)), (SCORE_OUTPUT, 1)):
            if name not in outs:
                raise self._fail(f"missing output '{name}' (has {sorted(outs)})")
            o = outs[name]
            if o.type != "tensor(float)":
                raise self._fail(f"output '{name}' must be float32, is {o.type}")
            fixed = _fixed_dim(o.shape[1]) if len(o.shape) == 2 else None
            if len(o.shape) != 2 or (fixed is not None and fixed != width):
                raise self._fail(f"output '{name}' must be [N, {width}], is {o.shape}")
        self.optional = tuple(n for n in OPTIONAL_OUTPUTS if n in outs)
        for name in self.optional:
            o = outs[name]
            fixed = _fixed_dim(o.shape[1]) if len(o.shape) == 2 else None
            if o.type != "tensor(float)" or len(o.shape) != 2 or fixed not in (None, 1):
                raise self._fail(f"optional output '{name}' must be float32 [N, 1], is {o.shape}")
        meta = s.get_modelmeta().custom_metadata_map
        self.head_thresholds = {}
        for name in (FLIPPED_OUTPUT, NOT_BMODE_OUTPUT):
            raw = meta.get(f"{name}_threshold", "0.5")
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not 0.5 <= value < 1.0:
                raise self._fail(f"metadata {name}_threshold '{raw}' is not a number in [0.5, 1)")
            self.head_thresholds[name] = value
        if "classes" in meta and meta["classes"] != CLASSES_METADATA:
            raise self._fail(
                f"metadata classes '{meta['classes']}' differ from '{CLASSES_METADATA}'"
            )
        # dry runs: a black and a noise frame must give well-formed outputs
        rng = np.random.default_rng(0)
        probe = np.stack([np.zeros((1, h, w)), rng.random((1, h, w))]).astype(np.float32)
        try:
            probs, score, extra = self._run(probe)
        except Exception as exc:  # a model that cannot run a batch of 2 is unusable
            raise self._fail(f"dry run on a [2, 1, {h}, {w}] batch failed ({exc})") from exc
        if probs.shape != (2, len(CLASS_ORDER)) or score.shape not in ((2, 1), (2,)):
            raise self._fail(
                f"dry run output shapes probs {probs.shape}, score {score.shape}; "
                f"expected (2, {len(CLASS_ORDER)}) and (2, 1)"
            )
        if not (np.all(np.isfinite(probs)) and np.all(np.isfinite(score))):
            raise self._fail("dry run produced NaN or infinite outputs")
        if np.any(probs < -1e-6) or np.any(np.abs(probs.sum(axis=1) - 1) > PROB_SUM_TOL):
            raise self._fail("'probs' are not probabilities (non-negative, summing to 1)")
        if np.any(score < -1e-6) or np.any(score > 1 + 1e-6):
            raise self._fail("'score' is outside [0, 1]")
        for name, value in extra.items():
            if value.size != 2 or not np.all(np.isfinite(value)):
                raise self._fail(f"dry run output '{name}' is not 2 finite values")
        return h, w

    def _run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        names = [PROBS_OUTPUT, SCORE_OUTPUT, *self.optional]
        out = self.session.run(names, {self.input_name: batch.astype(np.float32)})
        extra = {n: np.asarray(v).reshape(-1) for n, v in zip(self.optional, out[2:], strict=True)}
        return np.asarray(out[0]), np.asarray(out[1]), extra

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """A frame (HxW uint8) as the model's [1, H, W] float32 input."""
        img = np.asarray(image)
        if img.ndim != 2 or img.dtype != np.uint8 or min(img.shape) < 2:
            raise ValueError(
                f"quality model input must be an HxW uint8 image, got {img.dtype} {img.shape}"
            )
        h, w = self.input_size
        small = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        return (small.astype(np.float32) * np.float32(1.0 / 255.0))[None]

    def predict(self, images: list[np.ndarray] | np.ndarray) -> list[ModelOutput]:
        """Model outputs for a batch of frames (each HxW uint8)."""
        batch = np.stack([self.preprocess(im) for im in images])
        probs, score, extra = self._run(batch)
        score = score.reshape(len(batch))
        flipped, novelty = extra.get(FLIPPED_OUTPUT), extra.get(NOVELTY_OUTPUT)
        not_bmode = extra.get(NOT_BMODE_OUTPUT)
        return [
            ModelOutput(
                quality=CLASS_ORDER[int(np.argmax(p))],
                score=float(np.clip(s, 0.0, 1.0)),
                probs=p.astype(np.float64),
                flipped=None if flipped is None else float(flipped[k]),
                not_bmode=None if not_bmode is None else float(not_bmode[k]),
                novelty=None if novelty is None else float(novelty[k]),
            )
            for k, (p, s) in enumerate(zip(probs, score, strict=True))
        ]

    def __call__(self, image: np.ndarray) -> ModelOutput:
        """Model output for one frame (HxW uint8)."""
        return self.predict([image])[0]
