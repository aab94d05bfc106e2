"""Configuration: TOML files over a complete default shipped in the package
(``robot_us/default_config.toml``). Unknown keys and out-of-range values are errors naming
the key and its allowed range. Read once at start; never inside the loop."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomli_w

from force_control.config import ForceControlConfig
from hardware_drivers.config import HardwareConfig
from perception.config import PerceptionConfig
from perception.quality.config import QualityConfig
from perception.reconstruction.config import ReconstructionConfig
from robot_us.core.arms import ARMS
from robot_us.core.backends import CELLS, ULTRASOUND_SOURCES
from robot_us.core.config_schema import (
    ConfigError,
    build_section,
    describe,
    param,
    section,
    to_dict,
)
from robot_us.core.probe import ProbeConfig
from robot_us.core.registry import RegistryError
from robot_us.recording.config import RecordingConfig
from robot_us.safety.config import SafetyConfig
from robot_us.scan.config import ScanConfig
from sim.config import SimConfig
from sim.ft_devices import ft_device
from sim.profiles import plant_profile
from sim.ultrasound.config import UltrasoundSimConfig
from trajectory.config import TrajectoryConfig

__all__ = [
    "Config",
    "ConfigError",
    "commented_defaults",
    "default_toml",
    "describe_config",
    "load_config",
]


@dataclass(frozen=True)
class RobotConfig:
    """Which arm and where it starts."""

    model: str = param("panda", choices=ARMS.names(), doc="arm model (robot_us.core.arms.ARMS)")
    q_home: tuple[float, ...] = param(
        (),
        lo=-3.2,
        hi=3.9,
        unit="rad",
        doc="home configuration, camera view clear of the arm ([] = the model's default)",
    )


@dataclass(frozen=True)
class LoopConfig:
    """The control loop runner. There is no mode key: the demo and the tests run in
    lockstep by definition, and a real-time runner chooses real time itself. There is no
    run-wide seed either: every random source has its own seed key (``sim.ft.seed``,
    ``sim.camera.seed``, ``ultrasound.sim.seed``), so a run is reproducible from its
    configuration."""

    rate_hz: float = param(1000.0, lo=100.0, hi=2000.0, unit="Hz", doc="control rate")
    ring_capacity: int = param(
        120_000,
        lo=1000,
        hi=10_000_000,
        unit="cycles",
        doc="state stream ring buffer size (one row per cycle)",
    )
    realtime_priority: int = param(
        0,
        lo=0,
        hi=99,
        doc="SCHED_FIFO priority of a real-time loop (0 = normal scheduling; lockstep ignores it)",
    )


@dataclass(frozen=True)
class CellConfig:
    """Which backend drives the cell."""

    backend: str = param("sim", choices=CELLS.names(), doc="cell backend (CELLS)")


@dataclass(frozen=True)
class UltrasoundConfig:
    """Ultrasound frames: which source delivers them, the simulator and quality assessment."""

    source: str = param(
        "sim", choices=ULTRASOUND_SOURCES.names(), doc="frame source (ULTRASOUND_SOURCES)"
    )
    uri: str = param(
        "",
        doc="video: device index or video file; folder: image directory; npz: frame stack file",
    )
    rate_hz: float = param(
        30.0, lo=1.0, hi=200.0, unit="Hz", doc="frame rate (times of frames without a clock)"
    )
    pixel_spacing: tuple[float, ...] = param(
        (0.0, 0.0),
        length=2,
        lo=0.0,
        hi=0.01,
        unit="m/px",
        doc="(lateral, axial) pixel spacing of real frames (0 = unknown)",
    )
    sim: UltrasoundSimConfig = section(UltrasoundSimConfig)
    quality: QualityConfig = section(QualityConfig)


@dataclass(frozen=True)
class Config:
    """The whole robot-us configuration."""

    cell: CellConfig = section(CellConfig)
    robot: RobotConfig = section(RobotConfig)
    probe: ProbeConfig = section(ProbeConfig)
    loop: LoopConfig = section(LoopConfig)
    sim: SimConfig = section(SimConfig)
    hardware: HardwareConfig = section(HardwareConfig)
    ultrasound: UltrasoundConfig = section(UltrasoundConfig)
    perception: PerceptionConfig = section(PerceptionConfig)
    trajectory: TrajectoryConfig = section(TrajectoryConfig)
    recording: RecordingConfig = section(RecordingConfig)
    force_control: ForceControlConfig = section(ForceControlConfig)
    safety: SafetyConfig = section(SafetyConfig)
    scan: ScanConfig = section(ScanConfig)
    reconstruction: ReconstructionConfig = section(ReconstructionConfig)


def _merge(base: dict, over: dict, prefix: str = "") -> dict:
    out = dict(base)
    for key, value in over.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, full)
        elif isinstance(out.get(key), dict):
            raise ConfigError(f"config key '{full}' must be a table, got {value!r}")
        else:
            out[key] = value
    return out


def default_toml() -> str:
    """The packaged default configuration file (text)."""
    return resources.files("robot_us").joinpath("default_config.toml").read_text()


#: Largest configuration file read (bytes): a configuration is a few kB.
MAX_CONFIG_BYTES = 1 << 20


def _parse_toml(text: str, origin: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{origin}: invalid TOML: nested too deeply") from exc


def _read_config_file(path: Path) -> str:
    """The text of a user configuration file; errors name the file."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {size} bytes is too large for a config file (limit 1 MiB)")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a TOML text file (byte {exc.start} is not UTF-8)") from exc


def _dotted(overrides: dict[str, Any]) -> dict:
    out: dict = {}
    for key, value in overrides.items():
        node = out
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


_MISSING = object()


def _at(data: Any, dotted: str) -> Any:
    """The value at a dotted key of nested tables, or ``_MISSING``."""
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _named(registry_get, dotted: str, user: dict, bundle: dict, defaults: dict):
    """The registry entry named by ``sim.<dotted>``: as the user set it, else as
    ``bundle`` sets it, else the packaged default; a bad name is a ``ConfigError``."""
    name = _at(user, f"sim.{dotted}")
    if name is _MISSING:
        name = bundle.get(dotted, _at(defaults, f"sim.{dotted}"))
    if not isinstance(name, str):
        raise ConfigError(f"config key 'sim.{dotted}' must be a string, got {name!r}")
    try:
        return registry_get(name)
    except RegistryError as exc:
        raise ConfigError(f"config key 'sim.{dotted}' = {name!r}: {exc}") from exc


def _plant_layer(defaults: dict, user: dict) -> dict:
    """What the chosen plant profile (``sim.profile``) and F/T device (``sim.ft.device``)
    put between the packaged defaults and the user's keys: the device's data sheet, the
    profile's bundle over it (``sim/profiles.py``, ``sim/ft_devices.py``)."""
    profile = _named(plant_profile, "profile", user, {}, defaults)
    device = _named(ft_device, "ft.device", user, profile.settings, defaults)
    layer = {**device.settings(), **profile.settings}
    return _dotted({f"sim.{key}": value for key, value in layer.items()})


def load_config(*paths: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """The packaged defaults, then the plant profile's settings (``sim.profile``), then
    each TOML file in order, then ``overrides`` (dotted keys, e.g. ``{"robot.model":
    "lbr"}``), validated into a ``Config``."""
    defaults = _parse_toml(default_toml(), "default_config.toml")
    user: dict = {}
    for p in paths:
        path = Path(p)
        user = _merge(user, _parse_toml(_read_config_file(path), str(path)))
    if overrides:
        user = _merge(user, _dotted(overrides))
    if isinstance(user.get("sim", {}), dict):  # else the merge below names the bad key
        defaults = _merge(defaults, _plant_layer(defaults, user))
    return build_section(Config, _merge(defaults, user), "")


def dump_toml(cfg: Config) -> str:
    """``cfg`` as TOML text (values only)."""
    return tomli_w.dumps(to_dict(cfg))


def _fmt(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def commented_defaults() -> str:
    """The default configuration as commented TOML (each key with its range and meaning)."""
    lines = [
        "# robot-us default configuration (generated by `robot-us config --defaults`).",
        "# Copy the keys you want to change into your own file; unknown keys are errors.",
    ]
    current = None
    for key, default, allowed, doc in describe(Config):
        table, _, name = key.rpartition(".")
        if table != current:
            lines += ["", f"[{table}]"]
            current = table
        lines.append(f"{name} = {_fmt(default)}  # {allowed}: {doc}")
    return "\n".join(lines) + "\n"


def describe_config() -> list[tuple[str, Any, str, str]]:
    """(key, default, allowed, description) for every configuration key."""
    return describe(Config)
