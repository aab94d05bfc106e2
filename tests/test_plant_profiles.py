"""Plant profiles (``sim.profile``) and F/T devices (``sim.ft.device``): named bundles of
settings put between the packaged defaults and the user's keys; every key stays
overridable; the packaged defaults are the ideal plant."""

import dataclasses
import typing

import pytest

from robot_us.config import Config, ConfigError, load_config
from robot_us.core.arms import ARMS, arm_model
from sim.config import FtSensorConfig, SimConfig
from sim.ft_devices import FT_DEVICES, ft_device
from sim.profiles import PLANT_PROFILES, plant_profile


def _choices(cls, name):
    return dataclasses.fields(cls)[[f.name for f in dataclasses.fields(cls)].index(name)].metadata[
        "choices"
    ]


def test_config_choices_are_the_registries():
    assert sorted(_choices(SimConfig, "profile")) == PLANT_PROFILES.names()
    assert sorted(_choices(FtSensorConfig, "device")) == FT_DEVICES.names()


def test_ideal_is_the_packaged_default_plant():
    assert load_config().sim == Config().sim
    assert load_config(overrides={"sim.profile": "ideal"}).sim == dataclasses.replace(
        Config().sim, profile="ideal"
    )
    assert plant_profile("ideal").settings == {}
    ideal = ft_device("ideal").settings()
    defaults = Config().sim.ft
    for key, value in ideal.items():
        got = getattr(defaults, key.split(".")[1])
        assert (list(got) if isinstance(got, tuple) else got) == value, key


@pytest.mark.parametrize("name", ["realistic", "harsh"])
def test_profile_sets_its_bundle_and_the_device_sheet(name):
    cfg = load_config(overrides={"sim.profile": name})
    profile = plant_profile(name)
    device = ft_device(profile.settings["ft.device"])
    for key, value in {**device.settings(), **profile.settings}.items():
        section, field = key.split(".")
        got = getattr(getattr(cfg.sim, section), field)
        want = tuple(value) if isinstance(value, list) else value
        assert got == pytest.approx(want), key


def test_harsh_is_at_least_as_bad_as_realistic():
    r = load_config(overrides={"sim.profile": "realistic"}).sim
    h = load_config(overrides={"sim.profile": "harsh"}).sim
    assert h.ft.rate_hz <= r.ft.rate_hz and h.ft.latency >= r.ft.latency
    assert abs(h.ft.drift_rate[2]) >= abs(r.ft.drift_rate[2])
    assert h.actuation.latency_cycles >= 2 and h.actuation.lag >= 0.01
    assert h.phantom.stiffness >= r.phantom.stiffness
    assert h.tissue.rib_stiffness == 10000.0
    assert h.phantom.lateral_friction >= 0.4
    assert h.ft.drift_rate[2] == 0.02


def test_a_key_set_by_the_user_wins_over_profile_and_device(tmp_path):
    cfg = load_config(
        overrides={"sim.profile": "harsh", "sim.ft.latency": 0.004, "sim.phantom.stiffness": 700}
    )
    assert cfg.sim.ft.latency == 0.004
    assert cfg.sim.phantom.stiffness == 700.0
    assert cfg.sim.ft.rate_hz == 100.0  # still the FT 300's
    # the device the user names brings its sheet; the profile's own keys still apply
    cfg = load_config(overrides={"sim.profile": "harsh", "sim.ft.device": "netft"})
    assert cfg.sim.ft.rate_hz == 1000.0 and cfg.sim.ft.range[2] == 400.0
    assert cfg.sim.ft.latency == 0.010  # harsh's transport latency
    # a file sets the profile, an override a key
    f = tmp_path / "plant.toml"
    f.write_text('[sim]\nprofile = "realistic"\n')
    cfg = load_config(f, overrides={"sim.tissue.stiffening": 1.0})
    assert cfg.sim.profile == "realistic" and cfg.sim.tissue.stiffening == 1.0
    assert cfg.sim.ft.device == "ft300"


def test_bad_profile_or_device_names_the_key():
    with pytest.raises(ConfigError, match=r"'sim\.profile' = 'gentle'.*harsh, ideal, realistic"):
        load_config(overrides={"sim.profile": "gentle"})
    with pytest.raises(ConfigError, match=r"'sim\.ft\.device' = 'ft900'"):
        load_config(overrides={"sim.ft.device": "ft900"})
    with pytest.raises(ConfigError, match=r"'sim\.ft\.device' must be a string"):
        load_config(overrides={"sim.ft.device": 3})
    with pytest.raises(ConfigError, match=r"'sim\.tissue\.relaxation'.*sum"):
        load_config(overrides={"sim.tissue.relaxation": [0.6, 0.5]})


def test_every_arm_model_has_an_actuation_profile():
    for name in ARMS.names():
        profile = arm_model(name).actuation
        n = arm_model(name).n_joints
        for field in dataclasses.fields(profile):
            value = getattr(profile, field.name)
            if typing.get_origin(field.type) is tuple or isinstance(value, tuple):
                assert len(value) == n, (name, field.name)
