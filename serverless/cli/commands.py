"""The commands: each gathers through the adapters, words through the pure modules."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from serverless.cli import explain, sidecar, status, tags
from serverless.cli.aws.ecs import ServiceAdmin, TargetGroupReader
from serverless.cli.context import (
    EXIT_ERROR,
    EXIT_NOT_SHORTENED,
    EXIT_OK,
    PROG,
    Context,
    default_wait,
    ledger_and_prefix,
    tag_prefix,
)
from serverless.cli.model import ServiceView, TaskView, task_id
from serverless.cli.render import when
from serverless.cli.verify import Verifier
from serverless.domain.arns import cluster_name_of
from serverless.domain.errors import ConfigError, NotFoundError, PermanentAwsError
from serverless.domain.tags import PolicyResult, parse_policy

__all__ = ["cmd_explain", "cmd_migrate_sidecar", "cmd_status", "cmd_tags", "cmd_verify"]


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    """Open drains per service, recent stops, problems."""
    ledger, prefix = ledger_and_prefix(args, ctx)
    records = ledger.records()
    if args.service:
        records = [r for r in records if r.service_name == args.service]
    ecs = ServiceAdmin(ctx.access(args))
    wait_default = default_wait(ctx)
    policies: dict[tuple[str, str], PolicyResult | str | None] = {}
    for key in {(r.cluster_arn, r.service_name) for r in records}:
        try:
            view = ecs.describe_service(*key)
            policies[key] = parse_policy(view.tags, prefix, wait_default)
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
    # A long task ARN names its cluster (task/<cluster>/<id>); an old-format one (task/<id>,
    # any partition) or a bare id does not: --cluster is then needed.
    return cluster_name_of(task_ref)


def _live_task(ecs: ServiceAdmin, cluster: str, task_ref: str) -> TaskView | None:
    found = ecs.describe_tasks(cluster, [task_ref])
    return found.get(task_ref) or next(
        (v for v in found.values() if task_id(v.task_arn) == task_id(task_ref)), None
    )


def cmd_explain(args: argparse.Namespace, ctx: Context) -> int:
    """A task's history and the terminator's decision, in words."""
    ledger, prefix = ledger_and_prefix(args, ctx)
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
                policy = parse_policy(view.tags, prefix, default_wait(ctx))
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
    ledger, prefix = ledger_and_prefix(args, ctx)
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
        default_wait=default_wait(ctx),
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
    prefix = tag_prefix(args, ctx)
    tagset = tags.build_tags(
        prefix,
        default_wait(ctx),
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
        prefix=tag_prefix(args, ctx),
        default_wait=default_wait(ctx),
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
