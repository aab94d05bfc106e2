"""Configuration of the robot-side server (``[server]``): teleoperation limits, the
deadman, validity horizons, the published streams and the recording of a session. Read
once when the server and its processes start."""

from __future__ import annotations

from dataclasses import dataclass

from robot_us.core.config_schema import ConfigError, param

#: What the probe does when the controlling client's heartbeat stops.
DEADMAN_ACTIONS = ("hold", "retract")


@dataclass(frozen=True)
class ServerConfig:
    """The server's rules and limits (sent to every client in ``welcome.limits``)."""

    deadman_ms: float = param(
        100.0,
        lo=20.0,
        hi=5000.0,
        unit="ms",
        doc="the controller loses control this long after its last fresh heartbeat",
    )
    deadman_action: str = param(
        "hold",
        choices=DEADMAN_ACTIONS,
        doc="on deadman or release: stop and hold contact, or stop and retract",
    )
    teleop_linear_max: float = param(
        0.02, lo=0.001, hi=0.1, unit="m/s", doc="teleoperation: largest sliding speed"
    )
    teleop_angular_max: float = param(
        0.3, lo=0.01, hi=2.0, unit="rad/s", doc="teleoperation: largest tilt / rotation rate"
    )
    twist_hold_max: float = param(
        0.1,
        lo=0.01,
        hi=1.0,
        unit="s",
        doc="longest a teleop twist applies (then the probe stops unless a newer one came)",
    )
    teleop_max_lag: float = param(
        0.005,
        lo=0.0005,
        hi=0.05,
        unit="m",
        doc="teleop reference kept within this distance of the probe (no wind-up when blocked)",
    )
    max_command_age: float = param(
        5.0,
        lo=0.05,
        hi=60.0,
        unit="s",
        doc="largest validity horizon (ttl) a command may carry",
    )
    force_min: float = param(
        1.0, lo=0.0, hi=30.0, unit="N", doc="smallest force set-point a client may set"
    )
    force_max: float = param(
        15.0,
        lo=0.5,
        hi=30.0,
        unit="N",
        doc="largest force set-point a client may set (below safety.force_soft_limit)",
    )
    speed_min: float = param(
        0.001, lo=0.0001, hi=0.1, unit="m/s", doc="slowest sweep speed a client may plan"
    )
    speed_max: float = param(
        0.03, lo=0.001, hi=0.1, unit="m/s", doc="fastest sweep speed a client may plan"
    )
    speed_override_max: float = param(
        1.0, lo=0.1, hi=1.0, doc="largest speed override (fraction of the planned speed)"
    )
    max_stroke_points: int = param(
        2000, lo=2, hi=2000, unit="points", doc="most pixels a stroke may have"
    )
    state_decimation: int = param(
        1,
        lo=1,
        hi=1000,
        unit="cycles",
        doc="publish the state every this many control cycles (1 = the loop rate)",
    )
    frame_rate_hz: float = param(
        30.0,
        lo=1.0,
        hi=200.0,
        unit="Hz",
        doc="ultrasound frames grabbed, assessed and published per second",
    )
    quality_rate_hz: float = param(
        10.0,
        lo=0.5,
        hi=200.0,
        unit="Hz",
        doc="frames assessed for image quality per second at most (the newest frame each time)",
    )
    frame_size: tuple[int, ...] = param(
        (256, 256),
        length=2,
        lo=0,
        hi=2048,
        unit="px",
        doc="(width, height) of published frames, resized if the source differs (0 = as grabbed)",
    )
    realtime_priority: int = param(
        0,
        lo=0,
        hi=98,
        doc="SCHED_FIFO priority of the server's event loop, below loop.realtime_priority "
        "(0 = normal scheduling; needs CAP_SYS_NICE)",
    )
    imaging_nice: int = param(
        10,
        lo=0,
        hi=19,
        doc="the imaging process runs this much nicer (lower priority) than the control process",
    )
    startup_timeout: float = param(
        120.0,
        lo=5.0,
        hi=600.0,
        unit="s",
        doc="longest the control and imaging processes may take to start",
    )

    def validate(self, prefix: str) -> None:
        """Cross-key checks (called by the config loader)."""
        if self.force_min > self.force_max:
            raise ConfigError(
                f"config key '{prefix}.force_min' ({self.force_min} N) must not exceed "
                f"'{prefix}.force_max' ({self.force_max} N)"
            )
        if self.speed_min > self.speed_max:
            raise ConfigError(
                f"config key '{prefix}.speed_min' ({self.speed_min} m/s) must not exceed "
                f"'{prefix}.speed_max' ({self.speed_max} m/s)"
            )


def check_server_limits(server: ServerConfig, force_soft_limit: float, loop_priority: int) -> None:
    """The largest force a client may set lies below the safety soft limit; the server's
    event loop never outranks the control loop (raises ``ConfigError``)."""
    if server.realtime_priority > 0 and server.realtime_priority >= max(loop_priority, 1):
        raise ConfigError(
            f"config key 'server.realtime_priority' ({server.realtime_priority}) must be below "
            f"'loop.realtime_priority' ({loop_priority}): the control loop comes first"
        )
    if not server.force_max < force_soft_limit:
        raise ConfigError(
            f"config key 'server.force_max' ({server.force_max} N) must be below "
            f"'safety.force_soft_limit' ({force_soft_limit} N)"
        )
