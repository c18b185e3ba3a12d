"""A progress line on stderr for long runs (``--real-time`` demos, chaos campaigns).

A daemon thread writes ``describe()`` at most once per ``interval`` seconds of wall time,
one whole line at a time (readable in a terminal and in CI logs alike). It only reads
what the run exposes; it never touches the simulation, so a seeded run stays the same
with or without it. The lines go to stderr, never to stdout, so ``--json`` output stays
pure.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

__all__ = ["DEFAULT_INTERVAL", "MIN_INTERVAL", "ProgressLine", "elapsed", "interval_argument"]

#: Default seconds between two progress lines.
DEFAULT_INTERVAL = 5.0
#: Shortest interval a command line accepts.
MIN_INTERVAL = 0.1


def interval_argument(text: str) -> float:
    """argparse type of ``--progress-every``: seconds, at least :data:`MIN_INTERVAL`, finite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value < MIN_INTERVAL:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds >= {MIN_INTERVAL:g}, not {text}"
        )
    return value


def elapsed(seconds: float) -> str:
    """``75.2`` → ``1m15s``."""
    whole = max(0, round(seconds))
    return f"{whole // 60}m{whole % 60:02d}s"


class ProgressLine:
    """Context manager: prints ``prefix + describe()`` every ``interval`` seconds while open.

    ``interval`` defaults to :data:`DEFAULT_INTERVAL`, read when the line is created.
    """

    def __init__(
        self,
        describe: Callable[[], str],
        *,
        prefix: str = "",
        interval: float | None = None,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        interval = DEFAULT_INTERVAL if interval is None else interval
        if not interval > 0:
            raise ValueError("interval must be positive")
        self._describe = describe
        self._prefix = prefix
        self._interval = interval
        # Bound now: the simulation swaps sys.stdout (and log streams) while it runs.
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.started = time.monotonic()
        #: Lines written so far (for tests and the final summary).
        self.lines = 0

    @property
    def seconds(self) -> float:
        """Wall seconds since the progress line was opened."""
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        """Write one line now (e.g. the opening line), if enabled."""
        if not self._enabled:
            return
        self._stream.write(f"{self._prefix}{text}\n")
        self._stream.flush()
        self.lines += 1

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.say(self._describe())
            except Exception as error:  # a progress line must never break the run
                self.say(f"(progress unavailable: {error})")
                return

    def __enter__(self) -> ProgressLine:
        self.started = time.monotonic()
        if self._enabled:
            self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
