"""The ATI Net F/T RDT driver against the emulated sensor on loopback UDP: start / stop /
bias, counts per unit, lost packets (sequence gaps, with the 2^32 rollover), status-word
errors, short datagrams, late duplicates, stalls and sensor restarts. Waits are generous;
nothing asserts on wall-clock speed."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from hardware_drivers.netft_emulator import NetFtEmulator
from hardware_drivers.netft_rdt import (
    CMD_START_REALTIME,
    RECORD_SIZE,
    AtiNetFt,
    decode_record,
    encode_record,
    request,
    sequence_step,
)
from hardware_drivers.wrench_stream import LinkStatus
from robot_us.core.backends import BackendError
from robot_us.core.types import WrenchSample
from tests.hardware_helpers import WAIT_S, ManualClock, wait_until

WRENCH = np.array([3.0, -1.5, -12.0, 0.25, -0.125, 0.05])


def driver_for(emu, **kw) -> AtiNetFt:
    host, port = emu.address
    return AtiNetFt(host, port=port, **kw)


@pytest.fixture
def paced():
    emu = NetFtEmulator(
        lambda: WRENCH, paced=True, counts_per_force=1e6, counts_per_torque=1e9
    ).start()
    yield emu
    emu.close()


def start_paced(emu, **kw) -> AtiNetFt:
    """Start the driver against a paced emulator (which answers the start with one record)."""
    d = driver_for(emu, counts_per_force=1e6, counts_per_torque=1e9, **kw)
    d.start(first_sample_timeout=WAIT_S)
    assert d.seq == 1
    return d


def emit(emu, n, wrench=WRENCH) -> None:
    for _ in range(n):
        assert emu.emit(wrench)


def test_request_and_record_layout():
    assert request(CMD_START_REALTIME).hex(" ") == "12 34 00 02 00 00 00 00"
    rec = encode_record(7, 70, 0, (1, -2, 3, -4, 5, -6))
    assert len(rec) == RECORD_SIZE == 36
    r = decode_record(rec)
    assert (r.rdt_sequence, r.ft_sequence, r.status, r.counts) == (7, 70, 0, (1, -2, 3, -4, 5, -6))
    assert decode_record(rec[:35]) is None and decode_record(rec + b"\0") is None


def test_sequence_step_handles_rollover():
    assert sequence_step(5, 6) == 1
    assert sequence_step(2**32 - 1, 0) == 1
    assert sequence_step(2**32 - 2, 3) == 5
    assert sequence_step(10, 9) == -1


def test_streams_scaled_by_the_configured_counts_per_unit():
    with NetFtEmulator(lambda: WRENCH, counts_per_force=1e6, counts_per_torque=1e9) as emu:
        d = driver_for(emu, counts_per_force=1e6, counts_per_torque=1e9).start()
        try:
            assert d.wait_for_sample(d.seq + 20, WAIT_S)
            out = WrenchSample()
            assert d.read(out)
            np.testing.assert_allclose(out.wrench, WRENCH, atol=1e-9)
            assert d.status() is LinkStatus.STREAMING and d.stats.sequence_gaps == 0
        finally:
            d.close()
        assert wait_until(lambda: not emu.streaming)  # stopped on close


def test_wrong_counts_per_unit_scale_the_reading():
    """Counts per unit are configuration: the ROS driver's fixed 1e6 counts/N·m would read
    this sensor's torques 1000x too large."""
    with NetFtEmulator(lambda: WRENCH, counts_per_force=1e6, counts_per_torque=1e9) as emu:
        d = driver_for(emu, counts_per_force=1e6, counts_per_torque=1e6).start()
        try:
            out = WrenchSample()
            d.read(out)
            np.testing.assert_allclose(out.wrench[3:], WRENCH[3:] * 1000, rtol=1e-6)
        finally:
            d.close()


def test_lost_packets_are_counted_as_sequence_gaps(paced):
    d = start_paced(paced)
    try:
        emit(paced, 5)
        paced.drop(3)
        emit(paced, 3 + 4)
        assert wait_until(lambda: d.stats.samples >= 10)
        assert d.stats.sequence_gaps == 3
    finally:
        d.close()


def test_sequence_rollover_is_not_a_gap():
    emu = NetFtEmulator(lambda: WRENCH, paced=True, first_sequence=2**32 - 3).start()
    try:
        d = start_paced(emu)
        emit(emu, 8)  # crosses 2^32 -> 0
        assert wait_until(lambda: d.stats.samples >= 9)
        assert d.stats.sequence_gaps == 0 and d.stats.device_resets == 0
        assert d.last_sequence == 5
        d.close()
    finally:
        emu.close()


def test_status_word_errors_are_counted_and_not_used(paced):
    d = start_paced(paced)
    try:
        emit(paced, 2)
        assert wait_until(lambda: d.stats.samples >= 3)
        seq = d.seq
        paced.status_error(0x80000012, n=4)
        emit(paced, 4, wrench=WRENCH * 100)  # the bad records carry nonsense
        emit(paced, 1)
        assert d.wait_for_sample(seq + 1, WAIT_S)
        time.sleep(0.05)
        assert d.stats.status_errors == 4 and d.stats.last_status_word == 0x80000012
        assert d.seq == seq + 1  # none of the 4 bad records became a sample
        out = WrenchSample()
        d.read(out)
        np.testing.assert_allclose(out.wrench, WRENCH, atol=1e-6)
    finally:
        d.close()


def test_short_datagrams_and_late_duplicates_are_rejected(paced):
    d = start_paced(paced)
    try:
        emit(paced, 2)
        paced.truncate(2)
        paced.duplicate(3)
        emit(paced, 5)
        assert wait_until(lambda: d.stats.out_of_order == 3)
        assert d.stats.bad_packets == 2
        assert d.stats.sequence_gaps == 2  # the truncated records' numbers were skipped
    finally:
        d.close()


def test_software_bias_request_zeroes_the_reading():
    with NetFtEmulator(lambda: WRENCH) as emu:
        d = driver_for(emu).start()
        try:
            d.bias()
            assert wait_until(lambda: emu.stats.biases == 1)
            assert d.wait_for_sample(d.seq + 5, WAIT_S)
            out = WrenchSample()
            d.read(out)
            np.testing.assert_allclose(out.wrench, 0.0, atol=1e-6)
        finally:
            d.close()


def test_a_stall_is_detected_and_recovers():
    with NetFtEmulator(lambda: WRENCH, rate_hz=500.0) as emu:
        d = driver_for(emu, rate_hz=500.0).start()
        try:
            emu.stall(0.3)
            assert wait_until(lambda: d.stats.stalls >= 1)
            seq = d.seq
            assert d.wait_for_sample(seq + 20, WAIT_S)
            assert d.stats.sequence_gaps > 0  # records produced during the stall were lost
            assert d.status() is LinkStatus.STREAMING
        finally:
            d.close()


def test_a_sensor_restart_is_detected_and_the_stream_restarted():
    """The restarted sensor forgets its client and restarts its sequence: the driver
    re-sends the start request and accepts the sequence jumping back."""
    with NetFtEmulator(lambda: WRENCH, rate_hz=500.0) as emu:
        d = driver_for(emu, rate_hz=500.0).start()
        try:
            assert d.wait_for_sample(200, WAIT_S)  # well past the reorder window
            emu.reset(boot_s=0.2)
            assert wait_until(lambda: d.stats.device_resets == 1)
            seq = d.seq
            assert d.wait_for_sample(seq + 20, WAIT_S)
            assert d.stats.restarts >= 1 and emu.stats.resets == 1
        finally:
            d.close()


def test_a_newer_client_takes_the_stream_over(paced):
    # the first client's clock stands still, so it never re-sends a start and takes back
    first = start_paced(paced, clock=ManualClock())
    second = start_paced(paced)
    emit(paced, 5)
    assert second.wait_for_sample(6, WAIT_S)
    assert first.seq == 1 and paced.stats.clients == 2


def test_no_sensor_gives_one_clear_error():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))  # a port where nobody answers
    port = s.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(BackendError, match=r"no RDT record after 10 start requests"):
            AtiNetFt("127.0.0.1", port=port).start()
        assert time.monotonic() - t0 < 30.0  # bounded, not hanging
    finally:
        s.close()


def test_bad_counts_per_unit_are_refused():
    with pytest.raises(ValueError, match="counts per force"):
        AtiNetFt("127.0.0.1", counts_per_force=0.0)
