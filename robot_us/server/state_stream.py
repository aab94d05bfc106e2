"""The ``state`` stream's messages: one ``protocol.messages.State`` per published cycle,
built in the server process from the newest row of the shared state stream
(``StateLog``), the control process's status record and the server's own bookkeeping
(who holds control, links, error counters, latched faults, the plan running).

The loop's timing figures (p99 of compute and wake-up lateness over the last
``TIMING_WINDOW`` rows, the measured rate) are recomputed every ``TIMING_REFRESH_S`` from
the ring in place (no drain: the recorder is the state log's one drainer).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from force_control import Mode
from robot_us.protocol import messages as m
from robot_us.scan.states import STATE_NAMES
from robot_us.server.control_status import ControlStatus
from robot_us.state_log import StateLog
from robot_us.teleop_reference import TeleopPhase

#: Rows the loop timing figures are computed over (1 s at 1 kHz).
TIMING_WINDOW = 1000
#: How often the timing figures are recomputed (s).
TIMING_REFRESH_S = 0.2
#: Mode names on the wire (``protocol.messages.CONTROLLER_MODES``).
MODE_NAMES = {int(mode): mode.name.lower() for mode in Mode}
_TELEOP_SLIDE = int(TeleopPhase.SLIDE) + 1
_CONTACT = int(Mode.CONTACT)
_LAST_ROW = np.array([0.0, 0.0, 0.0, 1.0])


@dataclass
class ScanInfo:
    """What the server knows of the scan it started: plan id and path length (m)."""

    plan_id: int | None = None
    length: float = 0.0


@dataclass
class ServerCounters:
    """The server's own figures for the state stream."""

    controller: str | None = None
    links: list[m.LinkStatus] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    stale: int = 0
    faults: list[m.Fault] = field(default_factory=list)


class StateBuilder:
    """Builds ``State`` messages (see the module doc)."""

    def __init__(self, log: StateLog, status: ControlStatus, rate_hz: float) -> None:
        self.log = log
        self.status = status
        self.nominal_rate = rate_hz
        self.scan = ScanInfo()
        self.timing = m.LoopTiming(
            rate_hz=0.0, compute_us_p99=0.0, late_us_p99=0.0, overruns=0, skipped=0
        )
        self._next_timing = 0.0

    def newest(self) -> np.void | None:
        """A copy of the newest state row, or None before the loop wrote one."""
        row = self.log.latest()
        return None if row is None else row[()]

    def build(self, row: np.void, counters: ServerCounters) -> m.State:
        """The state message of ``row``."""
        st = self.status.rec
        t0 = float(st["t0_unix"])
        now = time.monotonic()
        if now >= self._next_timing:
            self._next_timing = now + TIMING_REFRESH_S
            self._refresh_timing()
        T = np.vstack([row["T_base_probe"], _LAST_ROW])
        mode = int(row["mode"])
        teleop = int(st["teleop"])
        mode_name = "teleop" if teleop == _TELEOP_SLIDE and mode == _CONTACT else MODE_NAMES[mode]
        sid = int(row["state"])
        length = self.scan.length
        s = float(row["s"])
        return m.State(
            t=t0 + float(row["t"]),
            cycle=int(row["cycle"]),
            q=row["q"].tolist(),
            qd=row["qd"].tolist(),
            T_base_probe=T.ravel().tolist(),
            wrench=row["wrench"].tolist(),
            force=float(row["f_n"]),
            force_setpoint=float(row["f_set"]),
            mode=mode_name,
            scan=m.ScanStatus(
                state=STATE_NAMES.get(sid, str(sid)),
                progress=min(1.0, s / length) if length > 0 else 0.0,
                s=s,
                length=length,
                plan_id=self.scan.plan_id,
                override=float(row["speed_override"]),
            ),
            faults=list(counters.faults),
            estop=bool(st["estop"]),
            teleop=teleop > 0,
            controller=counters.controller,
            loop=self.timing,
            links=counters.links,
            errors=counters.errors,
            stale_commands=counters.stale,
        )

    def _refresh_timing(self) -> None:
        log = self.log
        c = log.count
        n = min(TIMING_WINDOW, c, log.capacity - 1)
        st = self.status.rec
        if n <= 0:
            return
        idx = np.arange(c - n, c) % log.capacity
        compute = np.take(log.buf["compute_us"], idx)
        late = np.take(log.buf["lateness_us"], idx)
        t = np.take(log.buf["t"], idx)
        span = float(t[-1] - t[0])
        rate = (n - 1) / span if n > 1 and span > 0 else 0.0  # cycles run per second
        self.timing = m.LoopTiming(
            rate_hz=float(rate),
            compute_us_p99=float(np.percentile(compute, 99)),
            late_us_p99=float(np.percentile(late, 99)),
            overruns=int(st["overruns"]),
            skipped=int(st["skipped"]),
        )
