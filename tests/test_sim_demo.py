"""``robot-us demo`` (first form) runs headless: approach, hold the set force, retract,
print figures and write report.json; bad arguments are errors naming the cause."""

import json

import pytest

from robot_us.cli import main


@pytest.mark.slow
def test_demo_holds_the_set_force(tmp_path, capsys):
    assert main(["demo", "--hold", "1.5", "--force", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "force RMS error" in out and "real-time factor" in out
    rep = json.loads((tmp_path / "report.json").read_text())
    f = rep["figures"]
    assert f["force_setpoint_N"] == 4.0
    assert f["force_mean_N"] == pytest.approx(4.0, rel=0.05)
    assert f["force_ft_mean_N"] == pytest.approx(4.0, rel=0.05)
    assert f["contact_overshoot_N"] < 1.0
    # indentation from the sim's ground truth obeys the contact law
    assert f["indentation_mm"] == pytest.approx(f["indentation_law_mm"], rel=0.1)
    assert set(rep["phases_s"]) == {"tare", "transfer", "approach", "hold", "retract"}
    assert rep["phases_s"]["hold"] == pytest.approx(1.5, abs=2e-3)
    assert rep["loop"]["cycles"] > 1500
    assert rep["loop"]["compute_us_p50"] > 0


@pytest.mark.parametrize(
    ("args", "needle"), [(["--force", "50"], "--force"), (["--hold", "0"], "--hold")]
)
def test_demo_rejects_bad_arguments(args, needle, capsys):
    assert main(["demo", *args]) == 1
    assert needle in capsys.readouterr().err
