"""Helpers of the hardware driver tests: waiting for a condition set by another thread
(generous timeouts, the machine is shared) and a clock the test advances."""

from __future__ import annotations

import time

#: Longest a test waits for a driver or emulator thread (s).
WAIT_S = 5.0


def wait_until(cond, timeout: float = WAIT_S) -> bool:
    """Poll ``cond()`` until it is true or ``timeout`` passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


class ManualClock:
    """A clock the test advances (a driver's age and link checks run on it)."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
