"""``python -m sim.demo``: a simulated ECS deployment with the terminator, offline.

Runs a scenario on the embedded AWS (moto) and the ECS model, driving the real Lambda
handlers, then prints a timeline per drained task, a summary and the run's invariants.
``--plot FILE`` also draws the run (PNG or SVG); ``--output FILE`` writes the text or JSON
to a file instead of stdout. Exit status 0 only when every invariant holds; 1 when one
does not; 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sim.aws.ecs.model import STOPTASK_ON_DRAINING, WorldRules
from sim.aws.embedded import AwsCall, Reply
from sim.aws.eventbridge import rate_seconds
from sim.aws.lambda_runtime import reserved_concurrency_argument
from sim.judge.report import Report
from sim.output.progress import DEFAULT_INTERVAL, ProgressLine, elapsed, interval_argument
from sim.output.render import render_text
from sim.scenarios import (
    SCENARIOS,
    STOP_ACTIONS,
    Delivery,
    Scenario,
    scenario_named,
    stop_action_settings,
    with_stop_action,
)
from sim.simulation import Simulation
from sim.terraform import schedule_expression

__all__ = ["PLOT_SUFFIXES", "main", "parse_args", "render_output"]

#: File suffixes ``--plot`` can write (matplotlib picks the format from the suffix).
PLOT_SUFFIXES = (".png", ".svg")
#: Slowest ``--speed``: below this a twelve-minute deployment would take days.
MIN_SPEED = 0.1
#: The progress line extrapolates the simulated clock at most this far past the last call.
_EXTRAPOLATE_SECONDS = 60.0


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text!r}")
    return value


def _rate(text: str) -> float:
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within [0, 1], not {text}")
    return value


def _speed(text: str) -> float:
    value = _number(text)
    if value < MIN_SPEED:
        raise argparse.ArgumentTypeError(
            f"must be at least {MIN_SPEED:g} (times real time), not {text}"
        )
    return value


def _jitter(text: str) -> float:
    value = _number(text)
    period = rate_seconds(schedule_expression())
    if not 0.0 <= value <= period:
        raise argparse.ArgumentTypeError(
            f"must be within [0, {period}] seconds (the sweeper schedule's period), not {text}"
        )
    return value


def _writable(path: Path) -> Path:
    parent = path.parent if str(path.parent) else Path()
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{str(path)!r} is a directory")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"directory {str(parent)!r} is not writable")
    return path


def _output_file(text: str) -> Path:
    return _writable(Path(text))


def _plot_file(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the file name must end in {' or '.join(PLOT_SUFFIXES)}"
        )
    return _writable(path)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sim.demo",
        description="Simulated rolling deployment of an ECS service with ecs-drain-terminator.",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="fargate")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--observations", action="store_true", help="with --json: include the full observation log"
    )
    parser.add_argument(
        "--output",
        type=_output_file,
        metavar="FILE",
        help="write the text (or, with --json, the JSON) to FILE instead of stdout",
    )
    parser.add_argument(
        "--plot",
        type=_plot_file,
        metavar="FILE",
        help="also draw the run: task lanes, drain windows with and without the terminator, "
        "StopTask and ECS's deadline, healthy targets per target group (FILE.png or FILE.svg)",
    )
    parser.add_argument("--logs", action="store_true", help="also print the handlers' output")
    parser.add_argument(
        "--real-time",
        action="store_true",
        help="run on the wall clock (a deployment then takes minutes; progress on stderr)",
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=None,
        metavar="X",
        help=f"with --real-time: run X times faster than real time (X >= {MIN_SPEED:g})",
    )
    parser.add_argument(
        "--progress-every",
        type=interval_argument,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"with --real-time: seconds between progress lines on stderr "
        f"(default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="with --real-time: no progress line on stderr",
    )
    parser.add_argument(
        "--duplicate-rate",
        type=_rate,
        default=None,
        metavar="P",
        help="probability that an event is delivered twice (0-1)",
    )
    parser.add_argument(
        "--reorder-rate",
        type=_rate,
        default=None,
        metavar="P",
        help="probability that a delivery is held back and overtaken (0-1)",
    )
    parser.add_argument(
        "--schedule-jitter",
        type=_jitter,
        default=None,
        metavar="SECONDS",
        help="per-run jitter of the sweeper schedule, 0-60 (60: anywhere in the minute)",
    )
    parser.add_argument(
        "--sweeper-concurrency",
        type=reserved_concurrency_argument,
        default="module",
        metavar="N|unreserved|module",
        help="the sweeper's reserved concurrency, 1-10 or 'unreserved' (default "
        "'module': the module's sweeper_reserved_concurrency)",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the counterfactual run without the terminator (faster; the comparison "
        "with ECS alone is then not shown)",
    )
    parser.add_argument(
        "--stoptask-on-draining",
        choices=STOPTASK_ON_DRAINING,
        default="effective",
        help="the world: StopTask on a draining task sends SIGTERM now (effective, the "
        "default) or changes only its stop reason (ignored); undocumented by AWS",
    )
    parser.add_argument(
        "--stop-action",
        choices=STOP_ACTIONS,
        default=None,
        help="tag the opted-in services with this stop action (exec actions also turn on "
        "their enableExecuteCommand, and the module's exec or ssm-signal setting); "
        "default: no tag (the module's default, stop-task)",
    )
    parser.add_argument(
        "--exec-refused-when-stopping",
        action="store_true",
        help="with --stoptask-on-draining ignored: ECS refuses ExecuteCommand on a task it "
        "is stopping (undocumented; simulated as InvalidParameterException)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; a bad value ends the process with a one-line error (exit 2)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.speed is not None and not args.real_time:
        parser.error("argument --speed: only with --real-time")
    if args.observations and not args.json:
        parser.error("argument --observations: only with --json")
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        parser.error(
            "argument --plot: needs matplotlib (part of the dev extra: `make demo` installs it)"
        )
    if args.plot is not None and args.output is not None and args.plot == args.output:
        parser.error("argument --plot: must not be the --output file")
    if args.exec_refused_when_stopping and args.stoptask_on_draining != "ignored":
        parser.error(
            "argument --exec-refused-when-stopping: only with --stoptask-on-draining ignored"
        )
    return args


def render_output(report: Report, args: argparse.Namespace) -> str:
    """What the demo prints (or writes to ``--output``): text or JSON, newline-terminated."""
    if args.json:
        return json.dumps(report.to_dict(observations=args.observations), indent=2) + "\n"
    return render_text(report, logs=args.logs) + "\n"


class _Watcher:
    """An AWS hook that only looks: the latest virtual time, the tasks the functions stopped."""

    def __init__(self) -> None:
        self.tasks: set[str] = set()
        self.seen: tuple[float, float] | None = None  # (virtual time, wall time) of a call

    def __call__(self, call: AwsCall) -> Reply | None:
        self.seen = (call.at, time.monotonic())
        if call.operation == "StopTask" and call.caller is not None:
            self.tasks.add(str(call.params.get("task", "")))
        return None

    def virtual_now(self, pace: float) -> float | None:
        """The simulated clock: the paced loop keeps step with the wall clock between calls
        (a sweeper run at least every minute; extrapolated at most that far)."""
        if self.seen is None:
            return None
        at, wall = self.seen
        return at + min((time.monotonic() - wall) * pace, _EXTRAPOLATE_SECONDS)


def _scenario(args: argparse.Namespace) -> Scenario:
    scenario = scenario_named(args.scenario)
    if args.stop_action is not None:
        scenario = with_stop_action(scenario, args.stop_action)
    if args.duplicate_rate is None and args.reorder_rate is None:
        return scenario
    base = scenario.delivery
    return scenario.with_delivery(
        Delivery(
            duplicate_rate=base.duplicate_rate
            if args.duplicate_rate is None
            else args.duplicate_rate,
            reorder_rate=base.reorder_rate if args.reorder_rate is None else args.reorder_rate,
        )
    )


def _run(args: argparse.Namespace) -> Report:
    scenario = _scenario(args)
    pace = (args.speed or 1.0) if args.real_time else None
    watcher = _Watcher()
    simulation = Simulation(
        scenario,
        seed=args.seed,
        pace=pace,
        counterfactual=not args.no_baseline,
        schedule_jitter_seconds=args.schedule_jitter,
        sweeper_concurrency=args.sweeper_concurrency,
        aws_hooks=[watcher],
        world=WorldRules(
            stoptask_on_draining=args.stoptask_on_draining,
            exec_refused_when_stopping=args.exec_refused_when_stopping,
        ),
        settings=stop_action_settings({args.stop_action} if args.stop_action else set()),
    )
    if pace is None:
        return simulation.run()

    def describe() -> str:
        now = watcher.virtual_now(pace)
        if now is None:
            return f"{elapsed(progress.seconds)} elapsed, setting up the embedded AWS"
        return (
            f"{elapsed(progress.seconds)} elapsed, simulated clock "
            f"+{elapsed(now - simulation.start)}, "
            f"{len(watcher.tasks)} task(s) stopped by the terminator so far"
        )

    progress = ProgressLine(
        describe, prefix="demo: ", interval=args.progress_every, enabled=not args.no_progress
    )
    progress.say(
        f'running scenario "{scenario.name}" on the wall clock (x{pace:g}); '
        "this takes minutes (a progress line every few seconds)"
    )
    with progress:
        report = simulation.run()
    progress.say(f"done in {elapsed(progress.seconds)}")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit status."""
    args = parse_args(argv)
    if args.list:
        for name, scenario in SCENARIOS.items():
            print(f"{name:<18} {scenario.description}")
        return 0
    report = _run(args)
    output = render_output(report, args)
    try:
        if args.output is not None:
            args.output.write_text(output)
        else:
            sys.stdout.write(output)
        if args.plot is not None:
            from sim.output.plot import write_plot

            write_plot(report, args.plot)
    except OSError as error:
        print(f"python -m sim.demo: error: {error}", file=sys.stderr)
        return 2
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
