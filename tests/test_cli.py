"""The command line: every subcommand has --help; config prints and validates."""

import subprocess
import sys

import pytest

from robot_us.cli import COMMANDS, main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_config_validates_file(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[loop]\nrate_hz = 5\n")
    assert main(["config", str(bad)]) == 2
    assert "loop.rate_hz" in capsys.readouterr().err


def test_module_entry_point_runs():
    r = subprocess.run(
        [sys.executable, "-m", "robot_us", "config", "--defaults"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "[sim.phantom]" in r.stdout
