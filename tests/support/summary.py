"""What tests show on the terminal despite pytest's capture: figures and live progress.

``LINES``: appended to by tests, printed in the terminal summary (after the results) by
``pytest_terminal_summary`` in tests/conftest.py.

``Progress``: writes straight to the terminal pytest started on (a duplicate of its stdout
taken before any test ran, so capture does not swallow it). A test or fixture that works for
long reports through the ``progress`` fixture; and while a test runs silently for
``HEARTBEAT_SECONDS``, a heartbeat line names it, so a run is never quiet for longer.
"""

from __future__ import annotations

import os
import threading
import time

__all__ = ["HEARTBEAT_SECONDS", "LINES", "Progress"]

#: Appended to by tests; printed by ``pytest_terminal_summary`` in tests/conftest.py.
LINES: list[str] = []

#: Longest a running test stays silent before a heartbeat line names it.
HEARTBEAT_SECONDS = 15.0


class Progress:
    """Live lines on the terminal, and a heartbeat for tests that run silently for long."""

    def __init__(self, fd: int, *, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self._fd = fd
        self._heartbeat = heartbeat
        self._lock = threading.Lock()
        #: The tests running now (several under pytest-xdist) and when each began.
        self._running: dict[str, float] = {}
        self._last = time.monotonic()
        self._at_line_start = False  # True right after our own line, until pytest writes
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="test-heartbeat", daemon=True)

    def start(self) -> None:
        """Start the heartbeat thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the heartbeat thread (at the end of the session)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        os.close(self._fd)

    def begin(self, nodeid: str) -> None:
        """A test starts (its setup included); under pytest-xdist, others may be running."""
        with self._lock:
            self._running[nodeid] = self._last = time.monotonic()
            self._at_line_start = False

    def end(self, nodeid: str) -> None:
        """The test finished: pytest reports it itself."""
        with self._lock:
            self._running.pop(nodeid, None)
            self._last = time.monotonic()
            self._at_line_start = False

    def say(self, text: str) -> None:
        """Write one line now, on a line of its own."""
        with self._lock:
            self._write(text)

    def _write(self, text: str) -> None:
        lead = "" if self._at_line_start else "\n"
        os.write(self._fd, f"{lead}    {text}\n".encode())
        self._last = time.monotonic()
        self._at_line_start = True

    def _beat(self) -> None:
        while not self._stopped.wait(min(1.0, self._heartbeat / 4)):
            with self._lock:
                now = time.monotonic()
                if self._running and now - self._last >= self._heartbeat:
                    self._write(self._status(now))

    def _status(self, now: float) -> str:
        """The longest-running test, for how long, and how many more run beside it."""
        test, began = min(self._running.items(), key=lambda item: item[1])
        others = len(self._running) - 1
        beside = f" (and {others} more)" if others else ""
        return f"... {test}: running for {now - began:.0f} s{beside}"
