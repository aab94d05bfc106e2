"""The scan report (``report.json``) and its short summary table: result and cause, force
and pose errors against the simulator's ground truth, image-quality statistics and the
spans that were slowed or could not be imaged, every adjustment and event, per-state
durations and loop timing. Fields are documented in ``docs/scanning.md``."""

from __future__ import annotations

from typing import Any

import numpy as np

from robot_us.scan.ground_truth import sweep_figures
from robot_us.scan.states import FAULT_NAMES, ScanState

#: Event kinds that are adjustments of the sweep (the report lists them separately).
ADJUSTMENTS = (
    "slow_down",
    "force_up",
    "pause",
    "resume",
    "force_restore",
    "speed_restored",
    "span",
    "recontact",
    "contact_regained",
    "settle_timeout",
    "speed",
)


def _r(x: float, nd: int = 3) -> float | None:
    x = float(x)
    return round(x, nd) if np.isfinite(x) else None


def _pct(x: np.ndarray, q: float) -> float | None:
    return _r(np.percentile(x, q)) if len(x) else None


def _state_durations(run) -> dict[str, float]:
    out: dict[str, float] = {}
    trs = list(run.scan.transitions)
    for a, b in zip(trs, [*trs[1:], None], strict=True):
        end = b.t if b is not None else run.outcome.t
        name = a.dst.name.lower()
        out[name] = round(out.get(name, 0.0) + (end - a.t), 3)
    return out


def quality_figures(run) -> dict[str, Any]:
    """Quality statistics over the sweep's frames and the spans of poor quality."""
    spans = [sp.as_dict() for sp in (run.outcome.spans if run.outcome else [])]
    out: dict[str, Any] = {
        "threshold": run.cfg.scan.quality_threshold,
        "spans": spans,
        "slowed_mm": _r(sum(s["to_mm"] - s["from_mm"] for s in spans if s["kind"] == "slowed")),
        "not_imaged_mm": _r(
            sum(s["to_mm"] - s["from_mm"] for s in spans if s["kind"] == "not_imaged")
        ),
    }
    im = run.imaging
    if im is None or len(im.log) == 0:
        out["frames"] = 0
        return out
    a = im.log.arrays()
    sweep = a["state"] == ScanState.SWEEP
    score = a["score"][sweep]
    labels = a["label"][sweep]
    classes, counts = np.unique(labels, return_counts=True)
    agree = a["label"][sweep] == a["true_label"][sweep]
    has_truth = a["true_label"][sweep] != ""
    out.update(
        {
            "frames": len(a["t"]),
            "sweep_frames": int(sweep.sum()),
            "frame_rate_hz": run.cfg.ultrasound.rate_hz,
            "score_mean": _r(score.mean()) if len(score) else None,
            "score_min": _r(score.min()) if len(score) else None,
            "score_p10": _pct(score, 10),
            "good_fraction": _r(np.mean(score >= run.cfg.scan.quality_threshold))
            if len(score)
            else None,
            "mean_confidence": _r(np.nanmean(a["confidence"][sweep])) if len(score) else None,
            "classes": {str(c): int(n) for c, n in zip(classes, counts, strict=True)},
            "class_agreement_with_sim_truth": _r(agree[has_truth].mean())
            if has_truth.any()
            else None,
            "frames_not_logged": im.log.dropped,
        }
    )
    return out


def loop_figures(run) -> dict[str, Any]:
    """Loop, control and imaging timing (us unless named otherwise)."""
    st = run.loop
    log = run.cycle.log
    ctrl, cpu = log.column("control_us"), log.column("control_cpu_us")
    out = {
        "mode": st.mode,
        "rate_hz": st.rate_hz,
        "cycles": st.cycles,
        "sim_time_s": _r(st.sim_time_s),
        "wall_time_s": _r(st.wall_time_s),
        "realtime_factor": _r(st.realtime_factor, 2),
        "cycle_us_p50": _r(st.compute_us_p50, 1),
        "cycle_us_p99": _r(st.compute_us_p99, 1),
        "cycle_us_max": _r(st.compute_us_max, 1),
        "control_us_p50": _pct(ctrl, 50),
        "control_us_p99": _pct(ctrl, 99),
        "control_cpu_us_p50": _pct(cpu, 50),
        "control_cpu_us_p99": _pct(cpu, 99),
        "step_us_p50": _r(st.plant_us_p50, 1),
        "step_us_p99": _r(st.plant_us_p99, 1),
        "overruns": st.overruns,
    }
    im = run.imaging
    if im is not None and len(im.log):
        a = im.log.arrays()
        out["frame_render_ms_p50"] = _pct(a["grab_ms"], 50)
        out["frame_assess_ms_p50"] = _pct(a["assess_ms"], 50)
        out["frame_assess_ms_p99"] = _pct(a["assess_ms"], 99)
    return out


def build_report(run) -> dict[str, Any]:
    """The report of a finished (or stopped) run as a JSON-ready dict."""
    cfg, scan, oc = run.cfg, run.scan, run.outcome
    p = scan.planned
    figs = sweep_figures(run.truth, run.geometry, p, cfg.force_control.force_setpoint).as_dict()
    events = [_event(e) for e in scan.events]
    report: dict[str, Any] = {
        "result": oc.result.name.lower(),
        "state": oc.state.name.lower(),
        "cause": oc.cause,
        "fault": FAULT_NAMES.get(oc.fault) if oc.fault else None,
        "robot": cfg.robot.model,
        "probe": cfg.probe.geometry,
        "controller": cfg.force_control.controller,
        # what the re-tare after the final retract changed in the F/T bias (sensor frame,
        # N and N·m): the sensor's drift over the scan; None when no re-tare completed
        "ft_bias_correction": None
        if oc.bias_correction is None
        else [_r(x, 4) for x in oc.bias_correction],
        "stroke": {
            "source": run.options.stroke_source,
            "pixels": len(scan.request.stroke) if scan.request.stroke is not None else 0,
            "mapped_length_mm": _r(p.mapping.length * 1e3, 1) if p and p.mapping else None,
        },
        "plan": None,
        "duration": {
            "sim_s": _r(oc.t),
            "wall_s": _r(run.wall_s, 2),
            "states_s": _state_durations(run),
        },
        "force": {
            "setpoint_N": cfg.force_control.force_setpoint,
            "rms_error_N": figs["force_rms"],
            "max_abs_error_N": figs["force_max_abs_err"],
            "ft_rms_error_N": figs["force_ft_rms"],
            "contact_overshoot_N": figs["contact_overshoot"],
            "samples": figs["samples"],
        },
        "pose": {
            "orientation_rms_deg": figs["orientation_rms_deg"],
            "orientation_max_deg": figs["orientation_max_deg"],
            "lateral_rms_mm": figs["lateral_rms_mm"],
            "lateral_max_mm": figs["lateral_max_mm"],
            "along_track_rms_mm": figs["along_track_rms_mm"],
        },
        "quality": quality_figures(run),
        "adjustments": [e for e in events if e["kind"] in ADJUSTMENTS],
        "events": events,
        "transitions": [tr.as_dict() for tr in scan.transitions],
        "loop": loop_figures(run),
    }
    if p is not None:
        report["plan"] = {
            "length_mm": _r(p.length * 1e3, 1),
            "speed_mm_s": _r(p.plan.speed_m_s * 1e3, 2),
            "plane": p.plan.plane,
            "flipped": p.plan.flipped,
            "planned_duration_s": _r(p.plan.duration_s, 2),
            "segments_s": {k: _r(v, 2) for k, v in p.plan.segment_durations_s.items()},
        }
    return report


def _event(e) -> dict[str, Any]:
    return {
        "t": round(e.t, 4),
        "kind": e.kind,
        "cause": e.cause,
        "s_mm": None if e.s is None else round(e.s * 1e3, 2),
        "state": ScanState(e.state).name.lower() if e.state is not None else None,
    }


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The short summary table printed at the end of ``robot-us demo``."""

    def f(v, spec=".2f", unit=""):
        return "n/a" if v is None else f"{format(v, spec)}{unit}"

    fo, po, q, lp, d = (
        report["force"],
        report["pose"],
        report["quality"],
        report["loop"],
        report["duration"],
    )
    plan = report.get("plan") or {}
    result = report["result"] + (f" ({report['cause']})" if report["cause"] else "")
    spans = q.get("spans", [])
    span_text = (
        ", ".join(f"{s['kind']} {s['from_mm']:.0f}-{s['to_mm']:.0f} mm" for s in spans) or "none"
    )
    rows = [
        ("result", result),
        (
            "path",
            f"{f(plan.get('length_mm'), '.0f')} mm at {f(plan.get('speed_mm_s'), '.0f')} mm/s "
            f"({plan.get('plane', '?')}, {report['robot']}, {report['probe']} probe)",
        ),
        ("force setpoint", f"{fo['setpoint_N']:.1f} N"),
        (
            "force error RMS / max",
            f"{f(fo['rms_error_N'], '.3f')} / {f(fo['max_abs_error_N'], '.3f')} N",
        ),
        (
            "orientation error RMS / max",
            f"{f(po['orientation_rms_deg'], '.2f')} / {f(po['orientation_max_deg'], '.2f')} deg",
        ),
        (
            "lateral error RMS / max",
            f"{f(po['lateral_rms_mm'], '.3f')} / {f(po['lateral_max_mm'], '.3f')} mm",
        ),
        (
            "image quality mean / min",
            f"{f(q.get('score_mean'))} / {f(q.get('score_min'))} "
            f"({q.get('sweep_frames', 0)} sweep frames)",
        ),
        ("poor-quality spans", span_text),
        ("adjustments", str(len(report["adjustments"]))),
        ("duration sim / wall", f"{f(d['sim_s'], '.1f')} s / {f(d['wall_s'], '.1f')} s"),
        (
            "control p50 / p99",
            f"{f(lp['control_us_p50'], '.0f')} / {f(lp['control_us_p99'], '.0f')} us",
        ),
    ]
    return rows


def format_summary(report: dict[str, Any], title: str) -> str:
    """The summary table as text."""
    rows = summary_rows(report)
    width = max(len(r[0]) for r in rows)
    lines = [title] + [f"  {name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)
