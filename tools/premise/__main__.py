"""``python -m tools.premise`` (``make premise``): see tools/premise/__init__.py.

Refuses, having created nothing, without AWS credentials, without Terraform, or without
a yes (``--yes``, or an answer at the terminal).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from serverless.cli.aws.session import AwsAccess
from serverless.domain.clock import SystemClock
from serverless.domain.errors import DrainTerminatorError
from tools.e2e.terraform import Missing, Terraform, find_terraform
from tools.premise import steps
from tools.premise.account import AwsAccount
from tools.premise.stack import EXAMPLE_DIR, TerraformStack

__all__ = ["main"]

EXIT_REFUSED = 2
#: The hourly cost model is in terraform/examples/premise/README.md (with its assumptions).
COST = "about US$0.10 an hour (US$0.12 with --ec2) at eu-west-1 on-demand prices"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.premise",
        description="Measure in your AWS account whether StopTask ends a drain in progress, "
        "and which stop action does: apply terraform/examples/premise, run verify for each "
        "action, print one table, destroy the stack.",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="AWS region (default: AWS_REGION)",
    )
    parser.add_argument("--profile", help="AWS profile (default: the SDK's credential chain)")
    parser.add_argument(
        "--ec2",
        action="store_true",
        help="also an EC2 container instance and service, to measure ssm-signal",
    )
    parser.add_argument("--keep", action="store_true", help="do not destroy the stack at the end")
    parser.add_argument("--yes", action="store_true", help="do not ask before creating the stack")
    parser.add_argument("--name", default="drain-premise", help="the stack's name")
    parser.add_argument(
        "--deregistration-delay",
        type=int,
        default=600,
        metavar="SECONDS",
        help="the target groups' deregistration delay (default 600)",
    )
    parser.add_argument(
        "--wait", type=int, default=30, metavar="SECONDS", help="wait-seconds (default 30)"
    )
    return parser


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM and SIGHUP end the run as Ctrl-C does: destroyed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; the exit status."""
    args = _parser().parse_args(argv)
    if not args.region:
        print("premise: refusing: no region: pass --region (or set AWS_REGION)", file=sys.stderr)
        return EXIT_REFUSED
    access = AwsAccess(region=args.region, profile=args.profile)
    account = AwsAccount(access, SystemClock())
    try:
        account_id = account.identity()
        terraform_binary = find_terraform()
    except DrainTerminatorError as error:
        print(f"premise: refusing, nothing was created: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except Missing as missing:
        print(
            f"premise: refusing, nothing was created: Terraform is needed: {missing}",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    what = (
        f"premise: this creates a VPC, an NLB, an ECS cluster with a Fargate service"
        f"{' and an EC2 instance with a service' if args.ec2 else ''} and the terminator in "
        f"account {account_id}, {args.region} ({COST}); it runs 20-70 minutes and destroys "
        "it all at the end"
    )
    print(what, flush=True)
    if not args.yes:
        if not sys.stdin.isatty():
            print("premise: refusing: stdin is not a terminal; pass --yes", file=sys.stderr)
            return EXIT_REFUSED
        if input("Create it? [y/N] ").strip().lower() not in {"y", "yes"}:
            print("premise: nothing was created")
            return EXIT_REFUSED
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    environment = dict(os.environ)
    if args.profile:
        environment["AWS_PROFILE"] = args.profile
    stack = TerraformStack(
        Terraform(terraform_binary, None, environment),
        {
            "region": args.region,
            "name": args.name,
            "ec2_variant": args.ec2,
            "deregistration_delay_seconds": args.deregistration_delay,
            "wait_seconds": args.wait,
        },
        directory=EXAMPLE_DIR,
    )
    return steps.run(stack, account, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
