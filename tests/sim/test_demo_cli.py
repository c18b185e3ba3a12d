"""The demo's and the chaos campaign's command lines: errors, --output, progress on stderr."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim import chaos, demo
from sim.output.progress import ProgressLine, elapsed

ROOT = Path(__file__).resolve().parents[2]


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], parse: object) -> str:
    with pytest.raises(SystemExit) as stopped:
        parse(argv)  # type: ignore[operator]
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    # argparse's form: the usage line(s), then one "prog: error: ..." line.
    assert err[-1].startswith(("python -m sim.demo: error: ", "python -m sim.chaos: error: "))
    return err[-1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--real-time", "--speed", "-3"], "argument --speed: must be at least 0.1"),
        (["--real-time", "--speed", "1e-9"], "argument --speed: must be at least 0.1"),
        (["--real-time", "--speed", "0"], "argument --speed: must be at least 0.1"),
        (["--real-time", "--speed", "nan"], "argument --speed: must be a finite number"),
        (["--real-time", "--speed", "inf"], "argument --speed: must be a finite number"),
        (["--real-time", "--speed", "fast"], "argument --speed: not a number"),
        (["--speed", "2"], "argument --speed: only with --real-time"),
        (["--schedule-jitter", "-5"], "argument --schedule-jitter: must be within [0, 60]"),
        (["--schedule-jitter", "61"], "argument --schedule-jitter: must be within [0, 60]"),
        (["--schedule-jitter", "nan"], "argument --schedule-jitter: must be a finite number"),
        (["--duplicate-rate", "1.5"], "argument --duplicate-rate: must be within [0, 1]"),
        (["--reorder-rate", "nan"], "argument --reorder-rate: must be a finite number"),
        (["--observations"], "argument --observations: only with --json"),
        (["--plot", "run.pdf"], "argument --plot: 'run.pdf': the file name must end in .png"),
        (["--plot", "/no/such/dir/run.png"], "argument --plot: directory '/no/such/dir'"),
        (["--output", "/no/such/dir/run.json"], "argument --output: directory '/no/such/dir'"),
        (["--scenario", "nope"], "argument --scenario: invalid choice: 'nope'"),
        (["--progress-every", "0"], "argument --progress-every: must be a number of seconds"),
        (["--progress-every", "nan"], "argument --progress-every: must be a number of seconds"),
    ],
)
def test_given_a_bad_demo_option_when_parsed_then_one_line_error_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    line = _one_line_error(capsys, argv, demo.parse_args)

    assert expected in line


def test_given_an_existing_directory_as_output_when_parsed_then_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = _one_line_error(capsys, ["--output", str(tmp_path)], demo.parse_args)

    assert "is a directory" in line


def test_given_valid_edge_values_when_parsed_then_accepted() -> None:
    args = demo.parse_args(
        ["--real-time", "--speed", "0.1", "--schedule-jitter", "60", "--duplicate-rate", "1"]
    )

    assert (args.speed, args.schedule_jitter, args.duplicate_rate) == (0.1, 60.0, 1.0)
    assert demo.parse_args(["--schedule-jitter", "0"]).schedule_jitter == 0.0


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--services", "0"], "argument --services: must be at least 1, not 0"),
        (["--services", "-2"], "argument --services: must be at least 1, not -2"),
        (["--drains", "0"], "argument --drains: must be at least 1, not 0"),
        (["--drains", "nan"], "argument --drains: not a whole number: 'nan'"),
        (["--workers", "0"], "argument --workers: must be at least 1, not 0"),
        (["--workers", "-1"], "argument --workers: must be at least 1, not -1"),
        (["--workers", "1.5"], "argument --workers: not a whole number: '1.5'"),
        (["--seed", "nan"], "argument --seed: invalid int value: 'nan'"),
        (["--progress-every", "-1"], "argument --progress-every: must be a number of seconds"),
        (["--stoptask-on-draining", "sometimes"], "argument --stoptask-on-draining: invalid"),
    ],
)
def test_given_a_bad_chaos_option_when_parsed_then_one_line_error_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    line = _one_line_error(capsys, argv, chaos.main)

    assert expected in line


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "sim.demo", "--real-time", "--speed", "1e-9"],
        ["-m", "sim.chaos", "--services", "0"],
    ],
)
def test_given_a_bad_option_when_run_as_a_process_then_no_traceback(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith("python -m sim.")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    """A fresh process, as users run it (in-process runs would bind the handlers' loggers
    to a test's captured stdout)."""
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_given_json_and_output_when_run_then_the_file_is_pure_json_and_stdout_empty(
    tmp_path: Path,
) -> None:
    target = tmp_path / "run.json"

    done = _run("-m", "sim.demo", "--scenario", "scale-in", "--no-baseline", "--json",
                "--output", str(target))  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    body = json.loads(target.read_text())
    assert body["scenario"] == "scale-in"
    assert body["ok"] is True
    assert body["summary"]["tasks_drained"] == len(body["tasks"]) > 0


def test_given_make_silent_when_json_redirected_then_the_file_parses(tmp_path: Path) -> None:
    make = shutil.which("make")
    assert make is not None, "make is one of the two documented prerequisites"
    target = tmp_path / "run.json"
    # -o: do not rebuild the virtual environment; BIN: the interpreter running the tests.
    command = [
        make, "-s", "--no-print-directory", "-C", str(ROOT), "-o", ".venv/main/.installed",
        f"BIN={Path(sys.executable).parent}", "demo",
        "ARGS=--json --scenario scale-in --no-baseline",
    ]  # fmt: skip
    with target.open("w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True, check=False)

    assert done.returncode == 0, done.stderr
    assert json.loads(target.read_text())["scenario"] == "scale-in"


def test_given_text_and_output_when_run_then_the_file_holds_the_text(tmp_path: Path) -> None:
    target = tmp_path / "run.txt"

    status = demo.main(["--scenario", "scale-in", "--no-baseline", "--output", str(target)])

    assert status == 0
    text = target.read_text()
    assert text.startswith('ecs-drain-terminator demo: scenario "scale-in"')
    assert text.rstrip().endswith("s of wall time)")


def test_given_a_progress_line_when_open_then_it_writes_at_most_once_per_interval() -> None:
    stream = io.StringIO()
    calls: list[float] = []

    def describe() -> str:
        calls.append(time.monotonic())
        return f"step {len(calls)}"

    with ProgressLine(describe, prefix="x: ", interval=0.05, stream=stream):
        time.sleep(0.4)
    lines = stream.getvalue().splitlines()

    assert 2 <= len(lines) <= 9
    assert lines[0] == "x: step 1"
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(calls))


def test_given_a_disabled_progress_line_when_open_then_it_writes_nothing() -> None:
    stream = io.StringIO()

    with ProgressLine(lambda: "tick", interval=0.01, stream=stream, enabled=False) as line:
        line.say("opening")
        time.sleep(0.1)

    assert stream.getvalue() == ""


def test_given_a_failing_description_when_open_then_the_run_goes_on() -> None:
    stream = io.StringIO()

    def broken() -> str:
        raise KeyError("gone")

    with ProgressLine(broken, interval=0.01, stream=stream):
        time.sleep(0.1)

    assert stream.getvalue().splitlines() == ["(progress unavailable: 'gone')"]


def test_given_seconds_when_formatted_then_minutes_and_seconds() -> None:
    assert [elapsed(0), elapsed(59.6), elapsed(75.2), elapsed(3600)] == [
        "0m00s",
        "1m00s",
        "1m15s",
        "60m00s",
    ]


def test_given_a_real_time_run_when_json_then_progress_is_on_stderr_only() -> None:
    done = _run("-m", "sim.demo", "--scenario", "scale-in", "--no-baseline", "--real-time",
                "--speed", "300", "--progress-every", "0.2", "--json")  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["clock"] == "real-time"
    lines = done.stderr.splitlines()
    assert lines[0].startswith('demo: running scenario "scale-in" on the wall clock (x300)')
    assert lines[-1].startswith("demo: done in ")
    ticks = [line for line in lines if " elapsed, " in line]
    assert ticks, done.stderr
    assert all(line.startswith("demo: ") for line in ticks)
    assert any("task(s) stopped by the terminator so far" in line for line in ticks)


def test_given_no_progress_when_real_time_then_stderr_stays_quiet() -> None:
    done = _run("-m", "sim.demo", "--scenario", "scale-in", "--no-baseline", "--real-time",
                "--speed", "300", "--progress-every", "0.2", "--no-progress")  # fmt: skip

    assert done.returncode == 0
    assert done.stderr == ""
    assert "real-time clock" in done.stdout


def test_given_a_chaos_campaign_when_json_then_progress_is_on_stderr_only() -> None:
    done = _run("-m", "sim.chaos", "--drains", "1", "--services", "1", "--workers", "1",
                "--progress-every", "0.2", "--json")  # fmt: skip

    result = json.loads(done.stdout)
    assert done.returncode == (0 if result["ok"] else 1)
    assert result["cases"] >= 1
    ticks = done.stderr.splitlines()
    assert ticks, "a campaign of a few seconds prints progress every 0.2 s"
    assert all(t.startswith("chaos: ") and " of at least 1 drains" in t for t in ticks)
