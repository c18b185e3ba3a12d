"""``drain-terminator``: the operator's command line (argparse; AWS only through adapters).

Every command takes ``--json`` (one JSON document on stdout) and prints aligned text
otherwise. Errors are one line on stderr and a non-zero exit status, never a traceback:
0 success, 1 error, 2 usage, 3 ``verify`` measured no shortening (or could not tell).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from serverless.adapters.operator_ecs import ServiceAdmin, TargetGroupReader
from serverless.adapters.operator_ledger import LedgerReader
from serverless.adapters.operator_session import AwsAccess
from serverless.cli import explain, sidecar, status, tags, terraform_outputs
from serverless.cli.model import ServiceView, TaskView, task_id
from serverless.cli.render import when
from serverless.cli.verify import Verifier
from serverless.clock import Clock, SystemClock
from serverless.errors import ConfigError, DrainTerminatorError, NotFoundError, PermanentAwsError
from serverless.policy import PolicyResult, parse_policy
from serverless.settings import DEFAULT_WAIT_SECONDS, TABLE_NAME, TAG_PREFIX

__all__ = ["EXIT_ERROR", "EXIT_NOT_SHORTENED", "EXIT_OK", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_SHORTENED = 0, 1, 2, 3
PROG = "drain-terminator"
DEFAULT_PREFIX = "drain-terminator:"
DEFAULT_WAIT = 120


@dataclass(slots=True)
class Context:
    """What a command may use: streams, clock, environment, AWS access."""

    stdout: TextIO
    stderr: TextIO
    stdin: TextIO
    clock: Clock
    environ: Mapping[str, str]
    clients: Mapping[str, Any] | None

    def access(self, args: argparse.Namespace) -> AwsAccess:
        """AWS access with the command's --region/--profile (or the injected clients)."""
        return AwsAccess(region=args.region, profile=args.profile, clients=self.clients)

    def print(self, text: str = "") -> None:
        """A line for people (stdout)."""
        print(text, file=self.stdout)

    def json(self, document: object) -> None:
        """The one JSON document of a --json run."""
        print(json.dumps(document, indent=2, sort_keys=False), file=self.stdout)


# -- settings shared by the commands ------------------------------------------------------


def _prefix(args: argparse.Namespace, ctx: Context, from_terraform: str | None = None) -> str:
    prefix = args.tag_prefix or from_terraform or ctx.environ.get(TAG_PREFIX) or DEFAULT_PREFIX
    if not prefix.strip():
        raise ConfigError("the tag prefix must not be empty")
    return prefix


def _default_wait(ctx: Context) -> int:
    raw = ctx.environ.get(DEFAULT_WAIT_SECONDS, "").strip()
    if not raw:
        return DEFAULT_WAIT
    if not raw.isdigit():
        raise ConfigError(f"{DEFAULT_WAIT_SECONDS} must be whole seconds, got {raw!r}")
    return int(raw)


def _ledger(args: argparse.Namespace, ctx: Context) -> tuple[LedgerReader, str]:
    """The ledger (from --table, --from-terraform or TABLE_NAME) and the tag prefix."""
    terraform_prefix = None
    if args.table:
        table = args.table
    elif args.from_terraform:
        found = terraform_outputs.read_outputs(args.from_terraform)
        table, terraform_prefix = found.table_name, found.tag_prefix
    elif ctx.environ.get(TABLE_NAME, "").strip():
        table = ctx.environ[TABLE_NAME].strip()
    else:
        raise ConfigError(
            "which ledger? pass --table NAME, set TABLE_NAME, or --from-terraform DIR "
            "(the directory you ran terraform apply in)"
        )
    return LedgerReader(table, ctx.access(args)), _prefix(args, ctx, terraform_prefix)


def _duration(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90, 30m, 2h, 1d)")
    value = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return value


# -- commands --------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    """Open drains per service, recent stops, problems."""
    ledger, prefix = _ledger(args, ctx)
    records = ledger.records()
    if args.service:
        records = [r for r in records if r.service_name == args.service]
    ecs = ServiceAdmin(ctx.access(args))
    default_wait = _default_wait(ctx)
    policies: dict[tuple[str, str], PolicyResult | str | None] = {}
    for key in {(r.cluster_arn, r.service_name) for r in records}:
        try:
            view = ecs.describe_service(*key)
            policies[key] = parse_policy(view.tags, prefix, default_wait)
        except NotFoundError:
            policies[key] = None
        except PermanentAwsError as error:
            policies[key] = str(error)
    report = status.build_status(records, ctx.clock.now(), args.since, policies, ledger.table_name)
    if args.json:
        ctx.json(report)
    else:
        ctx.print(status.render(report))
    return EXIT_OK


def _cluster_of(task_ref: str, cluster: str | None) -> str | None:
    if cluster:
        return cluster
    # Long task ARN: arn:aws:ecs:<region>:<account>:task/<cluster>/<id>
    path = task_ref.partition(":task/")[2]
    return path.split("/", 1)[0] if path.count("/") == 1 else None


def _live_task(ecs: ServiceAdmin, cluster: str, task_ref: str) -> TaskView | None:
    found = ecs.describe_tasks(cluster, [task_ref])
    return found.get(task_ref) or next(
        (v for v in found.values() if task_id(v.task_arn) == task_id(task_ref)), None
    )


def cmd_explain(args: argparse.Namespace, ctx: Context) -> int:
    """A task's history and the terminator's decision, in words."""
    ledger, prefix = _ledger(args, ctx)
    ecs = ServiceAdmin(ctx.access(args))
    now = ctx.clock.now()
    record = ledger.find(args.task)
    if record is not None:
        facts: dict[str, object] = {
            "service": record.service_name,
            "cluster": record.cluster_arn,
            "record": f"{record.status.value}"
            + (f", outcome {record.outcome.value}" if record.outcome else ""),
            "deadline": when(record.deadline),
        }
        try:
            live = _live_task(ecs, record.cluster_arn, record.task_arn)
        except (NotFoundError, PermanentAwsError):
            live = None
        facts["ECS now"] = (
            f"{live.last_status} (desired {live.desired_status})"
            if live
            else "not known to ECS any more"
        )
        result = explain.Explanation(
            record.task_arn, explain.explain_record(record, now), explain.history(record), facts
        )
    else:
        cluster = _cluster_of(args.task, args.cluster)
        if cluster is None:
            raise NotFoundError(
                f"task {args.task} has no ledger record; pass --cluster so ECS can be asked "
                "about it"
            )
        live = _live_task(ecs, cluster, args.task)
        if live is None:
            raise NotFoundError(
                f"task {args.task} not found: no ledger record, and ECS does not know it in "
                f"cluster {cluster} (stopped tasks are kept about an hour)"
            )
        view: ServiceView | None = None
        policy = None
        if live.service_name:
            try:
                view = ecs.describe_service(cluster, live.service_name)
                policy = parse_policy(view.tags, prefix, _default_wait(ctx))
            except NotFoundError:
                view = None
        decision = explain.explain_untracked(args.task, live, view, policy, prefix)
        result = explain.Explanation(
            live.task_arn,
            decision,
            [],
            {
                "service": live.service_name,
                "cluster": cluster,
                "record": "none",
                "ECS now": f"{live.last_status} (desired {live.desired_status})",
            },
        )
    if args.json:
        ctx.json(result.as_dict())
    else:
        ctx.print(result.render())
    return EXIT_OK


def _confirm(ctx: Context, question: str) -> bool:
    if not ctx.stdin.isatty():
        raise ConfigError(
            "refusing to force a deployment without confirmation: stdin is not a terminal; "
            "pass --yes"
        )
    print(f"{question} [y/N] ", end="", file=ctx.stderr, flush=True)
    return ctx.stdin.readline().strip().lower() in {"y", "yes"}


def cmd_verify(args: argparse.Namespace, ctx: Context) -> int:
    """Measure whether StopTask shortens a drain of the service."""
    ledger, prefix = _ledger(args, ctx)
    access = ctx.access(args)
    progress_stream = ctx.stderr if args.json else ctx.stdout

    def progress(line: str) -> None:
        print(line, file=progress_stream, flush=True)

    verifier = Verifier(
        ServiceAdmin(access),
        TargetGroupReader(access),
        ledger,
        ctx.clock,
        prefix=prefix,
        default_wait=_default_wait(ctx),
        progress=progress,
        poll_seconds=args.poll,
        confirm_seconds=args.confirm_after,
    )
    force = not args.wait_natural
    plan = verifier.plan(args.cluster, args.service, force=force)
    progress(plan.describe())
    if force and not args.yes:
        question = (
            f"Force a new deployment of {plan.service.name} ({len(plan.running)} task(s) "
            "will be replaced, as in any deployment)?"
        )
        if not _confirm(ctx, question):
            print(f"{PROG}: nothing changed", file=ctx.stderr)
            return EXIT_ERROR
    verdict = verifier.run(plan, force=force, timeout=args.timeout)
    if args.json:
        ctx.json(verdict.as_dict())
    else:
        ctx.print(verdict.text)
    return EXIT_OK if verdict.ok else EXIT_NOT_SHORTENED


def cmd_tags(args: argparse.Namespace, ctx: Context) -> int:
    """Validate the opt-in tags and apply (or print) them."""
    prefix = _prefix(args, ctx)
    tagset = tags.build_tags(
        prefix,
        _default_wait(ctx),
        wait=args.wait,
        min_healthy_percent=args.min_healthy_percent,
        max_stops_per_minute=args.max_stops_per_minute,
        dry_run=args.dry_run,
    )
    removed: list[str] = []
    if args.print:
        arn = (
            tags.service_arn(args.cluster, args.service)
            if args.cluster.startswith("arn:")
            else "<service ARN>"
        )
        applied = False
    else:
        ecs = ServiceAdmin(ctx.access(args))
        view = ecs.describe_service(args.cluster, args.service)
        if not view.long_arn:
            raise ConfigError(
                f"service {view.arn} uses the short ARN format, which cannot carry tags: "
                "enable serviceLongArnFormat (aws ecs put-account-setting) and recreate it"
            )
        arn = view.arn
        removed = tagset.stale(view.tags)
        ecs.tag(arn, tagset.tags)
        if removed:
            ecs.untag(arn, removed)
        applied = True
    if args.json:
        ctx.json(
            {
                "service_arn": arn,
                "applied": applied,
                "tags": tagset.tags,
                "removed": removed,
                "aws_cli": tagset.aws_cli(arn),
                "terraform": tagset.terraform(),
            }
        )
        return EXIT_OK
    ctx.print(f"{'tagged' if applied else 'tags for'} {arn}:")
    for key, value in tagset.tags.items():
        ctx.print(f"  {key} = {value}")
    if removed:
        ctx.print(f"removed: {', '.join(removed)}")
    if not applied:
        ctx.print("\nwith the AWS CLI:")
        ctx.print(f"  {tagset.aws_cli(arn)}")
        ctx.print("\nin Terraform (aws_ecs_service):")
        ctx.print("  " + tagset.terraform().replace("\n", "\n  "))
    return EXIT_OK


def cmd_migrate_sidecar(args: argparse.Namespace, ctx: Context) -> int:
    """Tags and a task definition without the sidecar, from one with it."""
    try:
        text = ctx.stdin.read() if args.file == "-" else Path(args.file).read_text()
        document = json.loads(text)
    except OSError as error:
        raise sidecar.SidecarError(f"cannot read {args.file}: {error.strerror}") from error
    except ValueError as error:
        raise sidecar.SidecarError(f"{args.file} is not JSON: {error}") from error
    migration = sidecar.migrate(
        document,
        prefix=_prefix(args, ctx),
        default_wait=_default_wait(ctx),
        sidecar=args.sidecar,
        sidecar_image=args.sidecar_image,
    )
    rendered = json.dumps(migration.task_definition, indent=2) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(rendered)
        except OSError as error:
            raise sidecar.SidecarError(f"cannot write {args.output}: {error.strerror}") from error
    if args.json:
        ctx.json({**migration.as_dict(), "output": args.output})
        return EXIT_OK
    family = migration.task_definition.get("family", "?")
    ctx.print(f"sidecar: container {migration.sidecar!r} of {family} ({migration.recognised_by})")
    ctx.print("tags for the service (instead of the sidecar):")
    for key, value in migration.tags.items():
        ctx.print(f"  {key} = {value}")
    wait = next((v for k, v in migration.tags.items() if k.endswith("wait-seconds")), None)
    ctx.print(
        "  apply: drain-terminator tags --cluster CLUSTER --service SERVICE"
        + (f" --wait {wait}" if wait else "")
    )
    ctx.print("notes:")
    for note in migration.notes:
        ctx.print(f"  - {note}")
    if args.output:
        ctx.print(f"task definition without the sidecar written to {args.output}")
        ctx.print(
            f"  register: aws ecs register-task-definition --cli-input-json file://{args.output}"
        )
    else:
        ctx.print("task definition without the sidecar (register-task-definition input):")
        ctx.print(rendered.rstrip())
    return EXIT_OK


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
    p.add_argument("--cluster", required=True)
    p.add_argument("--service", required=True)
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
    p.add_argument("--cluster", required=True)
    p.add_argument("--service", required=True)
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
