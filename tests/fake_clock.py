"""A fake monotonic clock for driving the real-time loop in tests (tests/test_loop.py, the
missed-deadline fault injection in tests/test_safety_injection.py)."""

from __future__ import annotations

from robot_us.loop import LoopMode, LoopRunner

MS = 1_000_000  # ns


class FakeClock:
    """Monotonic time (ns) that moves only when someone sleeps or a cycle costs time."""

    def __init__(self, oversleep_ns: int = 0) -> None:
        self.ns = 0
        self.oversleep_ns = oversleep_ns
        self.sleeps: list[int] = []

    def now(self) -> int:
        return self.ns

    def sleep(self, s: float) -> None:
        self.sleeps.append(round(s * 1e9))
        self.ns += round(s * 1e9) + self.oversleep_ns

    def work(self, ns: int) -> None:
        self.ns += ns


def realtime(fake: FakeClock, rate_hz: float = 1000.0) -> LoopRunner:
    """A real-time loop runner on ``fake``'s time."""
    return LoopRunner(rate_hz, LoopMode.REALTIME, now=fake.now, sleep=fake.sleep)
