"""The compression correction of a recorded sweep: calibrated from the settle ramp (the
force rising to its set-point with the probe in place before the sweep moves), applied to
every frame with the contact force at its time (``perception.reconstruction.compression``)."""

from __future__ import annotations

import numpy as np

from perception.reconstruction.compression import CompressionModel, fit_compression
from robot_us.reconstruction.sweep import (
    leave_out_reason,
    pose_stream,
    quality_of_frames,
    state_names,
)
from robot_us.recording.contents import Recording

#: The settle ramp must raise the force by at least this much (N).
MIN_FORCE_RISE = 1.0


def frame_forces(rec: Recording, t: np.ndarray) -> np.ndarray:
    """Contact force along the probe axis (N, pressing positive) at times ``t`` (s), from
    the state stream."""
    st = rec.state
    if len(st) == 0:
        return np.zeros(len(t))
    f = np.nan_to_num(np.asarray(st["f_n"], float))
    return np.interp(t, st["t"], f)


def calibrate(rec: Recording, min_score: float, lag: float = 0.0) -> CompressionModel | str:
    """The compression model from the settle ramp's usable frame at the lowest force and
    its last one (same place, rising force), force and pose taken at each frame's time
    minus the image ``lag`` (s); the reason when the recording does not allow it."""
    names = state_names(rec)
    ids = [k for k, v in names.items() if v == "settle"]
    st = rec.state
    settle = st["t"][np.isin(st["state"], ids)] if len(st) else np.zeros(0)
    if len(settle) == 0:
        return "the recording has no settle phase"
    q = quality_of_frames(rec)
    ramp = [
        f
        for f, qq in zip(rec.frames, q, strict=True)
        if settle[0] <= f.t <= settle[-1]
        and f.T_base_probe is not None
        and not leave_out_reason(qq, min_score)
    ]
    if len(ramp) < 2:
        return f"{len(ramp)} usable frames in the settle phase"
    t = np.array([f.t for f in ramp]) - lag
    forces = frame_forces(rec, t)
    ia = int(np.argmin(forces))
    a, b = ramp[ia], ramp[-1]
    fa, fb = float(forces[ia]), float(forces[-1])
    if fb - fa < MIN_FORCE_RISE:
        return f"the force rose only {fb - fa:.2f} N in the settle phase"
    stream = pose_stream(rec)
    if stream is None:
        return "the recording has no state stream"
    Ta, Tb = stream.at(np.array([t[ia], t[-1]]))
    sink = float((Tb[:3, 3] - Ta[:3, 3]) @ Ta[:3, 2])
    return fit_compression(a.image, b.image, fa, fb, sink, a.spacing_m[1])


def corrected_rows(
    model: CompressionModel, forces: np.ndarray, height: int, axial_spacing: float
) -> np.ndarray:
    """Row coordinates (n x height) placing each frame's rows where their tissue lies
    uncompressed, for frames at ``forces`` (N) with rows ``axial_spacing`` (m) apart."""
    v = np.arange(height, dtype=float)
    s = (v + 0.5) * axial_spacing
    rows = np.empty((len(forces), height))
    for i, f in enumerate(forces):
        rows[i] = v + (model.depth_below_face(s, float(f)) - s) / axial_spacing
    return rows
