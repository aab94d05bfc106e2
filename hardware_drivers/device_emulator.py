"""What the device emulators share: a device thread guarded by one lock, a start/close
lifecycle usable as a context manager, and the stall fault (nothing sent for a while).
Each emulator opens its own transport (pty pair, UDP socket) and runs its ``_run``."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod

#: How long ``close`` waits for the device thread (s).
JOIN_TIMEOUT_S = 2.0


class DeviceEmulator(ABC):
    """Base of the emulators: ``start()`` opens the transport and calls ``_start_thread``;
    ``close()`` calls ``_stop_thread`` and closes the transport."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._silent_until = 0.0  # stall fault: nothing is sent before this time
        self._booting_until = 0.0  # reset fault: deaf and silent before this time

    @abstractmethod
    def start(self) -> DeviceEmulator:
        """Open the transport and start the device thread."""

    @abstractmethod
    def close(self) -> None:
        """Stop the device thread and close the transport."""

    @abstractmethod
    def _run(self) -> None:
        """The device thread: serve requests and stream until ``_stop`` is set."""

    def _start_thread(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _stop_thread(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT_S)

    def stall(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (samples due meanwhile are lost)."""
        with self._lock:
            self._silent_until = time.monotonic() + seconds

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
