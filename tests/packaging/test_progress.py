"""The test loop never goes quiet: CI's output watcher and pytest's own heartbeat."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.support.locks import ROOT
from tests.support.summary import Progress

HEARTBEAT = ROOT / ".ci" / "heartbeat.py"


def _watch(script: str, quiet: float = 0.4) -> str:
    """Run a shell ``script`` through .ci/heartbeat.py and return what it printed."""
    producer = subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE)
    try:
        watched = subprocess.run(
            [sys.executable, str(HEARTBEAT)],
            stdin=producer.stdout,
            capture_output=True,
            env={**os.environ, "HEARTBEAT_SECONDS": str(quiet)},
            check=True,
            timeout=30,
        )
    finally:
        producer.wait()
    return watched.stdout.decode()


def test_given_a_quiet_step_when_watched_then_a_line_names_what_it_last_printed() -> None:
    out = _watch("echo 'mypy'; sleep 2.5; echo done")

    lines = out.splitlines()
    assert lines[0] == "mypy"
    assert lines[-1] == "done"
    beats = [line for line in lines if line.startswith("[ci ")]
    assert beats
    assert all(line.endswith("still running; last: mypy") for line in beats)


def test_given_a_partial_line_when_the_step_goes_quiet_then_the_beat_starts_a_new_line() -> None:
    out = _watch("printf 'collecting'; sleep 2; echo ' 12 items'")

    assert out.startswith("collecting\n[ci ")
    assert out.endswith(" 12 items\n")


def test_given_pytests_summary_when_the_interpreter_lingers_then_nothing_follows_it() -> None:
    summary = "======= 3 passed, 1 warning in 0.12s ======="

    out = _watch(f"echo '{summary}'; sleep 1.5")

    assert out.splitlines() == [summary]


def test_given_a_test_silent_past_the_heartbeat_when_running_then_a_line_names_it() -> None:
    read, write = os.pipe()
    progress = Progress(write, heartbeat=0.3)
    progress.start()
    progress.begin("tests/x.py::test_slow")
    time.sleep(1.0)
    progress.end("tests/x.py::test_slow")
    progress.say("chaos: 4 cases")
    progress.stop()  # closes ``write``
    with os.fdopen(read) as pipe:
        out = pipe.read()

    beats = [line for line in out.splitlines() if "tests/x.py::test_slow: running for" in line]
    assert beats
    assert out.endswith("    chaos: 4 cases\n")


def test_given_a_test_that_reports_when_running_then_no_heartbeat_interrupts() -> None:
    read, write = os.pipe()
    progress = Progress(write, heartbeat=0.5)
    progress.start()
    progress.begin("tests/x.py::test_busy")
    for n in range(6):
        progress.say(f"case {n}")
        time.sleep(0.2)
    progress.end("tests/x.py::test_busy")
    progress.stop()
    with os.fdopen(read) as pipe:
        out = pipe.read()

    assert "running for" not in out
    assert [line.strip() for line in out.splitlines() if line.strip()] == [
        f"case {n}" for n in range(6)
    ]


def test_given_two_tests_on_two_workers_when_one_ends_then_the_other_is_still_named() -> None:
    """pytest-xdist reports tests of both workers to one terminal: the end of one test must
    not silence the heartbeat of the one still running (the chaos campaign, say)."""
    read, write = os.pipe()
    progress = Progress(write, heartbeat=0.3)
    progress.start()
    progress.begin("tests/x.py::test_campaign")
    progress.begin("tests/y.py::test_quick")
    time.sleep(0.5)
    progress.end("tests/y.py::test_quick")
    time.sleep(1.0)
    progress.end("tests/x.py::test_campaign")
    progress.stop()
    with os.fdopen(read) as pipe:
        lines = pipe.read().splitlines()

    beats = [line for line in lines if "running for" in line]
    assert any("test_campaign" in line and "(and 1 more)" in line for line in beats)
    last = next(line for line in reversed(beats))
    assert "tests/x.py::test_campaign: running for" in last
    assert "more" not in last
