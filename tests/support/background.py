"""A long check that runs beside the tests: the module's Terraform lifecycle (``tools.e2e``).

It spends most of its wall time waiting on Terraform and the provider's propagation waits,
so ``make test`` starts it when the session starts (``--lifecycle-in-background``) and the
test in tests/e2e/test_lifecycle.py only collects its result. Without the option that test
runs it itself. Either way its whole output is kept in a file and its result is one test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sim.terraform import REPO_ROOT

__all__ = ["LIFECYCLE_COMMAND", "BackgroundJob", "Outcome"]

#: What ``make e2e`` runs, but for examples/premise: validated and planned here, not
#: applied (its apply, re-plan and destroy add about 20 s of CPU beside the tests).
LIFECYCLE_COMMAND = (sys.executable, "-m", "tools.e2e", "--premise-plan-only")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the job ended and what it printed."""

    returncode: int
    output: str

    @property
    def last_line(self) -> str:
        """Its closing line (the e2e summary, or the line that says what was skipped)."""
        lines = [line for line in self.output.splitlines() if line.strip()]
        return lines[-1] if lines else ""


class BackgroundJob:
    """A command started now whose output goes to ``log``; ``<log>.rc`` appears when it ends.

    The status file lets another process (a pytest-xdist worker) wait for the job that this
    one (the controller) started.
    """

    def __init__(self, command: tuple[str, ...], log: Path) -> None:
        self.log = log
        self._done = log.with_name(log.name + ".rc")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            self._process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self._waiter = threading.Thread(target=self._wait, name="background-job", daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        code = self._process.wait()
        self._done.write_text(str(code))

    def stop(self) -> None:
        """End the job if it still runs (the session is over)."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._waiter.join(timeout=10)

    @staticmethod
    def result(log: Path, timeout: float) -> Outcome:
        """Wait until the job writing ``log`` has ended (any process may ask)."""
        done = log.with_name(log.name + ".rc")
        deadline = time.monotonic() + timeout
        while not done.is_file():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{log.name}: still running after {timeout:.0f} s")
            time.sleep(0.5)
        return Outcome(int(done.read_text()), log.read_text(errors="replace"))
