"""Real F/T drivers in the simulated loop (``sim.ft_transport``): the pybullet cell's
wrench is served by the FT 300 emulator (pty) or the Net F/T emulator (UDP) and read back
through the real driver into the force controller, at the sensor's rate in simulated
time. The demo completes a scan this way."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hardware_drivers.netft_rdt import AtiNetFt
from hardware_drivers.robotiq_ft300 import RobotiqFt300
from robot_us.cli import main
from robot_us.config import load_config
from robot_us.core.backends import CELLS
from robot_us.core.config_schema import ConfigError
from robot_us.core.types import WrenchSample
from robot_us.perception_files import save_stroke
from robot_us.sim_ft_transport import EmulatedFtLink
from tests.scan_helpers import DEMO_IDEAL_CYLINDER, short_config, stroke_on_skin


class SimClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class CountingSource:
    """A 'simulated sensor' whose wrench is its read count."""

    rate_hz = 1000.0

    def __init__(self) -> None:
        self.n = 0

    def read(self, out: WrenchSample) -> bool:
        self.n += 1
        out.wrench[:] = self.n
        return True


class RecordingDriver:
    wire_time_s = 0.005
    seq = 0

    def wait_for_sample(self, seq, timeout):
        return True


def test_link_samples_at_the_device_rate_and_delivers_after_the_wire_time():
    clock, delivered = SimClock(), []
    link = EmulatedFtLink(
        CountingSource(), lambda w: delivered.append((clock.t, w[0])) or True,
        RecordingDriver(), clock, rate_hz=100.0,
    )  # fmt: skip
    for k in range(1, 51):  # 50 ms at 1 kHz
        clock.t = k * 1e-3
        link.after_step()
    times = [round(t * 1e3) for t, _ in delivered]
    assert times == [5, 15, 25, 35, 45]  # sampled at 0, 10, ... delivered 5 ms later
    assert [w for _, w in delivered] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert link.stats.delivered == 5 and link.stats.late == 0


@pytest.mark.parametrize(
    ("transport", "driver_type", "rate"),
    [("robotiq-ft300-emulated", RobotiqFt300, 100.0), ("ati-netft-emulated", AtiNetFt, 1000.0)],
)
def test_the_controller_reads_the_simulated_wrench_through_the_real_driver(
    transport, driver_type, rate
):
    cfg = load_config(overrides={"sim.ft_transport": transport, "safety.wrench_timeout": 0.04})
    cell = CELLS.create("sim", cfg)
    try:
        assert isinstance(cell.wrench, driver_type) and cell.wrench.rate_hz == rate
        truth = cell.sim  # the world: compare with its noiseless sensor reading
        sample = WrenchSample()
        for _ in range(200):  # 0.2 s, the probe hanging in free space
            cell.step_plant()
        assert cell.wrench.read(sample)
        assert cell.ft_link.stats.delivered == pytest.approx(0.2 * rate, abs=2)
        assert cell.ft_link.stats.late == 0 and cell.wrench.stats.crc_errors == 0
        # the reading is the simulated sensor's (bias + weight + noise), quantised
        bias = np.array(cfg.sim.ft.bias)
        assert np.all(np.abs(sample.wrench - bias) < 5.0)
        assert sample.age <= 1.0 / rate + cell.wrench.wire_time_s + 1.5e-3
        assert truth.t == pytest.approx(0.2)
    finally:
        cell.close()


def test_the_direct_simulated_sensor_reports_the_age_of_its_sample():
    cfg = load_config(overrides={"sim.ft.rate_hz": 250.0})
    cell = CELLS.create("sim", cfg)
    try:
        assert type(cell.wrench).__name__ == "SimFtSensor"  # sim.ft_transport = "direct"
        sample = WrenchSample()
        for _ in range(11):
            cell.step_plant()
            cell.wrench.read(sample)
            assert sample.age == pytest.approx(cell.sim.t - sample.t)
            assert 0.0 <= sample.age < 1.0 / 250.0
    finally:
        cell.close()


def test_ft300_transport_refuses_a_wrench_timeout_it_cannot_meet():
    cfg = load_config(overrides={"sim.ft_transport": "robotiq-ft300-emulated"})
    with pytest.raises(ConfigError, match=r"safety.wrench_timeout = 20 ms .* \(28.3 ms\)"):
        CELLS.create("sim", cfg)


@pytest.mark.slow
def test_demo_completes_a_scan_through_the_emulated_ft300(tmp_path, capsys):
    cfg = short_config()
    stroke = tmp_path / "stroke.json"
    save_stroke(stroke, stroke_on_skin(cfg, (0.0, 0.0), (0.0, 0.03)))
    toml = tmp_path / "short.toml"
    toml.write_text("[trajectory]\nstandoff = 0.02\n")
    out = tmp_path / "out"
    args = [
        "demo",
        *DEMO_IDEAL_CYLINDER,
        "--out",
        str(out),
        "--stroke",
        str(stroke),
        "--config",
        str(toml),
    ]
    args += ["--ft-transport", "robotiq-ft300-emulated", "--no-pictures", "--quiet"]
    assert main(args) == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    line = next(s for s in text.splitlines() if "F/T transport" in s)
    assert "robotiq-ft300-emulated" in line and "100 Hz through the real driver" in line
    assert " 0 CRC errors" in line and " 0 late" in line
    rep = json.loads((out / "report.json").read_text())
    assert rep["result"] == "done"
    assert rep["force"]["rms_error_N"] < 0.3
