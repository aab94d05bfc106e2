"""SIGINT and SIGTERM during a scan act like the operator's abort.

The first signal posts ``Scan.abort`` (the scan retracts from the skin, records the abort
event and ends ``aborted``; the runner then writes the report and closes the recording).
A second signal forces a quicker stop: the arm is stopped where it is and the run ends
after the current cycle, still with the report (result ``aborted``) and a closed
recording. A third gives up on an orderly end (``KeyboardInterrupt``; the recorder is
still closed by the runner's clean-up).

The handlers only count (a signal handler must not touch the scan's state mid-cycle);
``after_step``, called by the lockstep runner between cycles, applies what was counted.
Handlers can only be installed from the main thread; elsewhere ``install`` does nothing.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

#: Signals treated as an operator's abort.
ABORT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
#: Signals after which the handler raises ``KeyboardInterrupt`` instead of counting.
GIVE_UP_AFTER = 2


class SignalAbort:
    """Counts SIGINT / SIGTERM while installed; ``after_step(runner)`` turns them into the
    scan's abort (first) and a forced stop (second). Use as a context manager."""

    def __init__(self, signals: tuple[signal.Signals, ...] = ABORT_SIGNALS) -> None:
        self.signals = signals
        self.count = 0
        self.first: signal.Signals | None = None
        self._applied = 0
        self._previous: dict[signal.Signals, Any] = {}

    # -- installation ---------------------------------------------------------------------
    def install(self) -> SignalAbort:
        """Install the handlers (main thread only), remembering the previous ones."""
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def restore(self) -> None:
        """Put the previous handlers back."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def __enter__(self) -> SignalAbort:
        return self.install()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.count >= GIVE_UP_AFTER:
            raise KeyboardInterrupt
        self.count += 1
        if self.first is None:
            self.first = signal.Signals(signum)

    # -- applied between cycles -----------------------------------------------------------
    @property
    def interrupted(self) -> bool:
        """True once a signal arrived."""
        return self.count > 0

    @property
    def exit_code(self) -> int:
        """128 + the first signal's number (the shell's convention), 0 if none arrived."""
        return 128 + int(self.first) if self.first is not None else 0

    @property
    def name(self) -> str:
        """Name of the first signal (e.g. ``SIGTERM``)."""
        return self.first.name if self.first is not None else ""

    def after_step(self, runner: Any) -> None:
        """The runner's between-cycles hook: abort on the first signal, stop now on the
        second. ``runner`` is a ``robot_us.scan.runner.ScanRunner``."""
        if self.count == self._applied:
            return
        if self._applied == 0:
            runner.scan.abort(f"{self.name} received (interrupted)")
        if self.count >= 2:
            runner.stop_now(f"aborted: a second signal after {self.name}: stopped at once")
        self._applied = self.count
