"""The frames of a recorded sweep ready for compounding: which frames are used and why the
others are left out, the pose stream they are placed with, the probe's image-to-probe
calibration from the recorded configuration, and a time lag applied to the frame times."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from robot_us.core.config_schema import build_section
from robot_us.core.probe import ProbeConfig
from robot_us.recording.contents import QualitySample, Recording

#: A frame without its own quality result takes that of the nearest assessed frame up to
#: this far away in time (s; the real-time worker skips frames when busy).
QUALITY_MATCH_S = 0.2
#: Scan states whose probe path is exported (the probe on the skin).
CONTACT_STATES = ("settle", "sweep", "paused")
#: Scan states of the sweep itself (moving along the skin, or paused on it).
SWEEP_STATES = ("sweep", "paused")


@dataclass
class SweepFrames:
    """Frames selected for compounding (in time order): times (s, lag applied), images
    (n x H x W uint8), ``T_base_probe`` (n x 4 x 4), image-to-probe calibration
    (``T_probe_image``, 4x4), quality score per frame, their recording indices, and the
    count of frames left out per reason."""

    t: np.ndarray
    images: np.ndarray
    T_base_probe: np.ndarray
    T_probe_image: np.ndarray
    score: np.ndarray
    index: np.ndarray
    left_out: dict[str, int] = field(default_factory=dict)
    lag: float = 0.0

    @property
    def T_base_image(self) -> np.ndarray:
        """Pixel -> base frame (n x 4 x 4, m)."""
        return self.T_base_probe @ self.T_probe_image

    def __len__(self) -> int:
        return len(self.t)


def recorded_probe(rec: Recording) -> ProbeConfig:
    """The probe section of the recording's configuration (defaults for keys it lacks,
    e.g. a recording made before the image calibration keys existed)."""
    data = (rec.config or {}).get("probe") or {}
    known = {f.name for f in dataclasses.fields(ProbeConfig)}
    return build_section(ProbeConfig, {k: v for k, v in data.items() if k in known}, "probe")


def state_names(rec: Recording) -> dict[int, str]:
    """State id -> name from the recording's metadata."""
    try:
        names = json.loads(rec.metadata.get("state_names", "{}"))
    except json.JSONDecodeError:
        return {}
    return {int(k): str(v) for k, v in names.items()}


def quality_of_frames(rec: Recording) -> list[QualitySample | None]:
    """Each frame's quality result: its own (same ``seq``), else the nearest assessed frame
    within ``QUALITY_MATCH_S``, else None."""
    by_seq = {q.seq: q for q in rec.quality}
    qt = np.array([q.t for q in rec.quality])
    out: list[QualitySample | None] = []
    for f in rec.frames:
        q = by_seq.get(f.seq)
        if q is None and len(qt):
            k = int(np.argmin(np.abs(qt - f.t)))
            q = rec.quality[k] if abs(qt[k] - f.t) <= QUALITY_MATCH_S else None
        out.append(q)
    return out


def leave_out_reason(q: QualitySample | None, min_score: float) -> str:
    """Why a frame with quality ``q`` is left out ('' = used): not assessed, flagged
    out-of-distribution (an ``ood`` field, when the quality results carry one), a class
    other than good, or a score below ``min_score``."""
    if q is None:
        return "not assessed"
    if bool(getattr(q, "ood", False)):
        return "out of distribution"
    if q.label != "good":
        return q.label
    if not q.score >= min_score:
        return "score below threshold"
    return ""


@dataclass
class PoseStream:
    """The probe pose stream of the state log: times (s, increasing), positions (M x 3,
    m), rotations (scipy ``Rotation``, M)."""

    t: np.ndarray
    position: np.ndarray
    rotation: Any

    def at(self, t: np.ndarray) -> np.ndarray:
        """Poses (n x 4 x 4) at times ``t`` (s, clipped to the stream): positions linear,
        rotations slerped."""
        tq = np.clip(np.asarray(t, float), self.t[0], self.t[-1])
        T = np.tile(np.eye(4), (len(tq), 1, 1))
        T[:, :3, :3] = Slerp(self.t, self.rotation)(tq).as_matrix()
        for k in range(3):
            T[:, k, 3] = np.interp(tq, self.t, self.position[:, k])
        return T


def pose_stream(rec: Recording) -> PoseStream | None:
    """The state stream's probe poses, None if it has fewer than two rows."""
    st = rec.state
    if len(st) < 2:
        return None
    t, keep = np.unique(np.asarray(st["t"], float), return_index=True)
    T34 = np.asarray(st["T_base_probe"], float)[keep]
    ok = np.all(np.isfinite(T34.reshape(len(T34), -1)), axis=1)
    if ok.sum() < 2:
        return None
    t, T34 = t[ok], T34[ok]
    R = T34[:, :, :3]
    u, _, vt = np.linalg.svd(R)  # re-orthonormalise rows stored as float
    return PoseStream(t, T34[:, :, 3].copy(), Rotation.from_matrix(u @ vt))


def sweep_rows(rec: Recording) -> np.ndarray:
    """The state rows while sweeping or paused on the skin."""
    names = state_names(rec)
    ids = [k for k, v in names.items() if v in SWEEP_STATES]
    st = rec.state
    return st[np.isin(st["state"], ids)] if len(st) else st


def sweep_span(rec: Recording) -> tuple[float, float] | None:
    """First and last time (s) of the state rows while sweeping or paused, None if none."""
    t = sweep_rows(rec)["t"] if len(rec.state) else np.zeros(0)
    return (float(t[0]), float(t[-1])) if len(t) else None


def contact_path(rec: Recording) -> np.ndarray:
    """The probe poses (n x 4 x 4) of the state rows while the probe was on the skin
    (settle, sweep, paused)."""
    names = state_names(rec)
    ids = [k for k, v in names.items() if v in CONTACT_STATES]
    st = rec.state
    if len(st) == 0:
        return np.zeros((0, 4, 4))
    rows = st[np.isin(st["state"], ids)]
    T = np.tile(np.eye(4), (len(rows), 1, 1))
    T[:, :3, :] = rows["T_base_probe"]
    return T[np.all(np.isfinite(T.reshape(len(T), -1)), axis=1)]


def select_frames(rec: Recording, min_score: float, lag: float = 0.0) -> SweepFrames:
    """The frames to compound: with a pose, of one image size, assessed good with a score of
    at least ``min_score`` and not flagged out of distribution; the rest counted by reason.
    With a ``lag`` (s) the frame stamped t is placed at the pose of t - lag: the recorded
    frame pose moved by the state stream's motion over the lag."""
    probe = recorded_probe(rec)
    quality = quality_of_frames(rec)
    left: Counter[str] = Counter()
    keep = []
    shape = None
    for i, (f, q) in enumerate(zip(rec.frames, quality, strict=True)):
        reason = leave_out_reason(q, min_score)
        if not reason and f.T_base_probe is None:
            reason = "no pose"
        if not reason and shape is not None and f.image.shape != shape:
            reason = "image size differs"
        if reason:
            left[reason] += 1
            continue
        shape = f.image.shape
        keep.append(i)
    frames = [rec.frames[i] for i in keep]
    t = np.array([f.t for f in frames], float)
    T = np.array([f.T_base_probe for f in frames], float).reshape(-1, 4, 4)
    if lag and len(frames):
        stream = pose_stream(rec)
        if stream is None:
            raise ValueError(f"{rec.path}: no state stream to apply a time lag with")
        T = T @ np.linalg.inv(stream.at(t)) @ stream.at(t - lag)
    if frames:
        T_pi = probe.T_probe_image(frames[0].image.shape[1], frames[0].spacing_m)
        images = np.stack([f.image for f in frames])
    else:
        T_pi, images = np.eye(4), np.zeros((0, 1, 1), np.uint8)
    score = np.array([quality[i].score for i in keep], float)  # type: ignore[union-attr]
    return SweepFrames(t, images, T, T_pi, score, np.array(keep, int), dict(left), lag)
