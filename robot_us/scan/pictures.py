"""The pictures of a scan report (matplotlib, Agg backend, PNG):

- ``force.png``: true contact force, F/T force and setpoint against time, shaded by scan
  state; below, the arc length, the speed override and the quality score of every frame.
- ``path_quality.png``: the camera image with the mapped stroke and the sweep, each frame's
  position coloured by its image-quality score; poor-quality spans marked.
- ``frames.png``: a strip of ultrasound frames along the sweep with their confidence maps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robot_us.scan.states import ScanState

#: Colours of the states in the force plot's shading.
STATE_COLOURS = {
    ScanState.PLANNING: "#dddddd",
    ScanState.TRANSFER: "#c6dbef",
    ScanState.APPROACH: "#fdd0a2",
    ScanState.SETTLE: "#fde0ef",
    ScanState.SWEEP: "#c7e9c0",
    ScanState.RETRACT: "#e5d8bd",
    ScanState.PAUSED: "#fbb4ae",
    ScanState.ABORTING: "#fccde5",
    ScanState.SAFE_RETRACT: "#fb8072",
}
#: Most points drawn per curve.
MAX_POINTS = 6000
#: Frames in the strip, and the side of the confidence map computed for them (px).
STRIP_FRAMES = 6
STRIP_CONFIDENCE_SIZE = 96


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _decimate(n: int) -> slice:
    return slice(None, None, max(1, n // MAX_POINTS))


def make_pictures(run: Any, out_dir: Path) -> dict[str, str]:
    """Write the pictures of ``run`` into ``out_dir``; returns {name: path}."""
    files = {"force_plot": str(force_plot(run, out_dir / "force.png"))}
    if run.scan.planned is not None:
        files["path_quality"] = str(path_quality(run, out_dir / "path_quality.png"))
    if run.imaging is not None and run.imaging.kept:
        files["frames"] = str(frame_strip(run, out_dir / "frames.png"))
    return files


def shade_states(ax, t: np.ndarray, state: np.ndarray) -> None:
    """Shade the time axis of ``ax`` by scan state (ids of ``ScanState``), one legend
    entry per state."""
    if len(t) == 0:
        return
    change = np.flatnonzero(np.diff(state) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(t) - 1]])
    seen = set()
    for a, b in zip(starts, ends, strict=True):
        st = ScanState(int(state[a]))
        colour = STATE_COLOURS.get(st)
        if colour is None:
            continue
        label = st.name.lower() if st not in seen else None
        seen.add(st)
        ax.axvspan(t[a], t[b], color=colour, alpha=0.6, lw=0, label=label)


def force_plot(run: Any, path: Path) -> Path:
    """Force and setpoint vs time with state shading; arc length, override and quality."""
    plt = _plt()
    tr = run.truth
    t, state = tr.ordered("t"), tr.ordered("state")
    sl = _decimate(len(t))
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True, height_ratios=[3, 2])
    shade_states(ax, t, state)
    ax.plot(t[sl], tr.ordered("force")[sl], color="0.35", lw=0.8, label="contact force (sim truth)")
    ax.plot(t[sl], tr.ordered("f_n")[sl], color="tab:blue", lw=0.8, label="F/T force (filtered)")
    ax.plot(t[sl], tr.ordered("f_set")[sl], color="k", lw=1.2, ls="--", label="setpoint")
    ax.set_ylabel("force along the probe axis (N)")
    fmax = max(float(np.max(tr.ordered("force"), initial=0.0)), run.cfg.scan.force_max) + 1.0
    ax.set_ylim(-0.5, fmax)
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    ax.set_title(f"robot-us scan: {run.outcome.result.name.lower()}")
    shade_states(ax2, t, state)
    ax2.plot(t[sl], tr.ordered("s")[sl] * 1e3, color="tab:green", lw=1.0, label="arc length")
    ax2.set_ylabel("arc length (mm)")
    ax2.set_xlabel("loop time (s)")
    ax3 = ax2.twinx()
    ax3.plot(
        t[sl], tr.ordered("speed_override")[sl], color="tab:purple", lw=1.0, label="speed override"
    )
    im = run.imaging
    if im is not None and len(im.log):
        a = im.log.arrays()
        ax3.scatter(a["t"], a["score"], s=3, c="tab:red", label="quality score")
        ax3.axhline(run.cfg.scan.quality_threshold, color="tab:red", lw=0.6, ls=":")
    ax3.set_ylim(-0.05, 1.1)
    ax3.set_ylabel("override / quality score")
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    keep = [i for i, lab in enumerate(l1) if lab == "arc length"]
    ax2.legend([h1[i] for i in keep] + h2, [l1[i] for i in keep] + l2, loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _project(frame, points: np.ndarray) -> np.ndarray:
    from perception.camera_model import CameraModel

    T = np.linalg.inv(frame.T_base_camera)
    pc = points @ T[:3, :3].T + T[:3, 3]
    return CameraModel(frame.intrinsics).project(pc)


def path_quality(run: Any, path: Path) -> Path:
    """The camera image with the stroke and the frames' positions coloured by quality."""
    plt = _plt()
    frame, p = run.camera, run.scan.planned
    fig, ax = plt.subplots(figsize=(9, 6.5))
    ax.imshow(frame.rgb)
    pts = [np.asarray(run.scan.request.stroke, dtype=float)]
    ax.plot(pts[0][:, 0], pts[0][:, 1], color="white", lw=1.0, ls="--", label="stroke")
    T = np.eye(4)
    im = run.imaging
    if frame.T_base_camera is not None and im is not None and len(im.log):
        a = im.log.arrays()
        sweep = a["state"] == ScanState.SWEEP
        s, score = a["s"][sweep], a["score"][sweep]
        xyz = np.array([p.path.pose_at(float(si), T)[:3, 3].copy() for si in s]).reshape(-1, 3)
        if len(xyz):
            uv = _project(frame, xyz)
            pts.append(uv)
            sc = ax.scatter(uv[:, 0], uv[:, 1], c=score, cmap="RdYlGn", vmin=0, vmax=1, s=14)
            fig.colorbar(sc, ax=ax, fraction=0.035, label="image-quality score")
        for sp in run.outcome.spans:
            ends = np.array(
                [p.path.pose_at(x, T)[:3, 3].copy() for x in (sp.s_from, sp.s_to)]
            ).reshape(-1, 3)
            uv = _project(frame, ends)
            ax.plot(uv[:, 0], uv[:, 1], color="red" if sp.paused else "orange", lw=4, alpha=0.7)
            ax.annotate(
                f"{sp.kind} {sp.s_from * 1e3:.0f}-{sp.s_to * 1e3:.0f} mm",
                uv[0],
                color="white",
                fontsize=8,
                xytext=(5, -12),
                textcoords="offset points",
            )
    allpts = np.concatenate(pts)
    lo, hi = allpts.min(axis=0) - 80, allpts.max(axis=0) + 80
    h, w = frame.rgb.shape[:2]
    ax.set_xlim(max(lo[0], 0), min(hi[0], w - 1))
    ax.set_ylim(min(hi[1], h - 1), max(lo[1], 0))
    ax.set_title("sweep on the camera image, coloured by image quality")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def strip_selection(kept: list, n: int) -> list:
    """Up to ``n`` kept frames evenly spread in arc length, the lowest-scored one included."""
    if len(kept) <= n:
        return list(kept)
    s = np.array([k.s for k in kept])
    targets = np.linspace(s.min(), s.max(), n)
    idx = {int(np.argmin(np.abs(s - x))) for x in targets}
    worst = int(np.argmin([k.score for k in kept]))
    if worst not in idx:
        idx.discard(min(idx, key=lambda i: abs(kept[i].s - kept[worst].s)))
        idx.add(worst)
    return [kept[i] for i in sorted(idx, key=lambda i: kept[i].s)]


def frame_strip(run: Any, path: Path) -> Path:
    """Ultrasound frames along the sweep (top) and their confidence maps (bottom)."""
    from perception.quality.confidence import confidence_at_size

    plt = _plt()
    q = run.cfg.ultrasound.quality
    chosen = strip_selection(run.imaging.kept, STRIP_FRAMES)
    n = len(chosen)
    fig, axes = plt.subplots(2, n, figsize=(2.3 * n + 0.6, 5.2), squeeze=False)
    for j, k in enumerate(chosen):
        h, w = k.image.shape
        sx, sy = k.spacing_m
        ext = (0, w * sx * 1e3, h * sy * 1e3, 0) if sx > 0 and sy > 0 else None
        axes[0, j].imshow(k.image, cmap="gray", vmin=0, vmax=255, extent=ext, aspect="auto")
        axes[0, j].set_title(f"s {k.s * 1e3:.0f} mm\n{k.score:.2f} {k.label}", fontsize=8)
        conf = confidence_at_size(k.image, STRIP_CONFIDENCE_SIZE, q.alpha, q.beta, q.gamma)
        cim = axes[1, j].imshow(conf, cmap="viridis", vmin=0, vmax=1, extent=ext, aspect="auto")
        for ax in axes[:, j]:
            ax.tick_params(labelsize=6)
    axes[0, 0].set_ylabel("depth (mm)", fontsize=8)
    axes[1, 0].set_ylabel("confidence map", fontsize=8)
    fig.colorbar(cim, ax=axes[1, :].tolist(), fraction=0.02, label="confidence")
    fig.suptitle("ultrasound frames along the sweep (lateral, depth in mm)", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
