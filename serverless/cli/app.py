"""``drain-terminator``: the operator's command line (argparse; AWS only through adapters).

Every command takes ``--json`` (one JSON document on stdout) and prints aligned text
otherwise. Errors are one line on stderr (with ``--json``: one JSON document on stdout)
and a non-zero exit status, never a traceback: 0 success, 1 error, 2 usage, 3 the
command's check failed (``verify`` measured no shortening or could not tell, ``doctor``
found a problem, ``redrive`` left messages in the queue).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TextIO

from serverless.cli.commands import (
    cmd_doctor,
    cmd_drain,
    cmd_explain,
    cmd_migrate_sidecar,
    cmd_redrive,
    cmd_status,
    cmd_tags,
    cmd_verify,
)
from serverless.cli.context import DEFAULT_PREFIX, EXIT_ERROR, EXIT_USAGE, PROG, Context
from serverless.domain.accounts import ACCOUNT_ID
from serverless.domain.clock import Clock, SystemClock
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import StopAction
from serverless.settings import TABLE_NAME, TAG_PREFIX

__all__ = ["main"]

#: A shell's status for a process ended by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A command line argparse refused (raised instead of printing and exiting)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is raised, so ``--json`` can report it as JSON."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def _account_id(text: str) -> str:
    """argparse type: a 12-digit AWS account id."""
    value = text.strip()
    if not ACCOUNT_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a 12-digit account id: {text!r}")
    return value


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90, 30m, 2h, 1d)")
    value = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return value


def _whole_seconds(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"not whole seconds >= 0: {text!r}")
    return int(text)


def _version() -> str:
    """The installed distribution's version (the VERSION file's, through pyproject.toml)."""
    try:
        return importlib.metadata.version("ecs-drain-terminator")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


# -- the parser ------------------------------------------------------------------------------


def _tags_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "tags",
        parents=[common],
        help="validate and change (or print) the opt-in tags: only those given",
    )
    p.add_argument("--cluster", required=True, help="cluster name or ARN")
    p.add_argument("--service", required=True, help="service name")
    p.add_argument("--wait", metavar="N", help="wait-seconds: whole seconds after drain start")
    p.add_argument("--min-healthy-percent", metavar="P", help="guard: 0-100")
    p.add_argument("--max-stops-per-minute", metavar="M", help="guard: whole number >= 1")
    p.add_argument(
        "--dry-run",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--dry-run: log instead of StopTask; --no-dry-run: stop tasks (asks first)",
    )
    p.add_argument(
        "--opt-out",
        action="store_true",
        help="set enabled=false: drains are left to ECS (asks first)",
    )
    p.add_argument(
        "--stop-action",
        choices=["stop-task", "exec", "ssm-signal", "stop-task-then-exec"],
        help="how the task is stopped; what the action lacks is checked and reported",
    )
    p.add_argument("--exec-container", metavar="NAME", help="container exec/ssm-signal signal")
    p.add_argument("--stop-signal", metavar="SIG", help="signal name or number (default TERM)")
    p.add_argument("--stop-command", metavar="CMD", help="command run instead of kill")
    p.add_argument(
        "--ssm-fallback",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ssm-signal may follow exec (EC2 tasks)",
    )
    p.add_argument(
        "--remove",
        action="append",
        metavar="TAG",
        help="remove this tag (wait-seconds, min-healthy-percent, max-stops-per-minute, "
        "dry-run, stop-action, exec-container, stop-signal, stop-command, ssm-fallback); "
        "repeatable",
    )
    p.add_argument(
        "--replace",
        action="store_true",
        help="make the given tags the whole set under the prefix (removes the others)",
    )
    p.add_argument(
        "--yes", action="store_true", help="do not ask before ending dry-run or opting out"
    )
    p.add_argument(
        "--print",
        action="store_true",
        help="print the tags, the aws CLI command and the Terraform map; change nothing",
    )
    p.set_defaults(run=cmd_tags)


def _drain_parser(
    commands: Any, common: argparse.ArgumentParser, ledger: argparse.ArgumentParser
) -> None:
    p = commands.add_parser(
        "drain",
        parents=[common, ledger],
        help="retire one running service task gracefully: out of rotation now, stopped by "
        "the sweeper after the wait",
    )
    p.add_argument("task", metavar="TASK", help="task ARN or id")
    p.add_argument("--cluster", help="cluster name or ARN (default: the one the ARN names)")
    p.add_argument(
        "--wait",
        type=_whole_seconds,
        metavar="S",
        help="seconds from deregistration to the stop (default: the service's wait-seconds)",
    )
    p.add_argument("--dry-run", action="store_true", help="say what it would do; change nothing")
    p.add_argument(
        "--yes",
        action="store_true",
        help="do not ask before deregistering; accept a wait shorter than an NLB's ~2 minutes",
    )
    p.set_defaults(run=cmd_drain)


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument("--region", help="AWS region (default: the SDK's: AWS_REGION, profile)")
    common.add_argument("--profile", help="AWS profile (default: the SDK's credential chain)")
    common.add_argument(
        "--tag-prefix", help=f"service tag prefix (default: {TAG_PREFIX} or {DEFAULT_PREFIX!r})"
    )
    ledger = _Parser(add_help=False)
    ledger.add_argument("--table", help=f"ledger table name (default: {TABLE_NAME})")
    ledger.add_argument(
        "--from-terraform",
        metavar="DIR",
        help="read the table name from `terraform output -json` in DIR",
    )

    parser = _Parser(
        prog=PROG,
        description="Operate ecs-drain-terminator: what it is doing, why, and whether "
        "StopTask shortens your drains.",
        epilog="Exit status: 0 ok, 1 error, 2 usage, 3 the check failed (verify: no "
        "shortening; doctor: a problem; redrive: messages left). Runbook: docs/operations.md",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "doctor",
        parents=[common, ledger],
        help="preflight and health: one line per check with its fix",
    )
    p.add_argument(
        "--name-prefix",
        help="the module's name_prefix (default: from Terraform, or the table name "
        "without -ledger)",
    )
    p.add_argument(
        "--cluster",
        action="append",
        help="look for opted-in services only here (repeatable; default: every cluster)",
    )
    p.set_defaults(run=cmd_doctor)

    p = commands.add_parser(
        "redrive",
        parents=[common, ledger],
        help="replay the dead-letter queue's events through the task-events logic",
    )
    p.add_argument(
        "--name-prefix",
        help="the module's name_prefix (default: from Terraform, or the table name "
        "without -ledger): the queue is <name_prefix>-dlq",
    )
    p.add_argument("--queue-url", metavar="URL", help="the dead-letter queue's URL")
    p.set_defaults(run=cmd_redrive)

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
    p.add_argument("--cluster", help="with --service: the service's cluster (default: any)")
    p.add_argument(
        "--account",
        type=_account_id,
        help="only services of this account (12 digits): a hub's own or a member's",
    )
    p.set_defaults(run=cmd_status)

    p = commands.add_parser(
        "explain", parents=[common, ledger], help="why a task was (or was not) stopped"
    )
    p.add_argument("task", metavar="TASK", help="task ARN or id")
    p.add_argument("--cluster", help="cluster of a task given by id without a ledger record")
    p.set_defaults(run=cmd_explain)

    _drain_parser(commands, common, ledger)

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
        "--sidecar",
        metavar="NAME",
        help="the NLB sidecar's container name, if it carries none of its documented marks",
    )
    p.add_argument(
        "--action",
        choices=[action.value for action in StopAction],
        help="measure this stop action: set the service's <prefix>stop-action tag to it "
        "before deploying (default: measure StopTask, tags unchanged)",
    )
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

    _tags_parser(commands, common)

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
    words = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in words[: words.index("--") if "--" in words else len(words)]
    parser = _parser()
    try:
        with contextlib.redirect_stdout(ctx.stdout), contextlib.redirect_stderr(ctx.stderr):
            args = parser.parse_args(words)
    except SystemExit as exit_:  # argparse: --help or --version (0), already printed
        return int(exit_.code or 0)
    except UsageError as error:
        if as_json:
            return _fail(ctx, True, "usage", str(error), EXIT_USAGE)
        error.parser.print_usage(ctx.stderr)
        print(f"{error.parser.prog}: error: {error}", file=ctx.stderr)
        return EXIT_USAGE
    run: Callable[[argparse.Namespace, Context], int] = args.run
    try:
        return run(args, ctx)
    except DrainTerminatorError as error:
        return _fail(ctx, as_json, type(error).__name__, str(error), EXIT_ERROR)
    except KeyboardInterrupt:
        return _fail(ctx, as_json, "interrupted", "interrupted", 130)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other command-line tools do.
        if ctx.stdout is sys.stdout:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:  # a bug must still not print a traceback
        return _fail(
            ctx,
            as_json,
            "internal",
            f"internal error ({type(error).__name__}: {error}); please report it with the "
            "command you ran",
            EXIT_ERROR,
        )


def _fail(ctx: Context, as_json: bool, kind: str, message: str, status: int) -> int:
    """Report an error: one line on stderr, or (``--json``) one JSON document on stdout."""
    text = " ".join(message.split())
    if as_json:
        document = {"error": {"type": kind, "message": text}, "exit_status": status}
        print(json.dumps(document, indent=2), file=ctx.stdout)
    elif kind == "interrupted":
        print(f"{PROG}: interrupted", file=ctx.stderr)
    else:
        print(f"{PROG}: error: {text}", file=ctx.stderr)
    return status
