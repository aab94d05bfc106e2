"""The console's connection to the robot-side server: the protocol client, run so that the
user interface never waits on the network.

- Commands run on a worker thread (one at a time, in order); their results come back to
  the GUI thread as a callback. The E-stop has a thread of its own, so it never queues
  behind a command that is waiting for a reply.
- The link is *up* while the command connection is established, the server has answered
  ``hello`` and a state arrived within ``LINK_TIMEOUT``; otherwise it is *down* (the
  window shows the banner at the next refresh and disables every control but the E-stop).
- Reconnection is the client's: its sockets reconnect by themselves and it says ``hello``
  again when the server no longer knows it. When the link comes back the console sends a
  pending E-stop first, then says hello and takes control again if it held control when
  the link went down.
- The force along the probe axis of every state is kept in a bounded history (the state
  callback runs on the client's I/O thread: it only copies three numbers under a lock).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from robot_us.protocol import messages as m
from robot_us.protocol.client import (
    Client,
    FrameSample,
    NotConnectedError,
    RemoteError,
    RequestTimeoutError,
    StateSample,
)
from robot_us.protocol.errors import ErrorCode, ProtocolError
from robot_us.protocol.security import ClientKeys

#: No state for this long (s) and the link counts as down.
LINK_TIMEOUT = 0.5
#: Reply timeout of the console's commands (s); a snapshot may take longer.
COMMAND_TIMEOUT = 2.0
SNAPSHOT_TIMEOUT = 5.0
#: Shortest interval between two automatic attempts to take control (s).
RETAKE_S = 1.0
#: Force samples kept for the plot (at a 1 kHz state rate: 20 s).
FORCE_HISTORY = 20000

#: What the console tells the operator for an error it could not send or that timed out.
CONNECTION_ERRORS = (NotConnectedError, RequestTimeoutError)


class ForceHistory:
    """Time (local clock, s), force and set-point (N) of recent states, oldest first;
    fixed-size arrays written by the client's I/O thread, read by the GUI."""

    def __init__(self, size: int = FORCE_HISTORY) -> None:
        self._data = np.full((size, 3), np.nan)
        self._n = 0
        self._lock = threading.Lock()

    def push(self, t: float, force: float, setpoint: float) -> None:
        """Add one sample (called for every state)."""
        with self._lock:
            row = self._data[self._n % len(self._data)]
            row[0], row[1], row[2] = t, force, setpoint
            self._n += 1

    def recent(self, seconds: float, now: float) -> np.ndarray:
        """The samples of the last ``seconds`` (K x 3: t - now, force, set-point)."""
        with self._lock:
            n = min(self._n, len(self._data))
            start = self._n % len(self._data) if self._n > len(self._data) else 0
            data = np.roll(self._data, -start, axis=0)[:n].copy()
        data[:, 0] -= now
        return data[data[:, 0] >= -seconds]


def describe(exc: BaseException) -> str:
    """One line for the operator about a command that failed."""
    if isinstance(exc, RemoteError):
        if exc.code is ErrorCode.BUSY:
            return "another console holds control"
        if exc.code is ErrorCode.NOT_IN_CONTROL:
            return "this console does not hold control"
        return exc.message if not exc.reason else f"{exc.message} ({exc.reason})"
    if isinstance(exc, NotConnectedError):
        return "no connection to the server"
    if isinstance(exc, RequestTimeoutError):
        return "the server did not answer"
    if isinstance(exc, ProtocolError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


class ConsoleLink(QObject):
    """The console's client (see the module docstring). Call ``poll()`` from a GUI timer."""

    link_changed = Signal(bool)  # up
    welcome_changed = Signal(object)  # m.Welcome
    event_received = Signal(object)  # m.Event
    message = Signal(str, bool)  # one line for the operator, is it an error

    def __init__(
        self,
        url: str,
        *,
        name: str = "console",
        keys: ClientKeys | None = None,
        take_control: bool = True,
    ) -> None:
        super().__init__()
        self.client = Client(url, name=name, keys=keys, timeout=COMMAND_TIMEOUT)
        self.force = ForceHistory()
        self.client.on_state = self._on_state
        self.want_control = take_control  # take control when the link comes (back) up
        self.up = False
        self.estop_pending: str | None = None
        self.estops_sent = 0
        self._estop_busy = False
        self._hello_busy = False
        self._taking = False
        self._last_take = -math.inf
        self._welcome: m.Welcome | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="console-commands")
        self._estop_pool = ThreadPoolExecutor(1, thread_name_prefix="console-estop")
        # results of commands, run on the GUI thread by poll() (no cross-thread signals)
        self._done: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    # --- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        """Open the connection (returns at once; the link comes up when the server answers)."""
        self._hello_busy = True
        self._pool.submit(self._first_hello)

    def _first_hello(self) -> None:
        try:
            self.client.connect(timeout=COMMAND_TIMEOUT)
        except (*CONNECTION_ERRORS, RemoteError):
            pass  # the server is not there yet: poll() says hello again when it is
        finally:
            self._hello_busy = False

    def close(self) -> None:
        """Release control (if held and the link is up) and close the connection."""
        if self.up and self.client.in_control:
            try:
                self.client.release_control()
            except (*CONNECTION_ERRORS, RemoteError):
                pass  # the server's deadman takes control away without us
        # queued commands are dropped; one in flight ends within its reply timeout
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._estop_pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    # --- the state of the link ---------------------------------------------------------

    @property
    def state(self) -> m.State | None:
        """The newest state, or None."""
        sample = self.client.latest_state()
        return None if sample is None else sample.state

    @property
    def state_sample(self) -> StateSample | None:
        """The newest state with its arrival time and latency."""
        return self.client.latest_state()

    @property
    def frame(self) -> FrameSample | None:
        """The newest ultrasound frame."""
        return self.client.latest_frame()

    @property
    def welcome(self) -> m.Welcome | None:
        """The server's newest welcome (limits, rates), or None before the first."""
        return self.client.welcome

    @property
    def in_control(self) -> bool:
        """This console holds control (as far as the newest reply and state say)."""
        return self.up and self.client.in_control

    def poll(self) -> None:
        """Update the link state, deliver events, retry what waits for the link."""
        sample = self.client.latest_state()
        fresh = sample is not None and time.time() - sample.t_local < LINK_TIMEOUT
        connected = self.client.connected.is_set()
        up = connected and fresh and self.client.welcome is not None
        if self.estop_pending is not None and connected:
            self._send_estop()
        if connected and self.client.welcome is None and not self._hello_busy:
            self._hello_busy = True
            self._pool.submit(self._hello)
        if up != self.up:
            self.up = up
            self.link_changed.emit(up)
        self._keep_control()
        welcome = self.client.welcome
        if welcome is not None and welcome is not self._welcome:
            self._welcome = welcome
            self.welcome_changed.emit(welcome)
        for event in self.client.events():
            self.event_received.emit(event)
        while True:
            try:
                deliver = self._done.get_nowait()
            except queue.Empty:
                break
            deliver()

    def _keep_control(self) -> None:
        """Take control when this console wants it and nobody holds it: at start, when the
        link is back, after the server's deadman took it (a stalled heartbeat)."""
        st = self.state
        if not self.up or not self.want_control or self.client.in_control or st is None:
            return
        now = time.monotonic()
        if st.controller is None and not self._taking and now - self._last_take > RETAKE_S:
            self._last_take = now
            self.take_control(quiet=True)

    def _hello(self) -> None:
        try:
            self.client.hello()
        except (*CONNECTION_ERRORS, RemoteError):
            pass  # tried again at the next poll
        finally:
            self._hello_busy = False

    def _on_state(self, sample: StateSample) -> None:
        self.force.push(sample.t_local, sample.state.force, sample.state.force_setpoint)

    # --- commands ------------------------------------------------------------------------

    def run(
        self,
        what: str,
        call: Callable[[Client], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Future:
        """Run ``call(client)`` on the command thread; ``on_done(result)`` or
        ``on_error(exc)`` (default: a message naming ``what``) run on the GUI thread at the
        next ``poll()``."""

        def report(exc: BaseException) -> None:
            self.message.emit(f"{what}: {describe(exc)}", True)

        def job() -> None:
            try:
                result = call(self.client)
            except (*CONNECTION_ERRORS, ProtocolError) as exc:
                handler = on_error or report
                self._done.put(lambda e=exc: handler(e))
                return
            if on_done is not None:
                self._done.put(lambda: on_done(result))

        return self._pool.submit(job)

    def take_control(self, quiet: bool = False) -> None:
        """Ask for control; ``busy`` is reported (this console then observes)."""
        self.want_control = True
        self._taking = True

        def done(reply: m.Control) -> None:
            self._taking = False
            if not quiet or not reply.you:
                self.message.emit("this console has control" if reply.you else "observing", False)

        def failed(exc: BaseException) -> None:
            self._taking = False
            text = describe(exc)
            if isinstance(exc, RemoteError) and exc.code is ErrorCode.BUSY:
                self.want_control = False  # another console holds it: observe
                holder = self.state.controller if self.state is not None else None
                text = f"{holder} holds control" if holder else text
            self.message.emit(f"take control: {text}; observing", True)

        def call(c: Client) -> m.Control:
            try:
                return c.take_control()
            except RemoteError as exc:
                if exc.reason != "hello_required":
                    raise
                c.hello()  # a restarted server does not know this console yet
                return c.take_control()

        self.run("take control", call, done, failed)

    def release_control(self) -> None:
        """Give control back (the probe stops and holds); the console observes."""
        self.want_control = False
        self.run("release control", lambda c: c.release_control())

    def estop(self, reason: str = "operator E-stop (console)") -> None:
        """Emergency stop: sent at once, or as soon as the link is back."""
        self.estop_pending = reason
        self._send_estop()

    def _send_estop(self) -> None:
        if self._estop_busy or self.estop_pending is None:
            return
        self._estop_busy = True
        reason = self.estop_pending

        def job() -> None:
            try:
                self.client.estop(reason)
                self.estops_sent += 1
                if self.estop_pending == reason:
                    self.estop_pending = None
            except (*CONNECTION_ERRORS, ProtocolError):
                pass  # still pending: poll() sends it again when the link is back
            finally:
                self._estop_busy = False

        self._estop_pool.submit(job)
