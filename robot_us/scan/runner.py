"""A whole scan in lockstep simulation, as ``robot-us demo`` runs it: build the simulated
cell, capture the camera image, start the recorder, then run the 1 kHz loop on the
control cycle with the scan as its reference provider and, between two cycles, the
lockstep work in named steps (``ScanRunner._between_cycles``): the physics step,
planning, the ground truth, imaging, recording, the time budget, the test hook and the
progress bar; at the end the report, the pictures and the recording summary.

Everything is recorded as it happens (``robot_us.recording``): config, camera image, plan,
state stream and events, frames with their quality, and the summary at the end.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from robot_us.config import Config
from robot_us.control_cycle import ControlCycle
from robot_us.core.backends import CELLS, Cell
from robot_us.core.types import RgbdFrame
from robot_us.imaging.lockstep import LockstepImaging, make_lockstep_imaging
from robot_us.loop import LoopRunner, LoopStats
from robot_us.reference_provider import FinishReference
from robot_us.scan.ground_truth import GroundTruthLog
from robot_us.scan.messages import ScanOutcome, ScanRequest
from robot_us.scan.progress import ProgressBar, ProgressEstimate
from robot_us.scan.scan import Scan
from robot_us.scan.states import FAULT_NAMES, STATE_NAMES, ScanFault, ScanResult
from robot_us.state_log import StateLog

#: The embedded default stroke (pixels on the default simulated camera's image).
DEFAULT_STROKE_RESOURCE = "default_stroke.json"
#: File names written into the output folder.
RECORDING_NAME = "scan.mcap"
REPORT_NAME = "report.json"
STROKE_NAME = "stroke.json"  # the stroke the run mapped (re-run it with --stroke)
#: Loop time allowed beyond twice the planned duration before the scan is aborted (s).
TIME_BUDGET_MARGIN_S = 20.0
#: Longest a lockstep scan may run in loop time (s).
MAX_SIM_TIME_S = 600.0
#: Ground-truth rows kept (10 minutes at 1 kHz).
TRUTH_CAPACITY = 600_000


class ScanRunError(ValueError):
    """The scan could not run or did not finish (message names the cause)."""


def default_stroke() -> np.ndarray:
    """The embedded default stroke (N x 2 pixels: u column, v row)."""
    from robot_us.perception_files import load_stroke

    with resources.as_file(resources.files("robot_us.scan") / DEFAULT_STROKE_RESOURCE) as p:
        return load_stroke(p)  # the same validating reader as --stroke files


@dataclass
class RunOptions:
    """How to run: output folder, the stroke (pixels; None = the embedded default) and
    where it came from, progress stream, what to produce, an optional hook called after
    every physics step with the runner (tests inject faults and commands there) and one
    that may wrap the cell's devices before the scan starts."""

    out_dir: Path
    stroke: np.ndarray | None = None
    stroke_source: str = "default"
    speed: float | None = None  # m/s, None = trajectory.speed
    plane: str | None = None  # None = trajectory.plane
    progress: TextIO | None = None
    record: bool = True
    imaging: bool = True
    pictures: bool = True
    after_step: Callable[[ScanRunner], None] | None = None
    wrap_cell: Callable[[Cell], Cell] | None = None  # tests wrap devices (fault injection)


@dataclass
class ScanRun:
    """What a run produced (the report is built from it)."""

    cfg: Config
    options: RunOptions
    outcome: ScanOutcome | None
    scan: Scan
    cycle: ControlCycle
    camera: RgbdFrame
    truth: GroundTruthLog
    geometry: Any
    loop: LoopStats
    wall_s: float
    imaging: LockstepImaging | None = None
    recorder_stats: Any | None = None
    recording: Path | None = None
    files: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


class TimeBudget:
    """Loop time a scan may take: twice its planned duration plus
    ``TIME_BUDGET_MARGIN_S``, counted from when the plan is ready."""

    def __init__(self) -> None:
        self.deadline: float | None = None  # loop time (s), None while not running

    def start(self, t: float, planned_duration: float) -> None:
        """The plan (of ``planned_duration`` s) is ready at loop time ``t`` (s)."""
        self.deadline = t + 2.0 * planned_duration + TIME_BUDGET_MARGIN_S

    def exceeded(self, t: float) -> bool:
        """True once, the first time loop time ``t`` (s) passes the deadline."""
        if self.deadline is None or t <= self.deadline:
            return False
        self.deadline = None
        return True


class ScanRunner:
    """Runs one scan in lockstep on a simulated cell (see the module doc)."""

    def __init__(self, cfg: Config, options: RunOptions) -> None:
        self.cfg = cfg
        self.opts = options
        self.cell: Cell | None = None
        self.scan: Scan | None = None
        self.cycle: ControlCycle | None = None
        self.recorder: Any | None = None
        self.imaging: LockstepImaging | None = None
        self.log: StateLog | None = None
        self.truth = GroundTruthLog(TRUTH_CAPACITY)
        self.t = 0.0
        self._plan_written = False
        self.budget = TimeBudget()
        self.estimate = ProgressEstimate(cfg)
        self._progress = ProgressBar(options.progress)
        self._stroke_file: str | None = None
        self._stop_cause = ""  # set by stop_now: the run ends after the current cycle

    def run(self) -> ScanRun:
        """Run the scan; returns the run (also on a fault or abort). Raises
        ``ScanRunError`` when the stroke cannot be mapped or planned (nothing moved; the
        recording, if any, is closed and readable)."""
        cfg, opts = self.cfg, self.opts
        wall0 = time.perf_counter()
        opts.out_dir.mkdir(parents=True, exist_ok=True)
        cell = CELLS.create(cfg.cell.backend, cfg)
        if opts.wrap_cell is not None:
            cell = opts.wrap_cell(cell)
        self.cell = cell
        try:
            if cell.sim is None or cell.step_plant is None or cell.camera is None:
                raise ScanRunError(
                    "a lockstep scan needs the simulated cell (cell.backend = 'sim')"
                )
            camera = cell.camera.capture()
            stroke = default_stroke() if opts.stroke is None else opts.stroke
            self._save_stroke(stroke)
            self.log = log = StateLog(cfg.loop.ring_capacity, cell.arm.n_joints)
            self.cycle = ControlCycle(cfg, cell, state_log=log)
            self.recorder = self._start_recorder(log, camera) if opts.record else None
            try:
                self.scan = Scan(cfg, self.cycle, events=self.recorder)
                self.cycle.reference = self.scan
                if opts.imaging:
                    self.imaging = self._make_imaging(cell)
                self.scan.start(
                    ScanRequest(frame=camera, stroke=stroke, speed=opts.speed, plane=opts.plane)
                )
                runner = LoopRunner(cfg.loop.rate_hz, "lockstep")
                stats = runner.run(
                    self.cycle, plant_step=self._between_cycles, duration_s=MAX_SIM_TIME_S
                )
                self._progress.close()
                run = self._finish(camera, stats, time.perf_counter() - wall0)
            except BaseException:
                self._progress.close()
                if self.recorder is not None:
                    self.recorder.close(raise_on_error=False)
                raise
        finally:
            if cell.close is not None:
                cell.close()
        if run.outcome is not None and run.outcome.fault == ScanFault.PLAN_FAILED:  # nothing moved
            raise ScanRunError(run.outcome.cause)
        return run

    def stop_now(self, cause: str) -> None:
        """End the run after the current cycle without waiting for the scan (a forced
        stop, e.g. a second interrupt): the arm is stopped where it is, the abort is
        recorded, the report says ``aborted`` with ``cause`` and the recording is closed.
        Call between cycles (the ``after_step`` hook)."""
        if self._stop_cause or self.cycle is None or self.scan is None:
            return
        self._stop_cause = cause
        self.cell.arm.stop()
        self.cycle.controller.idle()
        self.cycle.reference = FinishReference(self.scan.status)
        if self.recorder is not None:
            self.recorder.post_event(self.t, "abort", cause, None, int(self.scan.state))

    # -- setup ----------------------------------------------------------------------------
    def _save_stroke(self, stroke: np.ndarray) -> None:
        """Write the stroke this run maps into the output folder (``stroke.json``)."""
        from robot_us.perception_files import save_stroke

        path = self.opts.out_dir / STROKE_NAME
        save_stroke(path, stroke)
        self._stroke_file = str(path)

    def _start_recorder(self, log: StateLog, camera: RgbdFrame):
        from robot_us.recording import Recorder

        path = self.opts.out_dir / RECORDING_NAME
        rec = Recorder(
            path,
            self.cfg.recording,
            state_log=log,
            state_names=STATE_NAMES,
            fault_names=FAULT_NAMES,
            metadata={"source": "robot-us scan (lockstep simulation)"},
            threaded=False,  # lockstep: written between cycles, never racing the loop
        ).start()
        rec.write_config(self.cfg)
        rec.add_camera(camera)
        return rec

    def _make_imaging(self, cell: Cell) -> LockstepImaging:
        return make_lockstep_imaging(self.cfg, cell, self.scan, self.recorder)

    # -- between two cycles -----------------------------------------------------------
    def _between_cycles(self) -> None:
        """The lockstep work after each cycle, in this order (the loop times it as the
        plant step, outside the cycle's compute time)."""
        self._step_plant()
        self._plan()
        self._record_truth()
        self._image()
        self._record()
        self._check_budget()
        if self.opts.after_step is not None:
            self.opts.after_step(self)
        self._report_progress()

    def _step_plant(self) -> None:
        """One physics step of one period."""
        self.cell.step_plant()
        self.t = self.cell.sim.t

    def _plan(self) -> None:
        """Mapping and planning (``Scan.service``); once planned: record the plan, start
        the time budget and the progress estimate."""
        scan = self.scan
        scan.service()
        if scan.planned is None or self._plan_written:
            return
        self._plan_written = True
        plan = scan.planned.plan
        if self.recorder is not None:
            self.recorder.write_plan(plan)
        self.budget.start(self.t, plan.duration_s)
        self.estimate.planned(plan)

    def _record_truth(self) -> None:
        """The simulator's truth against the state row of the cycle just run."""
        self.truth.record(self.cell.sim, self.scan.reference_position, self.log.newest())

    def _image(self) -> None:
        """The ultrasound frame and its quality, when one is due in loop time."""
        if self.imaging is not None:
            self.imaging.after_step(self.t)

    def _record(self) -> None:
        """Write what the recorder has queued (lockstep: here, never during a cycle)."""
        if self.recorder is not None:
            self.recorder.pump()

    def _check_budget(self) -> None:
        """Abort a scan that overran its time budget."""
        if self.budget.exceeded(self.t) and not self.scan.finished:
            self.scan.abort(f"the scan exceeded its time budget ({self.t:.0f} s of loop time)")

    def _report_progress(self) -> None:
        if self.opts.progress is None:
            return
        scan = self.scan
        q = self.imaging.latest_score if self.imaging is not None else None
        self._progress.update(
            self.estimate.fraction(scan, self.t),
            STATE_NAMES[scan.state],
            self.t,
            scan.s,
            scan.length,
            q,
        )

    # -- the end --------------------------------------------------------------------------
    def _finish(self, camera: RgbdFrame, stats: LoopStats, wall_s: float) -> ScanRun:
        from robot_us.scan.report import build_report

        scan, opts = self.scan, self.opts
        run = ScanRun(
            cfg=self.cfg,
            options=opts,
            outcome=scan.outcome,
            scan=scan,
            cycle=self.cycle,
            camera=camera,
            truth=self.truth,
            geometry=self.cell.sim.geometry,
            loop=stats,
            wall_s=wall_s,
            imaging=self.imaging,
        )
        if self._stroke_file is not None:
            run.files["stroke"] = self._stroke_file
        if scan.outcome is None:
            scan._finish()  # the loop ran out of time: report where it stopped
            run.outcome = scan.outcome
            run.outcome.cause = f"the scan did not finish within {MAX_SIM_TIME_S:.0f} s"
            if self._stop_cause:
                run.outcome.result, run.outcome.cause = ScanResult.ABORTED, self._stop_cause
        planned = scan.outcome.fault != ScanFault.PLAN_FAILED
        if opts.pictures and planned:
            from robot_us.scan.pictures import make_pictures

            run.files.update(make_pictures(run, opts.out_dir))
        run.report = build_report(run)
        if self.recorder is not None:
            self.recorder.write_summary(run.report)
            run.recorder_stats = self.recorder.close()
            run.recording = self.recorder.path
            run.files["recording"] = str(self.recorder.path)
            run.report["recording"] = _recording_figures(run.recorder_stats, self.recorder.path)
        if planned:
            path = opts.out_dir / REPORT_NAME
            run.files["report"] = str(path)
            run.report["files"] = dict(run.files)
            path.write_text(json.dumps(run.report, indent=2) + "\n")
        return run


def _recording_figures(stats, path: Path) -> dict[str, Any]:
    return {
        "path": str(path),
        "bytes": stats.bytes,
        "messages": sum(stats.messages.values()),
        "dropped": dict(stats.dropped),
        "state_rows": stats.state_rows,
        "state_lost": stats.state_lost,
        "flushes": stats.syncs,
        "error": stats.error,
    }


def run_scan(cfg: Config, options: RunOptions) -> ScanRun:
    """Run one scan in lockstep simulation (see ``ScanRunner``)."""
    return ScanRunner(cfg, options).run()


def result_name(run: ScanRun) -> str:
    """``done``, ``aborted``, ``faulted`` or ``running`` (did not finish)."""
    return (run.outcome.result if run.outcome else ScanResult.RUNNING).name.lower()
