"""The terminal teleoperation client (``robot-us teleop``): keyboard (or SpaceMouse)
input turned into ``teleop_twist`` rate commands through the protocol client, and a
status screen (force and set-point, controller mode, scan state, faults, who holds
control, link latency). Uses only ``robot_us.protocol.client``.

Deadman: the probe moves only while a motion key is held. A terminal reports key presses,
not releases, so a key counts as held while its auto-repeat keeps coming: for
``FIRST_REPEAT_S`` after the first press (the keyboard's repeat delay) and ``REPEAT_S``
after each repeat. Nothing held -> no twist is sent, and the server stops the probe when
the last one's ``hold`` runs out. With a SpaceMouse, its left button is the deadman.

Keys: w/s slide along the probe's y axis, a/d along x, q/e rotate about the probe axis,
i/k tilt about x, j/l tilt about y; space stops now; t takes control and starts
teleoperation, x stops teleoperation, +/- change the force set-point by ``FORCE_STEP``,
c / r take / release control, E is the E-stop, R resets faults, Q quits (releasing
control).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from robot_us.protocol import messages as m
from robot_us.protocol.client import Client, RemoteError, RequestTimeoutError

#: A key counts as held this long after its first press (s: covers the repeat delay) ...
FIRST_REPEAT_S = 0.6
#: ... and this long after each auto-repeat (s).
REPEAT_S = 0.12
#: Twists per second while a motion key is held.
TWIST_HZ = 50.0
#: Force set-point step of + and - (N).
FORCE_STEP = 0.5
#: Each twist applies this long at most (s; the server clamps to its twist_hold_max).
TWIST_HOLD_S = 0.1

#: Motion keys: key -> (axis index in (vx, vy, wx, wy, wz), sign).
MOTION_KEYS: dict[str, tuple[int, float]] = {
    "d": (0, 1.0),
    "a": (0, -1.0),
    "w": (1, 1.0),
    "s": (1, -1.0),
    "i": (2, 1.0),
    "k": (2, -1.0),
    "l": (3, 1.0),
    "j": (3, -1.0),
    "e": (4, 1.0),
    "q": (4, -1.0),
}


@dataclass
class HeldKeys:
    """Which motion keys are held, from key presses and their auto-repeat (module doc)."""

    first_repeat_s: float = FIRST_REPEAT_S
    repeat_s: float = REPEAT_S
    _until: dict[str, float] = field(default_factory=dict)

    def press(self, key: str, now: float) -> None:
        """A key event at ``now`` (s): a first press or an auto-repeat."""
        held = self._until.get(key, -math.inf) >= now
        self._until[key] = now + (self.repeat_s if held else self.first_repeat_s)

    def release_all(self) -> None:
        """Forget every key (space: stop now)."""
        self._until.clear()

    def twist(
        self, now: float, linear: float, angular: float
    ) -> tuple[float, float, float, float, float] | None:
        """The twist of the keys held at ``now`` (m/s, rad/s at the given speeds), or None
        when no motion key is held (the deadman is released)."""
        v = [0.0] * 5
        held = False
        for key, until in list(self._until.items()):
            if until < now:
                del self._until[key]
                continue
            axis, sign = MOTION_KEYS[key]
            v[axis] += sign * (linear if axis < 2 else angular)
            held = True
        if not held:
            return None
        return v[0], v[1], v[2], v[3], v[4]


def status_lines(
    state: m.State | None, client: Client, message: str, speed: tuple[float, float]
) -> list[str]:
    """The status screen: one string per line."""
    link = client.link.summary()

    def ms(x: float | None) -> str:
        return "-" if x is None else f"{x * 1e3:.1f} ms"

    lines = [
        "robot-us teleop  (w/s a/d slide, q/e rotate, i/k j/l tilt; t start, x stop, "
        "+/- force, c/r control, E e-stop, R reset, Q quit)",
        "",
    ]
    if state is None:
        lines.append("waiting for the state stream ...")
    else:
        sc = state.scan
        you = client.welcome is not None and state.controller == client.welcome.client_id
        lines += [
            f"force        {state.force:6.2f} N   set-point {state.force_setpoint:5.2f} N",
            f"mode         {state.mode:<10s} teleop {'on' if state.teleop else 'off'}",
            f"scan         {sc.state:<10s} {sc.progress * 100:5.1f} %  s {sc.s * 1e3:6.1f} mm",
            f"control      {state.controller or 'nobody'}{' (you)' if you else ''}",
            f"e-stop       {'ENGAGED' if state.estop else 'released'}",
            f"faults       {'; '.join(f.cause for f in state.faults) or 'none'}",
        ]
        if state.loop is not None:
            lo = state.loop
            lines.append(
                f"loop         {lo.rate_hz:6.0f} Hz  compute p99 {lo.compute_us_p99:5.0f} us  "
                f"overruns {lo.overruns}"
            )
    lines += [
        f"link         rtt p50 {ms(link.rtt_p50)}  p99 {ms(link.rtt_p99)}  jitter "
        f"{ms(link.jitter)}  stream latency p50 {ms(link.latency_p50)}  lost {link.lost}",
        f"speed        {speed[0] * 1e3:.0f} mm/s, {speed[1]:.2f} rad/s",
        "",
        message,
    ]
    return lines


class TeleopSession:
    """The client side of a teleoperation session, independent of the terminal: keys in,
    commands out (``key``), twists at ``TWIST_HZ`` (``tick``), the last reply as a
    message for the screen."""

    def __init__(self, client: Client) -> None:
        self.client = client
        limits = client.welcome.limits if client.welcome is not None else None
        self.linear = limits.teleop_linear_max if limits is not None else 0.01
        self.angular = limits.teleop_angular_max if limits is not None else 0.1
        self.held = HeldKeys()
        self.message = "press t to take control and start teleoperation"
        self.quit = False
        self._next_twist = 0.0
        self._external: Callable[[], tuple[float, ...] | None] | None = None
        self._actions: dict[str, Callable[[], None]] = {
            "t": self._start,
            "x": lambda: self._do("teleop stopped", self.client.teleop_stop),
            "c": lambda: self._do("control taken", self.client.take_control),
            "r": lambda: self._do("control released", self.client.release_control),
            "E": lambda: self._do("E-STOP sent", lambda: self.client.estop("teleop console")),
            "R": lambda: self._do("faults reset", self.client.reset_faults),
            "+": lambda: self._force(FORCE_STEP),
            "-": lambda: self._force(-FORCE_STEP),
            " ": self.held.release_all,
            "Q": self._quit,
        }

    def use_input(self, read: Callable[[], tuple[float, ...] | None]) -> None:
        """Take twists from ``read()`` (e.g. a SpaceMouse) instead of the keys."""
        self._external = read

    def key(self, key: str, now: float) -> None:
        """One key event."""
        if key in MOTION_KEYS:
            self.held.press(key, now)
        elif key in self._actions:
            self._actions[key]()

    def tick(self, now: float) -> None:
        """Send the held twist when one is due (nothing held: nothing sent)."""
        if now < self._next_twist:
            return
        self._next_twist = now + 1.0 / TWIST_HZ
        if self._external is not None:
            v = self._external()
        else:
            v = self.held.twist(now, self.linear, self.angular)
        if v is None or not self.client.in_control:
            return
        vx, vy, wx, wy, wz = v
        try:
            self.client.teleop_twist(vx=vx, vy=vy, wx=wx, wy=wy, wz=wz, hold=TWIST_HOLD_S)
        except (RemoteError, RequestTimeoutError, ConnectionError) as exc:
            self.message = f"twist not sent: {exc}"

    def _do(self, done: str, call: Callable[[], object]) -> None:
        try:
            call()
            self.message = done
        except (RemoteError, RequestTimeoutError, ConnectionError) as exc:
            self.message = f"refused: {exc}"

    def _start(self) -> None:
        def start() -> None:
            if not self.client.in_control:
                self.client.take_control()
            self.client.teleop_start()

        self._do("teleoperation started: hold a motion key to move", start)

    def _force(self, step: float) -> None:
        st = self.client.latest_state()
        if st is None:
            return
        lim = self.client.welcome.limits if self.client.welcome is not None else None
        f = st.state.force_setpoint if st.state.force_setpoint > 0 else 5.0
        target = f + step
        if lim is not None:
            target = min(max(target, lim.force_min), lim.force_max)
        self._do(f"force set-point {target:.1f} N", lambda: self.client.set_force(target))

    def _quit(self) -> None:
        if self.client.in_control:
            self._do("control released", self.client.release_control)
        self.quit = True


class SpaceMouseInput:
    """Twists from a 3Dconnexion SpaceMouse (``pyspacemouse``, the ``spacemouse`` extra):
    axes scaled to the speed limits, the left button is the deadman."""

    def __init__(self, linear: float, angular: float) -> None:
        try:
            import pyspacemouse  # optional extra, loaded only when asked for
        except ImportError as exc:
            raise ImportError(
                "the SpaceMouse needs pyspacemouse: pip install -e '.[spacemouse]'"
            ) from exc
        if not pyspacemouse.open():
            raise OSError("no SpaceMouse found (is it plugged in, with hidraw permissions?)")
        self._device = pyspacemouse
        self.linear = linear
        self.angular = angular

    def __call__(self) -> tuple[float, float, float, float, float] | None:
        """The current twist, or None while the deadman button is released."""
        s = self._device.read()
        buttons = getattr(s, "buttons", None) or getattr(s, "button", None) or [0]
        if not buttons[0]:
            return None
        lin, ang = self.linear, self.angular
        return s.x * lin, s.y * lin, s.roll * ang, s.pitch * ang, s.yaw * ang


def run_terminal(session: TeleopSession, refresh_hz: float = 20.0) -> None:
    """The curses screen: keys to ``session``, status drawn at ``refresh_hz``."""
    import curses  # the terminal UI, loaded only by this command

    def main(screen: curses.window) -> None:
        curses.curs_set(0)
        screen.nodelay(True)
        next_draw = 0.0
        while not session.quit:
            now = time.monotonic()
            while True:
                ch = screen.getch()
                if ch == -1:
                    break
                if 0 < ch < 256:
                    session.key(chr(ch), now)
            session.tick(now)
            if now >= next_draw:
                next_draw = now + 1.0 / refresh_hz
                sample = session.client.latest_state()
                lines = status_lines(
                    sample.state if sample is not None else None,
                    session.client,
                    session.message,
                    (session.linear, session.angular),
                )
                screen.erase()
                h, w = screen.getmaxyx()
                for row, line in enumerate(lines[: h - 1]):
                    screen.addnstr(row, 0, line, w - 1)
                screen.refresh()
            time.sleep(0.005)

    curses.wrapper(main)
