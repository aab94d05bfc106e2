"""The Robotiq FT 300 driver against the emulated sensor on a pseudo-terminal pair: Modbus
set-up, the stream, byte corruption, lost bytes, garbage, stalls, device resets, the jam
stop, and the age the loop sees. Waits are generous (the machine is shared); nothing
asserts on wall-clock speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hardware_drivers import modbus_rtu as mb
from hardware_drivers.robotiq_emulator import Ft300Emulator
from hardware_drivers.robotiq_frames import FRAME_WIRE_TIME_S, SCALE, encode_frame
from hardware_drivers.robotiq_ft300 import RobotiqFt300
from hardware_drivers.wrench_stream import LinkStatus
from robot_us.core.backends import BackendError
from robot_us.core.types import WrenchSample
from tests.hardware_helpers import WAIT_S, ManualClock, wait_until

WRENCH = np.array([1.25, -2.5, -10.0, 0.5, 0.012, -0.02])


@pytest.fixture
def paced():
    """An emulator that sends a frame only when the test calls ``emit``."""
    emu = Ft300Emulator(paced=True).start()
    yield emu
    emu.close()


def start_driver(emu, **kw) -> RobotiqFt300:
    d = RobotiqFt300(emu.port, **kw)
    d.start(first_sample_timeout=None)  # the test emits the frames
    return d


def emit(emu, driver, n, wrench=WRENCH) -> None:
    for _ in range(n):
        assert emu.emit(wrench)


def test_modbus_setup_identifies_the_sensor_and_starts_the_stream():
    with Ft300Emulator(lambda: WRENCH, serial_number=4321, year=2023) as emu:
        d = RobotiqFt300(emu.port).start()
        try:
            assert d.firmware == "FTS-3.0.4"
            assert d.serial_number == "ROB-4321" and d.production_year == 2023
            out = WrenchSample()
            assert d.wait_for_sample(d.seq + 3, WAIT_S)
            assert d.read(out) and out.seq >= 1
            np.testing.assert_allclose(out.wrench, WRENCH, atol=1e-9)
            assert not d.read(out)  # nothing new since
            assert d.status() is LinkStatus.STREAMING
        finally:
            d.close()
        # the driver stopped the stream a previous run left going (the sensor boots
        # streaming), then stopped it again on close: two jam sequences
        assert wait_until(lambda: emu.stats.jams == 2 and not emu.streaming)


def test_values_are_quantised_like_the_sensor(paced):
    d = start_driver(paced)
    try:
        w = np.array([1.234, -0.005, 400.0, 0.0004, -0.0006, 40.0])  # beyond int16 range too
        emit(paced, d, 1, w)
        assert d.wait_for_sample(1, WAIT_S)
        out = WrenchSample()
        d.read(out)
        expected = np.clip(np.round(w / SCALE), -32768, 32767) * SCALE
        np.testing.assert_allclose(out.wrench, expected, atol=1e-12)
    finally:
        d.close()


@pytest.mark.parametrize("position", [0, 1, 5, 14, 15])
def test_a_corrupted_byte_costs_one_frame(paced, position):
    d = start_driver(paced)
    try:
        emit(paced, d, 5)
        paced.corrupt(1, position=position)
        emit(paced, d, 6)
        assert d.wait_for_sample(10, WAIT_S)
        time.sleep(0.05)
        assert d.seq == 10  # 11 sent, the corrupted one rejected
        if position >= 2:  # header intact: a CRC failure; header hit: bytes discarded
            assert d.parser.crc_errors == 1
        assert d.parser.discarded_bytes >= 1
    finally:
        d.close()


@pytest.mark.parametrize("position", [0, 7, 15])
def test_a_lost_byte_costs_one_frame_and_the_stream_resynchronises(paced, position):
    d = start_driver(paced)
    try:
        emit(paced, d, 3)
        paced.drop_bytes(1, position=position)
        emit(paced, d, 4)
        assert d.wait_for_sample(6, WAIT_S)
        time.sleep(0.05)
        assert d.seq == 6
        out = WrenchSample()
        d.read(out)
        np.testing.assert_allclose(out.wrench, WRENCH, atol=1e-9)
    finally:
        d.close()


def test_garbage_between_frames_is_skipped(paced):
    d = start_driver(paced)
    try:
        emit(paced, d, 2)
        for n in (1, 7, 33, 200):
            paced.garbage(n)
            emit(paced, d, 2)
        assert d.wait_for_sample(10, WAIT_S)
        time.sleep(0.05)
        assert d.seq == 10  # every frame after garbage recovered
        assert d.parser.discarded_bytes >= 200
    finally:
        d.close()


def test_age_is_measured_on_the_driver_clock_including_the_wire_time(paced):
    clock = ManualClock()
    d = start_driver(paced, clock=clock)
    try:
        emit(paced, d, 1)
        assert d.wait_for_sample(1, WAIT_S)
        out = WrenchSample()
        assert d.read(out)
        assert out.age == pytest.approx(FRAME_WIRE_TIME_S)  # measured a wire time ago
        clock.t += 0.05
        assert not d.read(out)
        assert out.age == pytest.approx(0.05 + FRAME_WIRE_TIME_S)
    finally:
        d.close()


def test_before_the_first_sample_the_age_is_infinite(paced):
    d = start_driver(paced)
    try:
        out = WrenchSample()
        assert not d.read(out)
        assert out.age == np.inf and d.status() is LinkStatus.STARTING
    finally:
        d.close()


def test_a_stall_is_detected_and_the_stream_comes_back():
    with Ft300Emulator(lambda: WRENCH) as emu:
        d = RobotiqFt300(emu.port).start()
        try:
            assert d.wait_for_sample(d.seq + 5, WAIT_S)
            emu.stall(0.4)
            assert wait_until(lambda: d.status() in (LinkStatus.SILENT, LinkStatus.INVALID))
            assert wait_until(lambda: d.stats.stalls >= 1)
            before = d.seq
            assert d.wait_for_sample(before + 5, WAIT_S)  # streaming again by itself
            assert d.status() is LinkStatus.STREAMING
            out = WrenchSample()
            d.read(out)
            assert out.age < 0.1
        finally:
            d.close()


def test_a_device_reset_that_boots_quiet_is_restarted_by_the_driver():
    """After a power cycle the emulated sensor stays in Modbus mode; the driver notices
    the silence and re-sends the stream start until frames come back."""
    with Ft300Emulator(lambda: WRENCH, boot_streaming=False) as emu:
        d = RobotiqFt300(emu.port).start()
        try:
            assert d.wait_for_sample(d.seq + 5, WAIT_S)
            requests = emu.stats.requests
            emu.reset(boot_s=0.2)
            assert wait_until(lambda: d.stats.stalls >= 1)
            before = d.seq
            assert d.wait_for_sample(before + 10, WAIT_S)
            assert d.stats.restarts >= 1 and emu.stats.requests > requests
            assert emu.stats.resets == 1
        finally:
            d.close()


def test_usb_latency_timer_bursts_still_deliver_every_frame():
    """The emulated adapter holds bytes for 16 ms: frames arrive in bursts, none lost."""
    with Ft300Emulator(lambda: WRENCH, latency_s=0.016) as emu:
        d = RobotiqFt300(emu.port).start()
        try:
            start = d.seq
            assert d.wait_for_sample(start + 50, WAIT_S)
            assert d.parser.crc_errors == 0
        finally:
            d.close()


def test_no_answer_gives_one_clear_error():
    """A port where nothing answers (the emulator powered off for the whole set-up)."""
    with Ft300Emulator() as emu:
        emu.reset(boot_s=30.0)
        with pytest.raises(BackendError, match=r"no valid Modbus reply .* \(check power"):
            RobotiqFt300(emu.port).start()


def test_missing_port_gives_one_clear_error(tmp_path):
    with pytest.raises(BackendError, match="cannot open the port"):
        RobotiqFt300(str(tmp_path / "ttyUSB9")).start()


def test_a_device_that_is_not_an_ft_sensor_is_refused():
    with Ft300Emulator() as emu:
        emu.registers[500] = ord("G") << 8 | ord("R")  # a gripper answers on slave 9
        with pytest.raises(BackendError, match="not an FT sensor"):
            RobotiqFt300(emu.port).start()


def test_emulator_refuses_unknown_registers_with_an_exception_reply():
    emu = Ft300Emulator()
    reply = emu._reply(mb.Request(9, mb.READ_HOLDING_REGISTERS, 1000, 2))
    with pytest.raises(mb.ModbusError, match="exception reply"):
        mb.parse_read_reply(reply, 9, 2)


def test_stream_frame_matches_the_documented_example():
    frame = encode_frame(np.array([1.0, 0.0, -10.0, 0.5, 0.0, 0.0]))
    assert frame.hex(" ") == "20 4e 64 00 00 00 18 fc f4 01 00 00 00 00 07 f1"
