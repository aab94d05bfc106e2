"""The plant the demo and the benchmarks run by default, and the arguments that change it."""

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

from robot_us.config import load_config
from robot_us.plant_choice import (
    DEFAULT_PROFILE,
    DEFAULT_SHAPE,
    add_plant_arguments,
    plant_figures,
    plant_overrides,
)

ROOT = Path(__file__).resolve().parents[1]


def _parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_plant_arguments(p)
    return p.parse_args(list(argv))


def test_defaults_are_the_realistic_torso():
    assert (DEFAULT_PROFILE, DEFAULT_SHAPE) == ("realistic", "torso")
    cfg = load_config(overrides=plant_overrides(_parse()))
    assert (cfg.sim.profile, cfg.sim.phantom.shape) == ("realistic", "torso")
    # the realistic profile's F/T is the FT 300 at its 100 Hz
    assert plant_figures(cfg) == {
        "sim_profile": "realistic",
        "phantom_shape": "torso",
        "ft_device": "ft300",
        "ft_rate_hz": 100.0,
    }


def test_config_leaves_the_configuration_alone():
    assert plant_overrides(_parse("--profile", "config", "--shape", "config")) == {}
    cfg = load_config(overrides=plant_overrides(_parse("--profile", "config", "--shape", "config")))
    assert (cfg.sim.profile, cfg.sim.phantom.shape) == ("ideal", "cylinder")


def test_explicit_choices_pass_through():
    o = plant_overrides(_parse("--profile", "harsh", "--shape", "cylinder"))
    assert o == {"sim.profile": "harsh", "sim.phantom.shape": "cylinder"}


def test_unknown_profile_is_refused():
    with pytest.raises(SystemExit):
        _parse("--profile", "perfect")


def _load_bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT))
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "name", ["loop_timing", "control_stages", "stroke_mapping", "reconstruction"]
)
def test_benchmarks_default_to_the_realistic_torso(name, monkeypatch):
    """Every plant benchmark takes --profile/--shape with the realistic torso as default."""
    mod = _load_bench(name)
    seen = {}

    def fake_parse(self, args=None, namespace=None):
        seen["args"] = argparse.ArgumentParser.parse_known_args(self, [], namespace)[0]
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", fake_parse)
    with pytest.raises(SystemExit):
        mod.main() if name == "stroke_mapping" else mod.main([])
    assert (seen["args"].profile, seen["args"].shape) == ("realistic", "torso")


def test_demo_defaults_to_the_realistic_torso():
    from robot_us.commands import demo

    p = argparse.ArgumentParser()
    demo.add_arguments(p)
    args = p.parse_args([])
    assert plant_overrides(args) == {"sim.profile": "realistic", "sim.phantom.shape": "torso"}
