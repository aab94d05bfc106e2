"""Whole scans on the simulated cell (lockstep, no imaging): faults mid-sweep end in a safe
retract (or a stop) with the cause recorded; pause, resume and abort; a stroke off the
body fails before anything moves."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_us.recording import read_recording
from robot_us.scan.runner import RunOptions, ScanRunError, run_scan
from robot_us.scan.states import ScanResult, ScanState
from tests.scan_helpers import InjectingWrench, short_config, stroke_on_skin

#: A 40 mm stroke along the body over the top.
THETA, Y = (0.0, 0.0), (-0.02, 0.02)


def _opts(tmp_path, cfg, **kw) -> RunOptions:
    return RunOptions(
        out_dir=tmp_path,
        stroke=stroke_on_skin(cfg, THETA, Y),
        stroke_source="test",
        imaging=False,
        pictures=False,
        **kw,
    )


def _states(rec) -> list[str]:
    names = rec.metadata.get("state_names", "")
    assert "sweep" in names
    col = rec.state["state"]
    keep = np.concatenate([[True], col[1:] != col[:-1]])
    return [ScanState(int(s)).name.lower() for s in col[keep]]


@pytest.mark.slow
def test_force_fault_mid_sweep_retracts_and_is_recorded(tmp_path):
    cfg = short_config()
    box = {}

    def wrap(cell):
        box["wrench"] = InjectingWrench(cell.wrench)
        return dataclasses.replace(cell, wrench=box["wrench"])

    def inject(runner):
        scan = runner.scan
        if scan.state is ScanState.SWEEP and scan.s > 0.015:
            box.setdefault("s", scan.s)
            box["wrench"].offset[2] = -17.0  # +17 N pressing, all at once

    run = run_scan(cfg, _opts(tmp_path, cfg, after_step=inject, wrap_cell=wrap))
    oc = run.outcome
    assert oc.result is ScanResult.FAULTED and oc.state is ScanState.FAULTED
    assert oc.cause.startswith(("FORCE_RATE", "FORCE_SOFT")) and "RETRACT" in oc.cause
    assert oc.s == pytest.approx(box["s"], abs=0.002)  # stopped where it happened
    # the probe went back along its axis: off the skin, no force
    tip = run.truth.ordered("tip")[-1]
    assert run.geometry.signed_distance(tip) > 0.04
    assert run.truth.ordered("force")[-1] == 0.0
    rec = read_recording(tmp_path / "scan.mcap")
    assert not rec.truncated
    assert _states(rec)[-3:] == ["sweep", "safe_retract", "faulted"]
    faults = [e for e in rec.events if e.kind == "fault"]
    detail = [e for e in rec.events if e.kind == "fault_detail"]
    assert faults and faults[0].cause in ("FORCE_RATE", "FORCE_SOFT")
    assert detail and detail[0].cause == oc.cause and detail[0].s == pytest.approx(oc.s, abs=2e-3)
    assert rec.summary["result"] == "faulted" and rec.summary["cause"] == oc.cause


@pytest.mark.slow
def test_estop_mid_sweep_stops_and_is_recorded(tmp_path):
    cfg = short_config()

    def press(runner):
        if runner.scan.state is ScanState.SWEEP and runner.scan.s > 0.01:
            runner.cell.estop.press()

    run = run_scan(cfg, _opts(tmp_path, cfg, after_step=press))
    oc = run.outcome
    assert oc.result is ScanResult.FAULTED and oc.cause.startswith("ESTOP")
    assert "STOP" in oc.cause
    rec = read_recording(tmp_path / "scan.mcap")
    assert _states(rec)[-2:] == ["sweep", "faulted"]
    assert [e.cause for e in rec.events if e.kind == "fault"] == ["ESTOP"]
    assert np.abs(rec.state["qd_cmd"][-1]).max() == 0.0


@pytest.mark.slow
def test_pause_resume_then_abort_mid_sweep(tmp_path):
    cfg = short_config()
    log = {"s_paused": [], "force_paused": []}

    def operate(runner):
        scan, t = runner.scan, runner.t
        if scan.state is ScanState.SWEEP and "pause" not in log and scan.s > 0.01:
            log["pause"] = t
            scan.pause("test pause")
        elif scan.state is ScanState.PAUSED and t - log["pause"] > 0.5:
            log["s_paused"].append(scan.s)
            log["force_paused"].append(runner.cell.sim.contact_force())
            if t - log["pause"] > 1.5 and "resume" not in log:
                log["resume"] = t
                scan.resume("test resume")
        elif scan.state is ScanState.SWEEP and scan.s > 0.03 and "abort" not in log:
            log["abort"] = t
            scan.abort("test abort")

    run = run_scan(cfg, _opts(tmp_path, cfg, after_step=operate))
    oc = run.outcome
    assert oc.result is ScanResult.ABORTED and oc.cause == "aborted: test abort"
    # paused: the sweep stood still, the probe stayed on the skin at the set force
    s_p = np.array(log["s_paused"])
    assert len(s_p) > 500 and np.ptp(s_p) == 0.0 and s_p[0] < 0.012
    assert np.mean(log["force_paused"]) == pytest.approx(5.0, abs=0.3)
    trs = [(t.src.name.lower(), t.dst.name.lower()) for t in run.scan.transitions]
    assert ("sweep", "paused") in trs and ("paused", "sweep") in trs
    assert trs[-2:] == [("sweep", "aborting"), ("aborting", "aborted")]
    assert 0.03 <= oc.s < 0.035  # aborted where asked, then retracted off the skin
    assert run.geometry.signed_distance(run.truth.ordered("tip")[-1]) > 0.04
    rec = read_recording(tmp_path / "scan.mcap")
    kinds = [(e.kind, e.cause) for e in rec.events if e.kind in ("pause", "resume", "abort")]
    assert kinds == [("pause", "test pause"), ("resume", "test resume"), ("abort", "test abort")]


@pytest.mark.slow
def test_abort_during_the_transfer_stops_the_joint_move(tmp_path):
    cfg = short_config()

    def abort_early(runner):
        if runner.scan.state is ScanState.TRANSFER and runner.t > 1.0:
            runner.scan.abort("changed my mind")

    run = run_scan(cfg, _opts(tmp_path, cfg, after_step=abort_early))
    assert run.outcome.result is ScanResult.ABORTED
    trs = [t.dst.name.lower() for t in run.scan.transitions]
    assert trs == ["planning", "transfer", "aborting", "aborted"]
    stop = next(t for t in run.scan.transitions if t.dst is ScanState.ABORTED)
    assert stop.trigger == "stopped" and stop.t < 1.0 + cfg.scan.stop_ramp_time + 0.5
    assert np.abs(run.cycle.state.qd).max() < 0.01
    assert run.truth.ordered("force").max() == 0.0  # never touched the body


@pytest.mark.slow
def test_stroke_off_the_body_fails_before_anything_moves(tmp_path):
    cfg = short_config()
    off = stroke_on_skin(cfg, (0.0, 0.0), (-0.05, 0.05)) + np.array([0.0, 200.0])  # bed
    opts = RunOptions(out_dir=tmp_path, stroke=off, imaging=False, pictures=False)
    with pytest.raises(ScanRunError, match=r"mapping the stroke: .*off the body"):
        run_scan(cfg, opts)
    assert not (tmp_path / "report.json").exists()
    rec = read_recording(tmp_path / "scan.mcap")
    assert not rec.truncated and rec.summary["result"] == "faulted"
    assert set(_states(rec)) == {"planning", "faulted"}
    q = rec.state["q"]
    assert np.abs(q - q[0]).max() < 1e-4  # nothing moved
    detail = [e for e in rec.events if e.kind == "fault_detail"]
    assert detail and "off the body" in detail[0].cause


@pytest.mark.slow
def test_contact_lost_mid_sweep_is_regained_and_logged(tmp_path):
    """The body drops 15 mm under the probe mid-sweep (the patient moves): the controller
    detects the contact loss, re-seeks along the probe axis, the sweep continues and the
    scan finishes; both events are recorded with their arc length."""
    cfg = short_config()
    box = {}

    def drop_body(runner):
        scan = runner.scan
        if scan.state is ScanState.SWEEP and scan.s > 0.015 and "s" not in box:
            box["s"] = scan.s
            runner.cell.sim.shift_phantom(-0.015)

    run = run_scan(cfg, _opts(tmp_path, cfg, after_step=drop_body))
    assert run.outcome.result is ScanResult.DONE, run.outcome.cause
    rec = read_recording(tmp_path / "scan.mcap")
    lost = [e for e in rec.events if e.kind == "recontact"]
    regained = [e for e in rec.events if e.kind == "contact_regained"]
    assert lost and regained
    assert lost[0].s == pytest.approx(box["s"], abs=0.003)
    assert lost[0].t < regained[0].t
    # the sweep is held while re-seeking: after the time law's jerk-limited stop (< 3 mm
    # at 10 mm/s) the arc length stays put until the contact is back
    t_rec, s_rec = rec.state["t"], rec.state["s"]
    reseek = (t_rec >= lost[0].t) & (t_rec <= regained[0].t)
    assert t_rec[reseek][-1] - t_rec[reseek][0] > 0.5  # long enough to tell held from not
    assert s_rec[reseek].max() - lost[0].s < 0.003
    # back at the set force on the lowered body, and the sweep reached the end
    force, t = run.truth.ordered("force"), run.truth.ordered("t")
    after = (t > regained[0].t + 1.0) & (run.truth.ordered("state") == int(ScanState.SWEEP))
    assert after.sum() > 200
    assert np.mean(force[after]) == pytest.approx(5.0, abs=0.3)
    assert run.outcome.s == pytest.approx(run.outcome.length, abs=1e-3)
