"""``python -m sim.demo``: a simulated ECS deployment with the terminator, offline.

Runs a scenario on the embedded AWS (moto) and the ECS model, driving the real Lambda
handlers, then prints a timeline per drained task, a summary and the run's invariants.
Exit status 0 only when every invariant holds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from sim.render import render_text
from sim.scenarios import SCENARIOS, Delivery, scenario_named
from sim.simulation import Simulation

__all__ = ["main", "parse_args"]


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be within [0, 1]")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
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
    parser.add_argument("--logs", action="store_true", help="also print the handlers' output")
    parser.add_argument(
        "--real-time",
        action="store_true",
        help="run on the wall clock (a deployment then takes minutes)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="with --real-time: run this many times faster than real time",
    )
    parser.add_argument(
        "--duplicate-rate",
        type=_rate,
        default=None,
        help="probability that an event is delivered twice",
    )
    parser.add_argument(
        "--reorder-rate",
        type=_rate,
        default=None,
        help="probability that a delivery is held back and overtaken",
    )
    parser.add_argument(
        "--schedule-jitter",
        type=float,
        default=None,
        metavar="SECONDS",
        help="per-run jitter of the sweeper schedule (60: anywhere in the minute, worst case)",
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the counterfactual run without the terminator",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the exit status."""
    args = parse_args(argv)
    if args.list:
        for name, scenario in SCENARIOS.items():
            print(f"{name:<18} {scenario.description}")
        return 0
    scenario = scenario_named(args.scenario)
    if args.duplicate_rate is not None or args.reorder_rate is not None:
        base = scenario.delivery
        scenario = scenario.with_delivery(
            Delivery(
                duplicate_rate=base.duplicate_rate
                if args.duplicate_rate is None
                else args.duplicate_rate,
                reorder_rate=base.reorder_rate if args.reorder_rate is None else args.reorder_rate,
            )
        )
    pace = None
    if args.real_time:
        pace = args.speed if args.speed else 1.0
    simulation = Simulation(
        scenario,
        seed=args.seed,
        pace=pace,
        counterfactual=not args.no_baseline,
        schedule_jitter_seconds=args.schedule_jitter,
    )
    if args.real_time and not args.json:
        print(
            f"running {scenario.name} on the wall clock (x{pace:g}); this takes minutes...",
            flush=True,
        )
    report = simulation.run()
    if args.json:
        json.dump(report.to_dict(observations=args.observations), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(render_text(report, logs=args.logs))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
