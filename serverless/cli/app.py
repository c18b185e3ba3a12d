"""``drain-terminator``: the operator's command line (argparse; AWS only through adapters).

Every command takes ``--json`` (one JSON document on stdout) and prints aligned text
otherwise. Errors are one line on stderr and a non-zero exit status, never a traceback:
0 success, 1 error, 2 usage, 3 ``verify`` measured no shortening (or could not tell).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from serverless.cli.commands import (
    cmd_explain,
    cmd_migrate_sidecar,
    cmd_status,
    cmd_tags,
    cmd_verify,
)
from serverless.cli.context import DEFAULT_PREFIX, EXIT_ERROR, PROG, Context
from serverless.domain.clock import Clock, SystemClock
from serverless.domain.errors import DrainTerminatorError
from serverless.settings import TABLE_NAME, TAG_PREFIX

__all__ = ["main"]


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90, 30m, 2h, 1d)")
    value = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return value


def _version() -> str:
    """The installed distribution's version (the VERSION file's, through pyproject.toml)."""
    try:
        return importlib.metadata.version("ecs-drain-terminator")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


# -- the parser ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument("--region", help="AWS region (default: the SDK's: AWS_REGION, profile)")
    common.add_argument("--profile", help="AWS profile (default: the SDK's credential chain)")
    common.add_argument(
        "--tag-prefix", help=f"service tag prefix (default: {TAG_PREFIX} or {DEFAULT_PREFIX!r})"
    )
    ledger = argparse.ArgumentParser(add_help=False)
    ledger.add_argument("--table", help=f"ledger table name (default: {TABLE_NAME})")
    ledger.add_argument(
        "--from-terraform",
        metavar="DIR",
        help="read the table name from `terraform output -json` in DIR",
    )

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Operate ecs-drain-terminator: what it is doing, why, and whether "
        "StopTask shortens your drains.",
        epilog="Exit status: 0 ok, 1 error, 2 usage, 3 verify measured no shortening. "
        "Runbook: docs/operations.md",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "status", parents=[common, ledger], help="open drains, recent stops, problems"
    )
    p.add_argument(
        "--since",
        type=_duration,
        default=3600.0,
        metavar="DURATION",
        help="how far back 'recent' goes (90, 30m, 2h, 1d; default 1h)",
    )
    p.add_argument("--service", help="only this service")
    p.set_defaults(run=cmd_status)

    p = commands.add_parser(
        "explain", parents=[common, ledger], help="why a task was (or was not) stopped"
    )
    p.add_argument("task", metavar="TASK", help="task ARN or id")
    p.add_argument("--cluster", help="cluster of a task given by id without a ledger record")
    p.set_defaults(run=cmd_explain)

    p = commands.add_parser(
        "verify",
        parents=[common, ledger],
        help="measure whether StopTask shortens a drain of a service (forces a deployment)",
    )
    p.add_argument("--cluster", required=True, help="cluster name or ARN")
    p.add_argument("--service", required=True, help="service name")
    p.add_argument(
        "--wait-natural",
        action="store_true",
        help="do not deploy: wait for the service's next drain",
    )
    p.add_argument("--yes", action="store_true", help="do not ask before deploying")
    p.add_argument(
        "--timeout",
        type=_duration,
        default=1800.0,
        metavar="DURATION",
        help="give up after this long (default 30m)",
    )
    p.add_argument(
        "--poll",
        type=_duration,
        default=5.0,
        metavar="DURATION",
        help="seconds between DescribeTasks polls (default 5)",
    )
    p.add_argument(
        "--confirm-after",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="a task still draining this long after our StopTask is not shortened "
        "(default 60, the functions' CONFIRM_AFTER_SECONDS)",
    )
    p.set_defaults(run=cmd_verify)

    p = commands.add_parser(
        "tags", parents=[common], help="validate and apply (or print) the opt-in tags"
    )
    p.add_argument("--cluster", required=True, help="cluster name or ARN")
    p.add_argument("--service", required=True, help="service name")
    p.add_argument("--wait", metavar="N", help="wait-seconds: whole seconds after drain start")
    p.add_argument("--min-healthy-percent", metavar="P", help="guard: 0-100")
    p.add_argument("--max-stops-per-minute", metavar="M", help="guard: whole number >= 1")
    p.add_argument("--dry-run", action="store_true", help="log instead of StopTask")
    p.add_argument(
        "--print",
        action="store_true",
        help="print the tags, the aws CLI command and the Terraform map; change nothing",
    )
    p.set_defaults(run=cmd_tags)

    p = commands.add_parser(
        "migrate-sidecar",
        parents=[common],
        help="tags and a task definition without the NLB sidecar",
    )
    p.add_argument("file", metavar="TASKDEF.json", help="task definition JSON ('-': stdin)")
    p.add_argument("--sidecar", metavar="NAME", help="the sidecar container's name")
    p.add_argument(
        "--sidecar-image", metavar="TEXT", help="recognise the sidecar by this text in its image"
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write the task definition without the sidecar here"
    )
    p.set_defaults(run=cmd_migrate_sidecar)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    clock: Clock | None = None,
    clients: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run one command; returns the exit status (the console script exits with it)."""
    ctx = Context(
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        stdin=stdin or sys.stdin,
        clock=clock or SystemClock(),
        environ=os.environ if environ is None else environ,
        clients=clients,
    )
    parser = _parser()
    try:
        with contextlib.redirect_stdout(ctx.stdout), contextlib.redirect_stderr(ctx.stderr):
            args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2), already printed
        return int(exit_.code or 0)
    run: Callable[[argparse.Namespace, Context], int] = args.run
    try:
        return run(args, ctx)
    except DrainTerminatorError as error:
        message = " ".join(str(error).split())
        print(f"{PROG}: error: {message}", file=ctx.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=ctx.stderr)
        return 130
