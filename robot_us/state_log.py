"""The per-cycle state stream: a preallocated, fixed-layout ring buffer of state rows
(numpy structured array), written once per control cycle (the cycle's record stage) and
drained outside the loop (like polymetis' circular state log). It is the one per-cycle
record: the loop keeps only distributions of its timing (``LoopStats``), the lockstep
runner only what the simulator alone knows (``GroundTruthLog``).

Layout (``state_dtype(n_joints)``), SI units:

==================  =========  ==============================================================
field               shape      meaning
==================  =========  ==============================================================
``t``               ()         loop time (s) at the start of the cycle
``cycle``           ()         cycle index since loop start (skipped cycles count)
``q``               (n,)       joint positions (rad)
``qd``              (n,)       joint velocities (rad/s)
``qd_cmd``          (n,)       commanded joint velocities (rad/s)
``wrench_raw``      (6,)       sensor reading [fx fy fz tx ty tz] (N, N·m), sensor frame, as read
``wrench``          (6,)       filtered, gravity-compensated wrench (N, N·m), probe frame
``T_base_probe``    (3, 4)     probe pose, top three rows of the 4x4 transform (m)
``f_set``           ()         normal-force setpoint (N, positive = pressing into tissue)
``f_n``             ()         measured normal force along probe z (N, positive = pressing)
``s``               ()         arc length along the planned path (m)
``s_dot``           ()         path speed ds/dt (m/s)
``speed_override``  ()         live speed override factor (1 = nominal)
``state``           ()         scan state id (int; names given to the recorder)
``fault``           ()         fault code (0 = none)
``compute_us``      ()         the loop's compute time of the previous cycle (us)
``lateness_us``     ()         wake-up lateness of this cycle (us)
``reaction``        ()         safety reaction of this cycle (``Reaction``: 0 none, clip, ...)
``control_us``      ()         the cycle's control work, wall clock (us; ``ControlCycle``)
``control_cpu_us``  ()         the same in this thread's CPU time (us)
==================  =========  ==============================================================

Real-time contract
------------------
* One writer: the control loop. ``push_fields(...)`` writes the next slot in place: no
  array is allocated, nothing blocks, no lock is taken, nothing is logged. The writer
  never waits for a reader; when the ring is full it overwrites the oldest row.
* One drainer (the recorder thread, or a test): ``drain()`` copies every row committed
  since its previous drain, oldest first. If the writer lapped the drainer, the rows lost
  are counted (``DrainResult.lost`` and ``StateLog.lost_total``) and never returned
  half-written: after copying, the drainer re-reads the write counter and discards any row
  whose slot the writer may have reused during the copy.
* Publication order: the writer fills the slot, then increments ``count`` (a single Python
  int store, atomic under the GIL). A drainer only reads rows with index < ``count``.
* Size the ring for the longest the drainer may stall: capacity / rate (120 s at 1 kHz
  with the default ``loop.ring_capacity``).
* Across processes (real-time mode: the loop process writes, the server process drains):
  ``StateLog.create_shared(capacity)`` puts header and rows in one shared-memory block,
  ``StateLog.attach(name)`` maps it in the other process. The write count lives in the
  block's header. Publication relies on stores becoming visible in program order, which
  x86-64 guarantees; on weakly ordered CPUs (ARM) the newest row could in rare cases be
  read before it is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from robot_us.ring import ordered

#: Default number of joints (Panda and LBR iiwa both have seven).
DEFAULT_N_JOINTS = 7
#: Smallest allowed ring (rows).
MIN_CAPACITY = 2
#: Largest allowed ring (rows): 10 M rows (~3.5 GB) is already far more than a scan needs.
MAX_CAPACITY = 10_000_000
#: Header of the log's memory block: 8 little-endian int64 words.
_HEADER_WORDS = 8
_HEADER_BYTES = 8 * _HEADER_WORDS
#: Header word 0: identifies a robot-us state log ("RUSLOG01" as an int64).
_MAGIC = int.from_bytes(b"RUSLOG01", "little")
#: Header word holding the write count.
_COUNT = 3


def state_dtype(n_joints: int = DEFAULT_N_JOINTS) -> np.dtype:
    """The fixed row layout for an arm with ``n_joints`` joints (see the module doc)."""
    if not 1 <= n_joints <= 16:
        raise ValueError(f"n_joints must be in [1, 16], got {n_joints}")
    n = n_joints
    return np.dtype(
        [
            ("t", "<f8"),
            ("cycle", "<i8"),
            ("q", "<f8", (n,)),
            ("qd", "<f8", (n,)),
            ("qd_cmd", "<f8", (n,)),
            ("wrench_raw", "<f8", (6,)),
            ("wrench", "<f8", (6,)),
            ("T_base_probe", "<f8", (3, 4)),
            ("f_set", "<f8"),
            ("f_n", "<f8"),
            ("s", "<f8"),
            ("s_dot", "<f8"),
            ("speed_override", "<f8"),
            ("state", "<i4"),
            ("fault", "<i4"),
            ("compute_us", "<f4"),
            ("lateness_us", "<f4"),
            ("reaction", "<i1"),
            ("control_us", "<f4"),
            ("control_cpu_us", "<f4"),
        ]
    )


def shared_size(capacity: int, n_joints: int = DEFAULT_N_JOINTS) -> int:
    """Bytes of a state log's memory block (header + rows)."""
    return _HEADER_BYTES + capacity * state_dtype(n_joints).itemsize


@dataclass
class DrainResult:
    """Rows committed since the previous drain (oldest first, a copy) and how many rows
    were overwritten before this drain could copy them."""

    rows: np.ndarray
    lost: int
    first_index: int  # write index of rows[0] (total rows ever committed before it)


class StateLog:
    """Single-writer, single-drainer ring of state rows (see the module doc)."""

    def __init__(
        self, capacity: int, n_joints: int = DEFAULT_N_JOINTS, _shm: SharedMemory | None = None
    ) -> None:
        if not MIN_CAPACITY <= capacity <= MAX_CAPACITY:
            raise ValueError(
                f"state log capacity must be in [{MIN_CAPACITY}, {MAX_CAPACITY}], got {capacity}"
            )
        self.capacity = capacity
        self.n_joints = n_joints
        self.dtype = state_dtype(n_joints)
        self.shm = _shm
        size = shared_size(capacity, n_joints)
        raw = _shm.buf if _shm is not None else np.zeros(size, dtype=np.uint8)
        # header: magic, capacity, n_joints, count (the only word both sides touch)
        self._hdr = np.ndarray(_HEADER_WORDS, dtype="<i8", buffer=raw)
        self.buf = np.ndarray(capacity, dtype=self.dtype, buffer=raw, offset=_HEADER_BYTES)
        if _shm is None or self._hdr[0] != _MAGIC:
            self._hdr[:] = (_MAGIC, capacity, n_joints, 0, 0, 0, 0, 0)
        # column views, created once: the writer indexes them, never the structured array
        self._col = {name: self.buf[name] for name in self.dtype.names}
        self._c_t = self._col["t"]
        self._c_cycle = self._col["cycle"]
        self._c_q = self._col["q"]
        self._c_qd = self._col["qd"]
        self._c_qd_cmd = self._col["qd_cmd"]
        self._c_wraw = self._col["wrench_raw"]
        self._c_w = self._col["wrench"]
        self._c_T = self._col["T_base_probe"]
        self._c_fset = self._col["f_set"]
        self._c_fn = self._col["f_n"]
        self._c_s = self._col["s"]
        self._c_sdot = self._col["s_dot"]
        self._c_ovr = self._col["speed_override"]
        self._c_state = self._col["state"]
        self._c_fault = self._col["fault"]
        self._c_comp = self._col["compute_us"]
        self._c_late = self._col["lateness_us"]
        self._c_react = self._col["reaction"]
        self._c_ctrl = self._col["control_us"]
        self._c_ctrl_cpu = self._col["control_cpu_us"]
        self._wcount = int(self._hdr[_COUNT])  # the writer's own copy of the count
        self._read = 0  # next row index the drainer will return (drainer-owned)
        self.lost_total = 0  # rows overwritten before they were drained (drainer-owned)

    # -- writer side (the loop) ---------------------------------------------------------
    def push_fields(
        self,
        t: float,
        cycle: int,
        q: np.ndarray,
        qd: np.ndarray,
        qd_cmd: np.ndarray,
        wrench_raw: np.ndarray,
        wrench: np.ndarray,
        T_base_probe: np.ndarray,
        f_set: float,
        f_n: float,
        s: float,
        s_dot: float,
        speed_override: float,
        state: int,
        fault: int,
        compute_us: float,
        lateness_us: float,
        reaction: int = 0,
        control_us: float = 0.0,
        control_cpu_us: float = 0.0,
    ) -> None:
        """Write one row directly into the next slot and publish it. ``T_base_probe`` is
        the 4x4 transform (its top three rows are stored) or already 3x4."""
        c = self._wcount
        i = c % self.capacity
        self._c_t[i] = t
        self._c_cycle[i] = cycle
        self._c_q[i] = q
        self._c_qd[i] = qd
        self._c_qd_cmd[i] = qd_cmd
        self._c_wraw[i] = wrench_raw
        self._c_w[i] = wrench
        self._c_T[i] = T_base_probe[:3]
        self._c_fset[i] = f_set
        self._c_fn[i] = f_n
        self._c_s[i] = s
        self._c_sdot[i] = s_dot
        self._c_ovr[i] = speed_override
        self._c_state[i] = state
        self._c_fault[i] = fault
        self._c_comp[i] = compute_us
        self._c_late[i] = lateness_us
        self._c_react[i] = reaction
        self._c_ctrl[i] = control_us
        self._c_ctrl_cpu[i] = control_cpu_us
        self._wcount = c + 1
        self._hdr[_COUNT] = c + 1  # publish after the row is written

    @property
    def count(self) -> int:
        """Rows ever committed (the write index)."""
        return int(self._hdr[_COUNT])

    # -- shared memory (writer and drainer in different processes) ----------------------
    @classmethod
    def create_shared(
        cls, capacity: int, n_joints: int = DEFAULT_N_JOINTS, name: str | None = None
    ) -> StateLog:
        """A state log in a new shared-memory block (``.shm.name``), for a loop process
        writing and another process draining. The creator calls ``unlink()`` at the end."""
        shm = SharedMemory(name=name, create=True, size=shared_size(capacity, n_joints))
        return cls(capacity, n_joints, _shm=shm)

    @classmethod
    def attach(cls, name: str) -> StateLog:
        """Attach to a shared state log created by another process (layout from its header)."""
        shm = SharedMemory(name=name, create=False)
        # Python < 3.13 registers attached blocks for removal at exit; the creator owns it
        resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
        hdr = np.ndarray(_HEADER_WORDS, dtype="<i8", buffer=shm.buf)
        if hdr[0] != _MAGIC:
            shm.close()
            raise ValueError(f"shared memory {name!r} does not hold a robot-us state log")
        capacity, n_joints = int(hdr[1]), int(hdr[2])
        del hdr
        return cls(capacity, n_joints, _shm=shm)

    def close(self) -> None:
        """Release this process's mapping of a shared log (no-op for a local log)."""
        if self.shm is not None:
            self._release_views()
            self.shm.close()

    def unlink(self) -> None:
        """Remove the shared-memory block (creator only, after every user closed)."""
        if self.shm is not None:
            self.close()
            self.shm.unlink()
            self.shm = None

    def _release_views(self) -> None:
        # numpy views pin the mapping; drop them before closing it
        for attr in [a for a in vars(self) if a.startswith("_c_")]:
            delattr(self, attr)
        self._col = {}
        self._hdr = np.zeros(_HEADER_WORDS, dtype="<i8")
        self._hdr[_COUNT] = -1
        self.buf = np.zeros(0, dtype=self.dtype)

    # -- drainer side -------------------------------------------------------------------
    def pending(self) -> int:
        """Rows committed but not yet drained (may exceed capacity if the drainer fell
        behind; the excess is lost)."""
        return self.count - self._read

    def drain(self, max_rows: int | None = None) -> DrainResult:
        """Copy the rows committed since the last drain (at most ``max_rows``, oldest
        first) and advance the drain position. Never blocks the writer."""
        end = self.count  # snapshot; rows < end are published
        start = self._read
        lost = 0
        if end - start > self.capacity:
            lost = end - start - self.capacity
            start = end - self.capacity
        if max_rows is not None and end - start > max_rows:
            end = start + max_rows
        rows = self._copy(start, end)
        # the writer may have reused slots during the copy: a row r is safe only if no
        # write index w in [snapshot, now] maps onto its slot, i.e. r > now - capacity
        now = self.count
        safe_start = max(start, now - self.capacity + 1)
        if safe_start > start:
            cut = min(safe_start, end) - start
            rows = rows[cut:]
            lost += cut
            start += cut
        self._read = max(end, start)
        self.lost_total += lost
        return DrainResult(rows=rows, lost=lost, first_index=start)

    def _copy(self, start: int, end: int) -> np.ndarray:
        n = end - start
        if n <= 0:
            return np.zeros(0, dtype=self.dtype)
        i0 = start % self.capacity
        i1 = i0 + n
        if i1 <= self.capacity:
            return self.buf[i0:i1].copy()
        return np.concatenate([self.buf[i0:], self.buf[: i1 - self.capacity]])

    def column(self, name: str) -> np.ndarray:
        """The rows still held of column ``name``, oldest first (a copy; does not drain).
        Between cycles or after a run, never concurrently with the writer."""
        if name not in self._col:
            raise KeyError(f"no column '{name}' in the state log: {list(self._col)}")
        return ordered(self._col[name], self.count, self.capacity)

    def newest(self) -> np.void | None:
        """The most recently committed row as a view into the ring (no copy), or None: read
        it before the writer's next row (between cycles in lockstep)."""
        c = self.count
        if c == 0:
            return None
        return self.buf[(c - 1) % self.capacity]

    def latest(self) -> np.ndarray | None:
        """A copy of the most recently committed row (a 0-d structured array), or None."""
        if self.count == 0:
            return None
        return self.buf[(self.count - 1) % self.capacity].copy()

    def __len__(self) -> int:
        """Rows currently held (at most ``capacity``)."""
        return min(self.count, self.capacity)
