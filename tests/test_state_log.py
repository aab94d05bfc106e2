"""The per-cycle state log: fixed layout, in-place writes, ring wrap, drain, overwrite
counting, a concurrent writer and drainer."""

import threading
import tracemalloc

import numpy as np
import pytest

from robot_us.state_log import StateLog, state_dtype

W = np.arange(6.0)


def _push(log: StateLog, k: int) -> None:
    T = np.eye(4)
    T[0, 3] = k
    q = np.full(7, float(k))
    log.push_fields(
        k * 1e-3, k, q, q, q, W, W + k, T, 5.0, 4.0 + k, 0.001 * k, 0.01, 1.0, k % 3, 0, 1.5, 2.5
    )


def test_layout_has_the_named_fields_and_units_shapes():
    dt = state_dtype(7)
    assert dt["q"].shape == (7,)
    assert dt["wrench_raw"].shape == (6,)
    assert dt["T_base_probe"].shape == (3, 4)
    for name in ("t", "cycle", "f_set", "f_n", "s", "speed_override", "state", "fault"):
        assert name in dt.names
    assert state_dtype(6)["qd"].shape == (6,)
    with pytest.raises(ValueError, match="n_joints"):
        state_dtype(0)


def test_push_fields_and_drain_return_values_in_order():
    log = StateLog(16)
    for k in range(5):
        _push(log, k)
    d = log.drain()
    assert d.lost == 0 and d.first_index == 0
    assert d.rows["cycle"].tolist() == [0, 1, 2, 3, 4]
    r = d.rows[3]
    assert r["t"] == pytest.approx(0.003)
    assert np.all(r["q"] == 3.0)
    assert r["T_base_probe"][0, 3] == 3.0 and r["T_base_probe"].shape == (3, 4)
    assert r["wrench"].tolist() == (W + 3).tolist()
    assert r["f_n"] == 7.0 and r["state"] == 0 and r["compute_us"] == pytest.approx(1.5)
    # the next drain returns only what came after
    for k in range(5, 8):
        _push(log, k)
    d2 = log.drain()
    assert d2.first_index == 5 and d2.rows["cycle"].tolist() == [5, 6, 7]
    assert len(log.drain().rows) == 0


def test_ring_wraps_and_counts_overwritten_rows():
    log = StateLog(8)
    for k in range(20):
        _push(log, k)
    assert len(log) == 8
    d = log.drain()
    # the oldest slot may be mid-overwrite by the next write: 7 safe rows, 13 lost
    assert d.rows["cycle"].tolist() == list(range(13, 20))
    assert d.lost == 13 and d.first_index == 13
    assert log.lost_total == 13
    for k in range(20, 25):
        _push(log, k)
    d = log.drain()
    assert d.rows["cycle"].tolist() == list(range(20, 25)) and d.lost == 0
    assert log.lost_total == 13


def test_drain_max_rows_leaves_the_rest_for_later():
    log = StateLog(32)
    for k in range(10):
        _push(log, k)
    assert log.drain(max_rows=4).rows["cycle"].tolist() == [0, 1, 2, 3]
    assert log.pending() == 6
    assert log.drain().rows["cycle"].tolist() == [4, 5, 6, 7, 8, 9]


def test_capacity_out_of_range_is_an_error():
    with pytest.raises(ValueError, match="capacity"):
        StateLog(1)


def test_push_does_not_grow_memory():
    log = StateLog(1000)
    for k in range(2000):  # warm up (wrap once)
        _push(log, k)
    T = np.eye(4)
    q = np.zeros(7)
    w = np.zeros(6)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for k in range(20_000):
        log.push_fields(k * 1e-3, k, q, q, q, w, w, T, 5.0, 4.0, 0.1, 0.01, 1.0, 1, 0, 1.0, 1.0)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 16_000, f"push path grew memory by {grown} bytes over 20k pushes"


def test_concurrent_writer_and_drainer_never_see_torn_or_reordered_rows():
    log = StateLog(256)
    n = 60_000
    done = threading.Event()
    T = np.eye(4)

    def writer():
        for k in range(n):
            q = np.full(7, float(k))
            log.push_fields(k * 1e-3, k, q, q, q, W, W, T, 0, 0, 0, 0, 1, 0, 0, 0, 0)
        done.set()

    got, lost = [], 0
    th = threading.Thread(target=writer)
    th.start()
    while not done.is_set() or log.pending():
        d = log.drain()
        lost += d.lost
        if len(d.rows):
            cyc = d.rows["cycle"]
            assert np.array_equal(cyc, np.arange(d.first_index, d.first_index + len(cyc)))
            # every row is whole: all its q entries carry its own cycle number
            assert np.all(d.rows["q"] == cyc[:, None].astype(float))
            got.append(cyc)
    th.join()
    total = sum(len(c) for c in got)
    assert total + lost == n
    assert log.lost_total == lost


WRITER = """
import sys, numpy as np
from robot_us.state_log import StateLog
log = StateLog.attach(sys.argv[1])
T = np.eye(4)
for k in range(int(sys.argv[2])):
    q = np.full(7, float(k))
    log.push_fields(k * 1e-3, k, q, q, q, np.zeros(6), np.zeros(6), T, 0, 0, 0, 0, 1, 0, 0, 0, 0)
log.close()
"""


def test_shared_log_written_by_another_process_is_drained_here(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    log = StateLog.create_shared(512)
    try:
        n = 20_000
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, log.shm.name, str(n)],
            cwd=root,
            env={"PYTHONPATH": str(root), "PATH": ""},
            stderr=subprocess.PIPE,
            text=True,
        )
        got, lost = 0, 0
        while proc.poll() is None or log.pending():
            d = log.drain()
            lost += d.lost
            if len(d.rows):
                cyc = d.rows["cycle"]
                assert np.array_equal(cyc, np.arange(d.first_index, d.first_index + len(cyc)))
                assert np.all(d.rows["q"] == cyc[:, None].astype(float))
                got += len(cyc)
        assert proc.returncode == 0, proc.stderr.read()
        assert log.count == n and got + lost == n and got > 0
    finally:
        log.unlink()


def test_attach_to_something_else_is_a_clear_error():
    from multiprocessing import resource_tracker
    from multiprocessing.shared_memory import SharedMemory

    shm = SharedMemory(create=True, size=4096)
    try:
        with pytest.raises(ValueError, match="does not hold a robot-us state log"):
            StateLog.attach(shm.name)
    finally:
        # attach() (meant for another process) dropped this process's tracker entry
        resource_tracker.register(shm._name, "shared_memory")
        shm.close()
        shm.unlink()


def test_column_reads_the_rows_held_oldest_first_without_draining():
    log = StateLog(8)
    for k in range(5):
        _push(log, k)
    assert log.column("cycle").tolist() == list(range(5))
    assert log.drain().rows["cycle"].tolist() == list(range(5))  # column() did not drain
    for k in range(5, 11):
        _push(log, k)
    assert log.column("cycle").tolist() == list(range(3, 11))  # wrapped: the newest 8
    assert log.column("reaction").dtype == np.int8
    with pytest.raises(KeyError, match="no column 'nope'"):
        log.column("nope")


def test_column_ring_pushes_one_value_per_column_and_wraps():
    from typing import ClassVar

    from robot_us.ring import ColumnRing

    class Ring(ColumnRing):
        COLUMNS: ClassVar[dict] = {"k": np.int64, "p": (np.float64, (3,))}

    r = Ring(4)
    for k in range(6):
        r.push(k, [k, 2 * k, 3 * k])
    assert len(r) == 4 and r.count == 6
    assert r.ordered("k").tolist() == [2, 3, 4, 5]
    assert r.ordered("p")[-1].tolist() == [5.0, 10.0, 15.0]
    with pytest.raises(TypeError, match=r"takes 2 values \(k, p\), got 1"):
        r.push(1)
    with pytest.raises(KeyError, match="no column 'count'"):
        r.ordered("count")  # an attribute, not a column
    with pytest.raises(ValueError, match="capacity"):
        Ring(0)
