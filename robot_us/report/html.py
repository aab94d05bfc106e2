"""The examination report as one self-contained HTML page: every picture embedded as a
``data:`` URI, the style inline, no script and no external asset, so the file can be
mailed, archived and opened anywhere."""

from __future__ import annotations

import base64
import datetime as dt
import json
from html import escape
from typing import Any

from robot_us import __version__
from robot_us.reconstruction.reconstruct import SweepReconstruction
from robot_us.recording.contents import Recording
from robot_us.report import figures

STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1300px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em;
border-bottom: 1px solid #ccc; } table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } .sub { color: #666; } .bad { color: #b00; font-weight: bold; }
.ok { color: #070; font-weight: bold; } figure { display: inline-block; margin: 4px; }
figcaption { font-size: 0.8em; text-align: center; } img { max-width: 100%; }
pre { background: #f7f7f7; padding: 8px; font-size: 0.8em; overflow-x: auto; }
"""


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return f'<p class="sub">{escape(alt)}: not available in this recording.</p>'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _grid(header: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="sub">none</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _when(rec: Recording) -> str:
    try:
        t = int(rec.metadata["origin_ns"]) * 1e-9
    except (KeyError, ValueError):
        return "unknown"
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _mm(x: Any) -> str:
    return "-" if x is None else f"{float(x):.1f} mm"


def _overview(rec: Recording, sr: SweepReconstruction | None) -> str:
    s = rec.summary or {}
    plan, force, q = s.get("plan") or {}, s.get("force") or {}, s.get("quality") or {}
    dur = s.get("duration") or {}
    result = s.get("result", "unknown (no summary: the scan did not finish writing)")
    cls = "ok" if result == "done" else "bad"
    rows = [
        ("recording", f"{rec.path} ({rec.status}; {rec.recovery})"),
        ("recorded", _when(rec)),
        (
            "robot, probe, controller",
            f"{s.get('robot', '-')}, {s.get('probe', '-')}, {s.get('controller', '-')}",
        ),
        (
            "path",
            f"{plan.get('length_mm', '-')} mm at {plan.get('speed_mm_s', '-')} mm/s, "
            f"{plan.get('plane', '-')} plane",
        ),
        (
            "force set-point",
            f"{force.get('setpoint_N', '-')} N; error RMS "
            f"{force.get('rms_error_N', '-')} N, max {force.get('max_abs_error_N', '-')} N",
        ),
        (
            "image quality",
            f"mean {q.get('score_mean', '-')}, min {q.get('score_min', '-')}, "
            f"good {q.get('good_fraction', '-')} of {q.get('sweep_frames', '-')} sweep frames",
        ),
        ("not imaged", _mm(q.get("not_imaged_mm"))),
        ("duration", f"{dur.get('sim_s', rec.duration_s):.1f} s"),
        (
            "frames",
            f"{len(rec.frames)} recorded"
            + ("" if sr is None else f", {len(sr.frames)} compounded into the volume"),
        ),
    ]
    return (
        f'<p>Result: <span class="{cls}">{escape(str(result))}</span>'
        f"{escape(' - ' + s['cause']) if s.get('cause') else ''}</p>" + _table(rows)
    )


def _spans(rec: Recording, sr: SweepReconstruction | None) -> str:
    q = (rec.summary or {}).get("quality") or {}
    rows = []
    for sp in q.get("spans", []):
        labels = ", ".join(f"{n} {k}" for k, n in (sp.get("labels") or {}).items())
        rows.append(
            [
                sp.get("kind"),
                f"{sp.get('from_mm', 0):.1f} - {sp.get('to_mm', 0):.1f} mm",
                f"{sp.get('t_from_s', 0):.1f} - {sp.get('t_to_s', 0):.1f} s",
                labels or "-",
                sp.get("min_score"),
                sp.get("max_force_N"),
            ]
        )
    out = _grid(
        ["kind", "along the path", "time", "frames by class", "lowest score", "largest force (N)"],
        rows,
    )
    if sr is not None:
        left = [[why, n] for why, n in sorted(sr.frames.left_out.items())]
        out += "<p>Frames left out of the volume, by reason:</p>" + _grid(
            ["reason", "frames"], left
        )
    return out


def _reconstruction(sr: SweepReconstruction | None, error: str) -> str:
    if sr is None:
        return f'<p class="bad">No reconstruction: {escape(error)}</p>'
    g, r = sr.recon.grid, sr.recon
    est = sr.lag_estimate
    lag = f"{sr.lag * 1e3:.1f} ms"
    if est is not None:
        lag += (
            f" (estimated from the sweep, correlation {est.correlation:.3f})"
            if est.ok
            else f" (configured; estimate not trusted: {est.reason})"
        )
    rows = [
        (
            "grid",
            f"{' x '.join(map(str, g.shape))} voxels of {g.spacing * 1e3:g} mm, robot base frame",
        ),
        ("voxels imaged / hole filled", f"{int(r.imaged.sum())} / {int(r.filled.sum())}"),
        ("image time lag applied", lag),
        ("compression correction", _compression(sr)),
    ]
    vessels = [
        [
            v.label,
            f"{v.length * 1e3:.0f} mm",
            f"{v.radius * 1e3:.1f} mm",
            " ".join(f"{x * 1e3:.1f}" for x in v.centreline[len(v.centreline) // 2]),
        ]
        for v in sr.vessels.vessels
    ]
    return (
        _img(figures.reconstruction_slices(sr), "reconstruction slices")
        + _table(rows)
        + "<p>Mapped anechoic vessels:</p>"
        + _grid(["vessel", "length", "equivalent radius", "mid-point x y z (mm, base)"], vessels)
    )


def _compression(sr: SweepReconstruction) -> str:
    m = sr.compression
    if m is None:
        return f"not applied: {sr.compression_note}" if sr.compression_note else "not applied"
    deep = (m.shift_per_newton[-1] - m.face_per_newton) * 1e3
    return (
        f"applied, calibrated from the settle ramp: deep tissue shown {deep:.2f} mm/N too "
        f"shallow, face sinks {m.face_per_newton * 1e3:.2f} mm/N"
    )


def _timing(rec: Recording) -> str:
    s = rec.summary or {}
    dur = (s.get("duration") or {}).get("states_s") or {}
    loop = s.get("loop") or {}
    rows = [(f"time in {k}", f"{v:.2f} s") for k, v in dur.items()]
    for key in (
        "mode",
        "rate_hz",
        "control_us_p50",
        "control_us_p99",
        "overruns",
        "frame_assess_ms_p50",
    ):
        if key in loop:
            rows.append((f"loop {key}", loop[key]))
    faults = [
        [f"{e.t:.2f}", e.kind, e.cause]
        for e in rec.events
        if e.kind in ("fault", "error", "estop", "fault_cleared")
    ]
    fault = s.get("fault")
    note = (
        f'<p class="bad">Fault: {escape(str(fault))}</p>' if fault else "<p>No fault latched.</p>"
    )
    return (
        _table(rows)
        + note
        + "<p>Faults and errors:</p>"
        + _grid(["t (s)", "kind", "cause"], faults)
    )


def _events(rec: Recording) -> str:
    rows = [
        [f"{e.t:.2f}", e.kind, "-" if e.s is None else f"{e.s * 1e3:.1f}", e.cause]
        for e in rec.events
    ]
    return _grid(["t (s)", "kind", "s (mm)", "cause"], rows)


def _software(rec: Recording) -> str:
    meta = rec.metadata
    rows = [
        (
            "recorded by",
            f"{meta.get('source', 'unknown')}, {meta.get('software', 'version not recorded')}",
        ),
        ("recording format", meta.get("format_version", "unknown")),
        ("report made by", f"robot-us {__version__}"),
    ]
    cfg = json.dumps(rec.config, indent=1) if rec.config else "not recorded"
    return (
        _table(rows) + "<details><summary>configuration of the scan</summary>"
        f"<pre>{escape(cfg)}</pre></details>"
    )


def build_report(
    rec: Recording, sr: SweepReconstruction | None, reconstruction_error: str = ""
) -> str:
    """The report page (HTML text) of ``rec`` with its reconstruction ``sr`` (None if it
    could not be made: ``reconstruction_error`` says why)."""
    keys = (
        "".join(
            f"<figure>{_img(png, caption)}<figcaption>{escape(caption)}</figcaption></figure>"
            for png, caption in figures.key_frames(rec)
        )
        or '<p class="sub">no assessed frames on the path</p>'
    )
    sections = [
        ("Overview", _overview(rec, sr)),
        ("Camera view: planned and executed path", _img(figures.camera_path(rec), "camera view")),
        ("Contact force", _img(figures.force_trace(rec), "force trace")),
        ("Key frames along the path", keys),
        ("Spans not imaged", _spans(rec, sr)),
        ("3D reconstruction", _reconstruction(sr, reconstruction_error)),
        ("Timing and faults", _timing(rec)),
        ("Events", _events(rec)),
        ("Configuration and software", _software(rec)),
    ]
    body = "".join(f"<h2>{escape(t)}</h2>{c}" for t, c in sections)
    title = f"Ultrasound examination report - {_when(rec)}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="sub">robotic scan recorded in {escape(rec.path)}'
        f"</p>{body}</body></html>\n"
    )
