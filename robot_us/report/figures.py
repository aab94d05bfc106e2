"""The pictures of the examination report, drawn from a recording (matplotlib, Agg, PNG
bytes): the camera view with the planned and executed paths coloured by quality, the
force trace with set-point and adjustments, key frames along the sweep, and three
orthogonal slices of the reconstruction with the mapped vessels."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from robot_us.reconstruction.reconstruct import SweepReconstruction
from robot_us.reconstruction.sweep import quality_of_frames, sweep_rows
from robot_us.recording.contents import Recording
from robot_us.scan.pictures import shade_states

#: Most points drawn per line.
MAX_POINTS = 4000
#: Key frames shown along the sweep.
KEY_FRAMES = 6
#: Event kinds marked on the force trace (adjustments of the quality policy and faults).
MARKED_EVENTS = {
    "slow_down": "tab:orange",
    "force_up": "tab:red",
    "force_down": "tab:pink",
    "force_restore": "tab:pink",
    "pause": "darkred",
    "resume": "tab:green",
    "speed_restored": "tab:green",
    "fault": "black",
}
#: Vessel outline colours in the slices.
VESSEL_COLOURS = ("#ff3030", "#30a0ff", "#ffd000", "#30ff60", "#ff60ff", "#00e0e0")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _frame_scores(rec: Recording) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times (s), positions (n x 3, m) and quality scores of the frames with a pose and a
    quality result."""
    t, pos, score = [], [], []
    for f, q in zip(rec.frames, quality_of_frames(rec), strict=True):
        if f.T_base_probe is not None and q is not None:
            t.append(f.t)
            pos.append(f.T_base_probe[:3, 3])
            score.append(q.score)
    return np.array(t), np.array(pos).reshape(-1, 3), np.array(score)


def _project(rec: Recording, pts: np.ndarray) -> np.ndarray:
    """Base-frame points (n x 3) -> camera pixels (n x 2)."""
    import cv2

    cam = rec.camera
    T = np.linalg.inv(cam.T_base_camera)
    pc = pts @ T[:3, :3].T + T[:3, 3]
    dist = np.zeros(5) if cam.dist is None else cam.dist
    uv, _ = cv2.projectPoints(pc.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), cam.K, dist)
    return uv.reshape(-1, 2)


def camera_path(rec: Recording) -> bytes | None:
    """The camera image with the planned sweep, the executed path's frames coloured by
    their quality score, and the spans not imaged; None without a calibrated camera."""
    cam = rec.camera
    if cam is None or cam.rgb is None or cam.K is None or cam.T_base_camera is None:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 6.2))
    ax.imshow(cam.rgb)
    drawn = []
    if rec.plan is not None:
        sweep = np.array([k == "sweep" for k in rec.plan.kinds])
        if sweep.any():
            uv = _project(rec, rec.plan.poses[sweep][:, :3, 3])
            ax.plot(uv[:, 0], uv[:, 1], color="white", lw=1.2, ls="--", label="planned sweep")
            drawn.append(uv)
    ft, pos, score = _frame_scores(rec)
    rows = sweep_rows(rec)
    if len(rows):
        on = (ft >= rows["t"][0]) & (ft <= rows["t"][-1])  # the sweep's frames
        if on.any():
            uv = _project(rec, pos[on])
            sc = ax.scatter(
                uv[:, 0],
                uv[:, 1],
                c=score[on],
                cmap="RdYlGn",
                vmin=0,
                vmax=1,
                s=12,
                label="executed (frames)",
            )
            fig.colorbar(sc, ax=ax, fraction=0.035, label="image-quality score")
            drawn.append(uv)
    for sp in ((rec.summary or {}).get("quality") or {}).get("spans", []):
        s = rows["s"] * 1e3 if len(rows) else np.zeros(0)
        sel = (s >= sp["from_mm"]) & (s <= sp["to_mm"])
        if sel.sum() >= 2:
            uv = _project(rec, rows["T_base_probe"][sel][:, :, 3])
            ax.plot(uv[:, 0], uv[:, 1], color="red", lw=5, alpha=0.5)
            ax.annotate(
                f"{sp['kind']} {sp['from_mm']:.0f}-{sp['to_mm']:.0f} mm",
                uv[0],
                color="white",
                fontsize=8,
                xytext=(6, -10),
                textcoords="offset points",
            )
    if drawn:
        allp = np.concatenate(drawn)
        lo, hi = allp.min(axis=0) - 90, allp.max(axis=0) + 90
        h, w = cam.rgb.shape[:2]
        ax.set_xlim(max(lo[0], 0), min(hi[0], w - 1))
        ax.set_ylim(min(hi[1], h - 1), max(lo[1], 0))
        ax.legend(loc="lower left", fontsize=8)
    ax.set_axis_off()
    ax.set_title("camera view: planned sweep and executed path coloured by image quality")
    fig.tight_layout()
    return _png(fig)


def force_trace(rec: Recording) -> bytes | None:
    """Force along the probe axis and its set-point against time, shaded by scan state,
    with the quality policy's adjustments and faults marked; quality score below."""
    st = rec.state
    if len(st) == 0:
        return None
    plt = _plt()
    sl = slice(None, None, max(1, len(st) // MAX_POINTS))
    t = st["t"]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(10, 5.6), sharex=True, height_ratios=[3, 1.4])
    shade_states(ax, t, st["state"])
    ax.plot(t[sl], st["f_n"][sl], color="tab:blue", lw=0.9, label="measured force")
    ax.plot(t[sl], st["f_set"][sl], color="k", lw=1.2, ls="--", label="set-point")
    for e in rec.events:
        colour = MARKED_EVENTS.get(e.kind)
        if colour is not None:
            ax.axvline(e.t, color=colour, lw=0.9, alpha=0.8)
            ax.annotate(
                e.kind,
                (e.t, ax.get_ylim()[1]),
                rotation=90,
                fontsize=6,
                color=colour,
                va="top",
                ha="right",
            )
    ax.set_ylabel("force along the probe axis (N)")
    ax.legend(loc="upper left", fontsize=7, ncol=4)
    q = rec.quality
    if q:
        ax2.scatter([x.t for x in q], [x.score for x in q], s=3, c="tab:red")
    thr = ((rec.config or {}).get("scan") or {}).get("quality_threshold")
    if thr is not None:
        ax2.axhline(thr, color="tab:red", lw=0.6, ls=":")
    ax2.set_ylim(-0.05, 1.05)
    ax2.set_ylabel("quality score")
    ax2.set_xlabel("time (s)")
    fig.tight_layout()
    return _png(fig)


def key_frames(rec: Recording, n: int = KEY_FRAMES) -> list[tuple[bytes, str]]:
    """Up to ``n`` frames evenly spread over the sweep (by arc length) plus the worst one,
    each as (PNG, caption); frames while sweeping or paused only."""
    q = quality_of_frames(rec)
    rows = sweep_rows(rec)
    if len(rows) == 0:
        return []
    t0, t1 = rows["t"][0], rows["t"][-1]
    cand = [
        (f, qq)
        for f, qq in zip(rec.frames, q, strict=True)
        if qq is not None and qq.s is not None and t0 <= f.t <= t1
    ]
    if not cand:
        return []
    s = np.array([qq.s for _, qq in cand])
    idx = {int(np.argmin(np.abs(s - x))) for x in np.linspace(s.min(), s.max(), n)}
    idx.add(int(np.argmin([qq.score for _, qq in cand])))
    plt = _plt()
    out = []
    for i in sorted(idx, key=lambda k: s[k]):
        f, qq = cand[i]
        h, w = f.image.shape
        sx, sy = f.spacing_m
        fig, ax = plt.subplots(figsize=(2.6, 2.6))
        ax.imshow(f.image, cmap="gray", vmin=0, vmax=255, extent=(0, w * sx * 1e3, h * sy * 1e3, 0))
        ax.tick_params(labelsize=6)
        ax.set_xlabel("lateral (mm)", fontsize=7)
        ax.set_ylabel("depth (mm)", fontsize=7)
        fig.tight_layout()
        out.append((_png(fig), f"s {qq.s * 1e3:.0f} mm, t {f.t:.1f} s: {qq.label} {qq.score:.2f}"))
    return out


def reconstruction_slices(sr: SweepReconstruction) -> bytes:
    """Three orthogonal slices (base x-z, y-z, x-y planes in mm) through the middle of the
    largest mapped vessel (or the volume), with the mapped vessels outlined."""
    plt = _plt()
    r, g = sr.recon, sr.recon.grid
    vm = sr.vessels
    if vm.vessels:
        c = vm.vessels[0].centreline
        centre = c[len(c) // 2]
    else:
        centre = g.origin + 0.5 * g.spacing * (np.array(g.shape) - 1)
    ijk = np.clip(np.rint(g.to_index(centre)).astype(int), 0, np.array(g.shape) - 1)
    ax_mm = [g.axis(k) * 1e3 for k in range(3)]
    vol = np.where(r.known, r.volume, np.nan)
    views = [
        ("x-z plane at y = %.1f mm (across the body)", 1, (0, 2)),
        ("y-z plane at x = %.1f mm (along the body)", 0, (1, 2)),
        ("x-y plane at z = %.1f mm (seen from above)", 2, (0, 1)),
    ]
    widths = [np.ptp(ax_mm[a]) for _, _, (a, _b) in views]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4), width_ratios=widths)
    for axp, (title, k, (a, b)) in zip(axes, views, strict=True):
        sl = [slice(None)] * 3
        sl[k] = ijk[k]
        img = vol[tuple(sl)]
        lab = vm.labels[tuple(sl)]
        ext = (ax_mm[a][0], ax_mm[a][-1], ax_mm[b][0], ax_mm[b][-1])
        axp.imshow(
            img.T,
            origin="lower",
            cmap="gray",
            vmin=0,
            vmax=255,
            extent=ext,
            interpolation="nearest",
        )
        for v in vm.vessels:
            m = (lab == v.label).astype(float)
            if m.any():
                axp.contour(
                    ax_mm[a],
                    ax_mm[b],
                    m.T,
                    levels=[0.5],
                    colors=[VESSEL_COLOURS[(v.label - 1) % len(VESSEL_COLOURS)]],
                    linewidths=1.0,
                )
        axp.set_title(title % (g.axis(k)[ijk[k]] * 1e3), fontsize=9)
        axp.set_xlabel(f"base {'xyz'[a]} (mm)", fontsize=8)
        axp.set_ylabel(f"base {'xyz'[b]} (mm)", fontsize=8)
        axp.tick_params(labelsize=7)
        axp.set_facecolor("#203040")
    fig.suptitle(
        "reconstruction (robot base frame), mapped vessels outlined; dark blue: not imaged",
        fontsize=10,
    )
    fig.tight_layout()
    return _png(fig)
