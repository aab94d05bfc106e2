"""A recorded sweep -> a reconstructed volume: select the frames, optionally estimate and
apply the image-to-pose time lag, compound, fill holes, map the anechoic vessels."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from perception.reconstruction.compounding import Compounder, Reconstruction, grid_around
from perception.reconstruction.compression import CompressionModel
from perception.reconstruction.config import ReconstructionConfig
from perception.reconstruction.temporal_calibration import LagEstimate, estimate_lag
from perception.reconstruction.vessels import VesselMap, map_vessels
from robot_us.reconstruction.pressure import calibrate, corrected_rows, frame_forces
from robot_us.reconstruction.sweep import (
    SweepFrames,
    contact_path,
    pose_stream,
    select_frames,
    sweep_span,
)
from robot_us.recording.contents import Recording


@dataclass
class SweepReconstruction:
    """What ``reconstruct`` made: the volume, the mapped vessels, the frames used, the lag
    applied (s) and its estimate (None unless asked for), the probe's path on the skin
    (n x 4 x 4) and durations (s): ``select``, ``lag``, ``compound`` (splatting + hole
    filling: the reconstruction proper; ``compound_cpu`` its CPU time), ``vessels``."""

    recon: Reconstruction
    vessels: VesselMap
    frames: SweepFrames
    lag: float
    lag_estimate: LagEstimate | None
    path: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    #: the compression correction applied (None: not asked for, or not calibratable)
    compression: CompressionModel | None = None
    #: why it was not applied ('' when it was, or was not asked for)
    compression_note: str = ""


def lag_of_sweep(rec: Recording, frames: SweepFrames, max_lag: float) -> LagEstimate:
    """The time lag estimated from the frames (selected with no lag) taken while sweeping
    (or paused on the skin) and the recording's pose stream."""
    stream = pose_stream(rec)
    if stream is None:
        return LagEstimate(0.0, 0.0, 0, False, "the recording has no state stream")
    span = sweep_span(rec)
    if span is None:
        return LagEstimate(0.0, 0.0, 0, False, "the recording has no sweep")
    on = (frames.t >= span[0]) & (frames.t <= span[1])
    return estimate_lag(frames.t[on], frames.images[on], stream.t, stream.position, max_lag)


def reconstruct(
    rec: Recording, cfg: ReconstructionConfig, estimate: bool | None = None
) -> SweepReconstruction:
    """Reconstruct ``rec`` with ``cfg``; ``estimate`` (default ``cfg.estimate_lag``)
    estimates the lag from the sweep and applies it when trustworthy, else
    ``cfg.time_lag`` is applied. Raises ``ValueError`` when no frame is usable."""
    estimate = cfg.estimate_lag if estimate is None else estimate
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    frames = select_frames(rec, cfg.min_score)
    times["select"] = time.perf_counter() - t0
    lag, est = cfg.time_lag, None
    if estimate:
        t0 = time.perf_counter()
        est = lag_of_sweep(rec, frames, cfg.lag_search)
        if est.ok:
            lag = est.lag
        times["lag"] = time.perf_counter() - t0
    if lag:
        frames = select_frames(rec, cfg.min_score, lag)
    if len(frames) == 0:
        left = ", ".join(f"{n} {why}" for why, n in sorted(frames.left_out.items())) or "none"
        raise ValueError(f"{rec.path}: no frame is usable for reconstruction (left out: {left})")
    model, note, rows, margin = None, "", None, 0.0
    if cfg.compression_correction:
        t0 = time.perf_counter()
        got = calibrate(rec, cfg.min_score, lag)
        if isinstance(got, CompressionModel):
            model = got
            sy = float(frames.T_probe_image[2, 1])
            forces = frame_forces(rec, frames.t - lag)
            rows = corrected_rows(model, forces, frames.images.shape[1], sy)
            v = np.arange(frames.images.shape[1])
            margin = float(np.abs(rows - v).max()) * sy
        else:
            note = got
        times["compression"] = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    T = frames.T_base_image
    grid = grid_around(T, frames.images.shape[1:], cfg.spacing, margin)
    comp = Compounder(grid, cfg.interpolation)
    comp.add(frames.images, T, rows=rows)
    recon = comp.result(cfg.fill_distance)
    times["compound"] = time.perf_counter() - t0
    times["compound_cpu"] = time.process_time() - c0
    t0 = time.perf_counter()
    vessels = vessels_of(recon, cfg)
    times["vessels"] = time.perf_counter() - t0
    return SweepReconstruction(
        recon, vessels, frames, lag, est, contact_path(rec), times, model, note
    )


def vessels_of(recon: Reconstruction, cfg: ReconstructionConfig) -> VesselMap:
    """The anechoic vessels of a volume, thresholds relative to its median grey level."""
    known = recon.known
    median = float(np.median(recon.volume[known])) if known.any() else 0.0
    return map_vessels(
        recon.volume,
        known,
        recon.grid,
        cfg.vessel_threshold * median,
        cfg.vessel_grow_threshold * median,
        cfg.vessel_smoothing,
        cfg.vessel_min_length,
        cfg.vessel_min_radius,
    )
