"""Teleoperation from the console: a stream of probe-frame twists while the deadman is held.

Real-time contract. While the deadman (key or button) is held and this console holds
control, a twist is sent every ``1 / JOG_HZ`` s (fire and forget), each valid for
``JOG_HOLD`` s on the server: the velocity of the jog directions held at that moment,
scaled by the jog speed (a fraction of the server's teleop limits). Releasing the
deadman stops the stream and sends one zero twist, so the probe stops at once (and
within ``JOG_HOLD`` if that twist is lost). Losing the window's focus or the link counts
as a release. Force control keeps the contact along the probe axis throughout (the
protocol has no z velocity); the force set-point is set separately.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from gui.link import ConsoleLink
from robot_us.protocol import messages as m

#: Twist stream rate (Hz) and how long each twist applies (s).
JOG_HZ = 50.0
JOG_HOLD = 0.1
#: Jog axes: name -> (twist field, linear or angular).
AXES: dict[str, tuple[str, bool]] = {
    "x": ("vx", True),  # slide along the transducer array
    "y": ("vy", True),  # slide across it (elevation)
    "tilt_x": ("wx", False),
    "tilt_y": ("wy", False),
    "rotate": ("wz", False),
}
#: Default jog speed as a fraction of the server's teleop limits.
DEFAULT_SPEED = 0.5


class Jog(QObject):
    """The deadman, the held jog directions and the twist stream (module docstring)."""

    streaming_changed = Signal(bool)

    def __init__(self, link: ConsoleLink) -> None:
        super().__init__()
        self.link = link
        self.speed = DEFAULT_SPEED
        self.deadman = False
        self.directions: dict[str, int] = dict.fromkeys(AXES, 0)
        self.twists_sent = 0
        self._timer = QTimer(self)
        self._timer.setInterval(round(1000.0 / JOG_HZ))
        self._timer.timeout.connect(self._send)

    @property
    def streaming(self) -> bool:
        """Twists are being sent."""
        return self._timer.isActive()

    def press_deadman(self) -> None:
        """Deadman held: enter teleoperation if needed and start the stream."""
        if self.deadman:
            return
        self.deadman = True
        if not self.link.in_control:
            self.link.message.emit("jog: this console does not hold control", True)
            return
        state = self.link.state
        if state is not None and state.teleop:
            self._start_stream()
        else:  # twists are refused until teleoperation has started
            self.link.run("teleoperation", lambda c: c.teleop_start(), self._start_stream)

    def _start_stream(self, _: object = None) -> None:
        if self.deadman and self.link.in_control and not self._timer.isActive():
            self._timer.start()
            self.streaming_changed.emit(True)

    def release_deadman(self) -> None:
        """Deadman released: stop the stream and the probe."""
        if not self.deadman:
            return
        self.deadman = False
        if self._timer.isActive():
            self._timer.stop()
            self.streaming_changed.emit(False)
            if self.link.in_control:
                self._twist(m.TeleopTwist(hold=JOG_HOLD))

    def set_direction(self, axis: str, sign: int) -> None:
        """Hold (+1 / -1) or release (0) a jog direction."""
        self.directions[axis] = sign

    def twist(self) -> m.TeleopTwist:
        """The twist of the directions held now (m/s, rad/s)."""
        welcome = self.link.welcome
        lin = welcome.limits.teleop_linear_max if welcome else 0.0
        ang = welcome.limits.teleop_angular_max if welcome else 0.0
        fields = {
            name: self.speed * sign * (lin if linear else ang)
            for axis, (name, linear) in AXES.items()
            if (sign := self.directions[axis])
        }
        return m.TeleopTwist(hold=JOG_HOLD, **fields)

    def _send(self) -> None:
        if not (self.deadman and self.link.in_control):
            self.release_deadman()
            return
        self._twist(self.twist())

    def _twist(self, t: m.TeleopTwist) -> None:
        try:
            self.link.client.teleop_twist(t.vx, t.vy, t.wx, t.wy, t.wz, hold=t.hold)
        except ConnectionError:
            return  # the link is down: the server's hold time stops the probe
        self.twists_sent += 1
