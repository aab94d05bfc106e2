"""No non-finite number may switch a safety layer off: the configuration loader refuses
NaN and infinity for every numeric key (naming it), every safety layer and the supervisor
refuse to be built from one, and the live force / speed requests refuse them."""

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from robot_us.config import Config, load_config
from robot_us.control_cycle import ControlCycle, RequestResult
from robot_us.core.config_schema import ConfigError, describe
from robot_us.core.kinematics import ArmKinematics
from robot_us.safety.config import SafetyConfig
from robot_us.safety.force_ceiling import ForceCeiling
from robot_us.safety.force_rate import ForceRate
from robot_us.safety.joint_position import JointPosition
from robot_us.safety.joint_velocity import JointVelocity
from robot_us.safety.missed_deadlines import MissedDeadlines
from robot_us.safety.supervisor import make_supervisor
from robot_us.safety.tool_speed import ToolSpeed
from robot_us.safety.workspace import Workspace
from robot_us.safety.wrench_staleness import WrenchStaleness
from robot_us.scan.scan import Scan

NAN, INF = math.nan, math.inf


def _float_keys(cls=Config, prefix=""):
    """Every float (or float-vector) key of the configuration with its default."""
    rows = []
    for key, default, _allowed, _doc in describe(cls, prefix):
        values = default if isinstance(default, tuple) else (default,)
        if values and all(isinstance(v, float) for v in values):
            rows.append((key, default))
    return rows


FLOAT_KEYS = _float_keys()


def test_every_float_key_is_covered():
    keys = {k for k, _ in FLOAT_KEYS}
    assert "safety.tool_speed_limit" in keys and "safety.workspace_min" in keys
    assert "force_control.force_setpoint" in keys
    assert "force_control.contact.detect_force" in keys
    assert len(keys) > 50


@pytest.mark.parametrize(("key", "default"), FLOAT_KEYS, ids=[k for k, _ in FLOAT_KEYS])
def test_non_finite_config_value_is_refused_naming_the_key(key, default):
    for bad in (NAN, INF, -INF):
        value = [bad, *default[1:]] if isinstance(default, tuple) else bad
        if isinstance(default, tuple) and not default:
            value = [bad] * 7  # an empty default vector (robot.q_home): a full one
        with pytest.raises(ConfigError, match=r"must be a finite number") as err:
            load_config(overrides={key: value})
        assert key in str(err.value)


def test_non_finite_values_in_a_toml_file_are_refused(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[safety]\nworkspace_min = [0.2, nan, 0.0]\n")
    with pytest.raises(ConfigError, match=r"safety\.workspace_min\[1\]' must be a finite"):
        load_config(p)
    p.write_text("[robot]\nq_home = [0.0, -0.5, 0.0, -2.0, 0.0, 1.5, inf]\n")
    with pytest.raises(ConfigError, match=r"robot\.q_home\[6\]' must be a finite"):
        load_config(p)


LAYERS = {
    "tool speed limit": lambda x: ToolSpeed(x, 1.2),
    "tool speed tolerance": lambda x: ToolSpeed(0.25, x),
    "workspace lower": lambda x: Workspace(np.array([x, -0.5, 0.0]), np.array([1, 0.5, 1]), 0.01),
    "workspace upper": lambda x: Workspace(np.array([0.2, -0.5, 0.0]), np.array([1, x, 1]), 0.01),
    "workspace margin": lambda x: Workspace(np.zeros(3), np.ones(3), x),
    "force soft": lambda x: ForceCeiling(x, 25.0),
    "force hard": lambda x: ForceCeiling(20.0, x),
    "force rate limit": lambda x: ForceRate(x, 0.01, 1e-3),
    "force rate window": lambda x: ForceRate(150.0, x, 1e-3),
    "joint limits": lambda x: JointPosition(np.array([-1.0, x]), np.array([1.0, 1.0]), 0.1, 0.02),
    "joint margin": lambda x: JointPosition(-np.ones(2), np.ones(2), x, 0.02),
    "joint hard margin": lambda x: JointPosition(-np.ones(2), np.ones(2), 0.1, x),
    "joint velocity": lambda x: JointVelocity(np.array([1.0, x]), 1.1),
    "joint velocity tolerance": lambda x: JointVelocity(np.ones(2), x),
    "missed deadlines": lambda x: MissedDeadlines(x),
    "wrench timeout": lambda x: WrenchStaleness(x, 1e-3),
}


@pytest.mark.parametrize("bad", [NAN, INF], ids=["nan", "inf"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_safety_layer_refuses_a_non_finite_parameter(name, bad):
    with pytest.raises(ValueError, match="not a finite number"):
        LAYERS[name](bad)


SAFETY_FLOATS = [f.name for f in dataclasses.fields(SafetyConfig) if f.type in (float, "float")]


def test_safety_float_fields_found():
    assert len(SAFETY_FLOATS) >= 12


@pytest.mark.parametrize("field", SAFETY_FLOATS)
def test_supervisor_refuses_a_config_built_around_the_loader(field):
    """A SafetyConfig made in code (no loader checks) with NaN cannot build a supervisor."""
    cfg = dataclasses.replace(SafetyConfig(), **{field: NAN})
    limits = ArmKinematics("panda").limits
    with pytest.raises(ValueError, match="not a finite number"):
        make_supervisor(cfg, limits, 1e-3)


def test_supervisor_refuses_a_nan_workspace_corner():
    cfg = dataclasses.replace(SafetyConfig(), workspace_min=(NAN, -0.5, 0.0))
    with pytest.raises(ValueError, match="workspace safety layer: lower"):
        make_supervisor(cfg, ArmKinematics("panda").limits, 1e-3)


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_force_setpoint_request_refuses_non_finite(bad):
    cell = SimpleNamespace(estop=None, wrench=SimpleNamespace(latency=0.0))  # only read
    cycle = ControlCycle(load_config(), cell)
    before = cycle.inp.force_setpoint
    assert cycle.set_force(bad) is RequestResult.FORCE_OUT_OF_RANGE
    assert cycle.inp.force_setpoint == before
    assert cycle.set_force(7.0) is RequestResult.OK
    assert cycle.inp.force_setpoint == 7.0


@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_speed_override_request_refuses_non_finite(bad):
    scan = Scan(Config(), SimpleNamespace(dt=1e-3))
    with pytest.raises(ValueError, match="speed override"):
        scan.set_speed(bad)
    assert not scan._commands
