"""The control process's status beside the state stream: one fixed-layout record in
shared memory, written by the control process after every cycle (between cycles, outside
the timed control work) and read by the server and imaging processes. It holds what the
state rows do not: the loop's time origin and counters, teleoperation, E-stop, the latched
safety reaction, the control lease, the operator's force set-point, twist counters.

Layout (``STATUS_DTYPE``, SI units):

=================  ======  ==============================================================
field              type    meaning
=================  ======  ==============================================================
``magic``          i8      identifies the block
``t0_unix``        f8      Unix time (s) at loop time 0 (0 before the loop starts)
``t0_mono``        f8      ``time.monotonic()`` (s) at loop time 0
``cycles``         i8      cycles run (advances every cycle: the loop is alive)
``overruns``       i8      cycles that ended after the next deadline
``skipped``        i8      deadlines skipped by overruns
``teleop``         i1      teleoperation phase + 1 (0: not teleoperating; ``TeleopPhase``)
``estop``          i1      an E-stop is engaged
``reaction``       i1      the latched safety reaction (``Reaction``; 0 none)
``lease``          i1      a client holds control with a fresh heartbeat
``force_setpoint`` f8      the operator's force set-point (N)
``twists``         i8      teleop twists applied
``twists_stale``   i8      twists dropped in the control process as older than their horizon
``deadman``        i8      deadman trips (control lease expired)
``intake_us_max``  f4      longest between-cycles service of the control process (us)
=================  ======  ==============================================================

One writer; readers copy the record and may see fields of two consecutive cycles (each
field is a single aligned store), which none of the uses minds.
"""

from __future__ import annotations

from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

import numpy as np

STATUS_DTYPE = np.dtype(
    [
        ("magic", "<i8"),
        ("t0_unix", "<f8"),
        ("t0_mono", "<f8"),
        ("cycles", "<i8"),
        ("overruns", "<i8"),
        ("skipped", "<i8"),
        ("force_setpoint", "<f8"),
        ("twists", "<i8"),
        ("twists_stale", "<i8"),
        ("deadman", "<i8"),
        ("intake_us_max", "<f4"),
        ("teleop", "<i1"),
        ("estop", "<i1"),
        ("reaction", "<i1"),
        ("lease", "<i1"),
    ]
)
_MAGIC = int.from_bytes(b"RUSSTAT1", "little")


class ControlStatus:
    """The status record in shared memory (``create`` by the server, ``attach`` in the
    child processes); ``rec`` is the writable 0-d record, ``read()`` a copy."""

    def __init__(self, shm: SharedMemory, owner: bool) -> None:
        self.shm = shm
        self.owner = owner
        self.rec = np.ndarray((), dtype=STATUS_DTYPE, buffer=shm.buf)
        if owner:
            self.rec[()] = np.zeros((), dtype=STATUS_DTYPE)
            self.rec["magic"] = _MAGIC
        elif int(self.rec["magic"]) != _MAGIC:
            raise ValueError(f"shared memory {shm.name!r} does not hold a control status")

    @property
    def name(self) -> str:
        """The shared-memory block's name (for ``attach``)."""
        return self.shm.name

    @classmethod
    def create(cls) -> ControlStatus:
        """A new status block (the creator unlinks it at the end)."""
        return cls(SharedMemory(create=True, size=STATUS_DTYPE.itemsize), owner=True)

    @classmethod
    def attach(cls, name: str) -> ControlStatus:
        """The status block created by another process."""
        shm = SharedMemory(name=name, create=False)
        # Python < 3.13 registers attached blocks for removal at exit; the creator owns it
        resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
        return cls(shm, owner=False)

    def read(self) -> np.void:
        """A copy of the record."""
        return self.rec.copy()[()]

    def close(self) -> None:
        """Release this process's mapping (and remove the block, for its creator)."""
        if self.shm is None:
            return
        self.rec = np.zeros((), dtype=STATUS_DTYPE)
        self.shm.close()
        if self.owner:
            self.shm.unlink()
        self.shm = None
