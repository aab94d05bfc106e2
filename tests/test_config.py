"""Configuration: packaged defaults, overrides, errors naming the key and the range."""

import pytest

from robot_us.config import (
    Config,
    ConfigError,
    commented_defaults,
    default_toml,
    describe_config,
    load_config,
)


def test_packaged_default_matches_code_defaults():
    assert load_config() == Config()
    # the shipped file is exactly what `robot-us config --defaults` generates
    assert default_toml() == commented_defaults()


def test_every_key_documented():
    for key, _default, allowed, doc in describe_config():
        assert doc, f"{key} has no description"
        assert allowed


def test_user_file_overrides_keys(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text('[robot]\nmodel = "lbr"\n[sim.phantom]\nstiffness = 3000\n')
    cfg = load_config(f)
    assert cfg.robot.model == "lbr"
    assert cfg.sim.phantom.stiffness == 3000.0
    assert cfg.sim.phantom.radius == Config().sim.phantom.radius  # untouched


def test_unknown_key_names_the_key(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("[sim.phantom]\nstifness = 3000\n")
    with pytest.raises(ConfigError, match=r"sim\.phantom\.stifness"):
        load_config(f)


def test_a_replaced_key_is_refused_naming_its_replacement(tmp_path):
    f = tmp_path / "old.toml"
    f.write_text("[safety]\nmax_consecutive_overruns = 5\n")
    with pytest.raises(
        ConfigError,
        match=r"^config key 'safety\.max_consecutive_overruns' was replaced by "
        r"'safety\.max_missed_deadlines': it counts loop deadlines missed in a row",
    ):
        load_config(f)
    with pytest.raises(ConfigError, match=r"replaced by 'safety\.max_missed_deadlines'"):
        load_config(overrides={"safety.max_consecutive_overruns": 5})
    cfg = load_config(overrides={"safety.max_missed_deadlines": 19})
    assert cfg.safety.max_missed_deadlines == 19
    assert Config().safety.max_missed_deadlines == 20


def test_out_of_range_names_key_and_range():
    with pytest.raises(ConfigError, match=r"'sim\.ft\.rate_hz'.*\[100\.0, 1000\.0\]"):
        load_config(overrides={"sim.ft.rate_hz": 5000})


def test_bad_choice_lists_choices():
    with pytest.raises(ConfigError, match="panda"):
        load_config(overrides={"robot.model": "ur5"})


def test_wrong_type_and_length():
    with pytest.raises(ConfigError, match="must be a number"):
        load_config(overrides={"probe.mass": "heavy"})
    with pytest.raises(ConfigError, match="3 elements"):
        load_config(overrides={"probe.com": [0.0, 0.0]})


def test_invalid_toml_and_missing_file(tmp_path):
    f = tmp_path / "broken.toml"
    f.write_text("[robot\nmodel=")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(f)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_table_replaced_by_scalar_is_error():
    with pytest.raises(ConfigError, match="must be a table"):
        load_config(overrides={"sim": 3})
