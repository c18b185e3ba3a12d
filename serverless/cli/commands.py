"""The commands: each gathers through the adapters, words through the pure modules."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path

from serverless.cli import explain, sidecar, status, tags
from serverless.cli.aws.deployment import DeploymentReader
from serverless.cli.aws.ecs import ServiceAdmin, TargetGroupReader
from serverless.cli.aws.iam import RolePermissions
from serverless.cli.aws.session import AwsAccess
from serverless.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_ERROR,
    EXIT_NOT_SHORTENED,
    EXIT_OK,
    PROG,
    Context,
    default_action,
    default_wait,
    ledger_and_prefix,
    ledger_prefix_and_outputs,
    tag_prefix,
)
from serverless.cli.doctor import Doctor
from serverless.cli.drain import Drainer
from serverless.cli.drain_plan import NLB_PROPAGATION_SECONDS, DrainRefused
from serverless.cli.model import ServiceView, TaskView, task_id
from serverless.cli.names import ResourceNames
from serverless.cli.prerequisites import EXEC_ROLE_ACTIONS, Assessment, ServiceFacts, assess
from serverless.cli.redrive import Redriver
from serverless.cli.render import when
from serverless.cli.verify import Verifier
from serverless.domain.accounts import scope_of
from serverless.domain.arns import cluster_name_of
from serverless.domain.errors import (
    ConfigError,
    DrainTerminatorError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.domain.model import ServicePolicy, StopAction
from serverless.domain.tags import PolicyResult, parse_policy
from serverless.settings import (
    DEFAULT_WAIT_SECONDS,
    SWEEPER_FUNCTION_NAME,
    TABLE_NAME,
    TAG_PREFIX,
    Settings,
    load_settings,
)

__all__ = [
    "cmd_doctor",
    "cmd_drain",
    "cmd_explain",
    "cmd_migrate_sidecar",
    "cmd_redrive",
    "cmd_status",
    "cmd_tags",
    "cmd_verify",
]


def _ledger_hint(args: argparse.Namespace) -> str:
    """How the user named the ledger, to repeat it in a suggested command."""
    if args.table:
        return f"--table {args.table}"
    if args.from_terraform:
        return f"--from-terraform {args.from_terraform}"
    return ""


@contextlib.contextmanager
def _functions_quiet() -> Iterator[None]:
    """The functions' Powertools logs and metrics stay out of the command's output."""
    from serverless.observability import logger, metrics

    level = logger.log_level
    logger.setLevel("CRITICAL")
    try:
        yield
    finally:
        logger.setLevel(level)
        metrics.clear_metrics()


def cmd_redrive(args: argparse.Namespace, ctx: Context) -> int:
    """Replay the dead-letter queue through the task-events logic; exit 3 if any is left."""
    from serverless.adapters import ports_from_clients
    from serverless.app import bootstrap

    ledger, prefix, outputs = ledger_prefix_and_outputs(args, ctx)
    access = ctx.access(args)
    names = ResourceNames.of(ledger.table_name, args.name_prefix, outputs)
    reader = DeploymentReader(access)
    queue = args.queue_url or names.queue
    if queue is None:
        raise ConfigError(
            "which dead-letter queue? pass --queue-url URL, --from-terraform DIR or "
            "--name-prefix (the module's name_prefix)"
        )
    url = queue if queue.startswith(("https://", "http://")) else reader.queue_url(queue)
    if url is None:
        raise NotFoundError(
            f"dead-letter queue {queue!r} not found: check --name-prefix or pass --queue-url"
        )
    # The task-events function's own settings where readable (its DEFAULT_WAIT_SECONDS...),
    # with this ledger and prefix; no early sweeper start from here.
    environment: dict[str, str] = {}
    if names.task_events_function:
        with contextlib.suppress(DrainTerminatorError):
            function = reader.function(names.task_events_function)
            environment = dict(function.environment) if function else {}
    environment.setdefault(DEFAULT_WAIT_SECONDS, str(default_wait(ctx)))
    environment.update({TABLE_NAME: ledger.table_name, TAG_PREFIX: prefix})
    environment.pop(SWEEPER_FUNCTION_NAME, None)
    settings = load_settings(environment)
    clients = {
        name: access.call("client", functools.partial(access.client, name))
        for name in ("dynamodb", "ecs", "elbv2")
    }
    app = bootstrap(
        settings,
        clock=ctx.clock,
        ports=ports_from_clients(
            settings, dynamodb=clients["dynamodb"], ecs=clients["ecs"], elbv2=clients["elbv2"]
        ),
    )
    with _functions_quiet():
        report = Redriver(reader, url, app.handle_task_event).run()
    if args.json:
        ctx.json(report.as_dict())
    else:
        ctx.print(report.render())
    return EXIT_CHECK_FAILED if report.left else EXIT_OK


def cmd_doctor(args: argparse.Namespace, ctx: Context) -> int:
    """Preflight and health: one line per check, exit 3 when a problem is found."""
    ledger, prefix, outputs = ledger_prefix_and_outputs(args, ctx)
    access = ctx.access(args)
    names = ResourceNames.of(ledger.table_name, args.name_prefix, outputs)
    report = Doctor(
        names,
        DeploymentReader(access),
        ServiceAdmin(access),
        TargetGroupReader(access),
        ledger,
        ctx.clock,
        prefix=prefix,
        default_wait=default_wait(ctx),
        clusters=args.cluster or (),
        ledger_hint=_ledger_hint(args),
    ).run()
    if args.json:
        ctx.json(report.as_dict())
    else:
        ctx.print(report.render())
    return EXIT_CHECK_FAILED if report.problems else EXIT_OK


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    """Open drains per service, recent stops, problems."""
    ledger, prefix = ledger_and_prefix(args, ctx)
    records = ledger.records()
    ecs = ServiceAdmin(ctx.access(args))
    wait_default = default_wait(ctx)
    policies: dict[tuple[str, str], PolicyResult | str | None] = {}
    quiet: list[tuple[str, str]] = []
    if args.account:
        # A hub's ledger holds every member's drains: those of the account's clusters.
        records = [r for r in records if _account_of(r.cluster_arn) == args.account]
    if args.service:
        records = [
            r
            for r in records
            if r.service_name == args.service
            and (not args.cluster or _cluster_matches(r.cluster_arn, args.cluster))
        ]
        if not records:
            found = ecs.find_service(args.service, args.cluster)
            if not found:
                where = f"cluster {args.cluster!r}" if args.cluster else "any cluster"
                region = f" of region {ctx.access(args).region}" if ctx.access(args).region else ""
                raise NotFoundError(
                    f"service {args.service!r} not found: no ledger records, and no service "
                    f"of that name in {where}{region}"
                )
            for view in found:
                key = (view.cluster_arn, view.name)
                quiet.append(key)
                policies[key] = parse_policy(view.tags, prefix, wait_default)
    for key in {(r.cluster_arn, r.service_name) for r in records} - set(policies):
        try:
            view = ecs.describe_service(*key)
            policies[key] = parse_policy(view.tags, prefix, wait_default, default_action(ctx))
        except NotFoundError:
            policies[key] = None
        except PermanentAwsError as error:
            policies[key] = str(error)
    report = status.build_status(
        records, ctx.clock.now(), args.since, policies, ledger.table_name, quiet
    )
    if args.json:
        ctx.json(report)
    else:
        ctx.print(status.render(report))
    return EXIT_OK


def _scope_facts(task_arn: str) -> dict[str, object]:
    """The task's account and region (a hub acts for several accounts), when its ARN
    names them."""
    try:
        scope = scope_of(task_arn)
    except ValueError:
        return {}
    return {"account": scope.account, "region": scope.region}


def _account_of(cluster_arn: str) -> str | None:
    try:
        return scope_of(cluster_arn).account
    except ValueError:
        return None


def _cluster_matches(cluster_arn: str, cluster: str) -> bool:
    return cluster_arn == cluster or cluster_arn.rsplit("/", 1)[-1] == cluster


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
            **_scope_facts(record.task_arn),
            "record": f"{record.status.value}"
            + (f", outcome {record.outcome.value}" if record.outcome else ""),
            "cause": record.cause,
            "deadline": when(record.deadline),
        }
        if record.plan:
            facts["stop plan"] = ", ".join(str(step) for step in record.plan)
            facts["stop steps"] = ", ".join(f"{a.action} {a.outcome}" for a in record.actions)
        if record.stopped_by is not None:
            facts["stopped by"] = str(record.stopped_by)
        try:
            live = _live_task(ecs, record.cluster_arn, record.task_arn)
        except (NotFoundError, PermanentAwsError):
            live = None
        facts["ECS now"] = (
            f"{live.last_status} (desired {live.desired_status})"
            if live
            else "not known to ECS any more"
        )
        dry_run: bool | None = None
        if record.is_open:
            try:
                tagged = ecs.describe_service(record.cluster_arn, record.service_name).tags
                dry_run = parse_policy(tagged, prefix, default_wait(ctx)).policy.dry_run
            except (NotFoundError, PermanentAwsError):
                dry_run = None
        result = explain.Explanation(
            record.task_arn,
            explain.explain_record(record, now, dry_run),
            explain.history(record),
            facts,
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
                policy = parse_policy(view.tags, prefix, default_wait(ctx), default_action(ctx))
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
                **_scope_facts(live.task_arn),
                "record": "none",
                "ECS now": f"{live.last_status} (desired {live.desired_status})",
            },
        )
    if args.json:
        ctx.json(result.as_dict())
    else:
        ctx.print(result.render())
    return EXIT_OK


def _declined(args: argparse.Namespace, ctx: Context) -> int:
    """The user answered no: nothing changed (one line, or one JSON document)."""
    if args.json:
        ctx.json(
            {"error": {"type": "declined", "message": "nothing changed"}, "exit_status": EXIT_ERROR}
        )
    else:
        print(f"{PROG}: nothing changed", file=ctx.stderr)
    return EXIT_ERROR


def _confirm(ctx: Context, question: str, action: str = "force a deployment") -> bool:
    if not ctx.stdin.isatty():
        raise ConfigError(
            f"refusing to {action} without confirmation: stdin is not a terminal; pass --yes"
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
        default_action=default_action(ctx),
        progress=progress,
        poll_seconds=args.poll,
        confirm_seconds=args.confirm_after,
        sidecar=args.sidecar,
        assess=lambda view, policy: assess_service(access, ServiceAdmin(access), view, policy),
        action=args.action,
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
            return _declined(args, ctx)
    verifier.choose_action(plan)
    verdict = verifier.run(plan, force=force, timeout=args.timeout)
    if args.json:
        prerequisites = plan.prerequisites.as_dict() if plan.prerequisites else None
        ctx.json({**verdict.as_dict(), "prerequisites": prerequisites})
    else:
        ctx.print(verdict.text)
    return EXIT_OK if verdict.ok else EXIT_NOT_SHORTENED


def cmd_drain(args: argparse.Namespace, ctx: Context) -> int:
    """Take one running service task out of rotation; the sweeper stops it after the wait."""
    from serverless.adapters import ports_from_clients

    ledger, prefix = ledger_and_prefix(args, ctx)
    cluster = _cluster_of(args.task, args.cluster)
    if cluster is None:
        raise ConfigError(
            f"which cluster? task {args.task} does not name one: pass --cluster (name or ARN)"
        )
    access = ctx.access(args)
    clients = {
        name: access.call("client", functools.partial(access.client, name))
        for name in ("dynamodb", "ecs", "elbv2")
    }
    ports = ports_from_clients(
        Settings(table_name=ledger.table_name, tag_prefix=prefix),
        dynamodb=clients["dynamodb"],
        ecs=clients["ecs"],
        elbv2=clients["elbv2"],
    )
    drainer = Drainer(
        access,
        ports,
        ctx.clock,
        prefix=prefix,
        default_wait=default_wait(ctx),
        default_action=default_action(ctx),
    )
    plan = drainer.plan(args.task, cluster, args.wait)
    if args.dry_run:
        if args.json:
            ctx.json(plan.as_dict(None, dry_run=True))
        else:
            ctx.print("\n".join(plan.lines(None, dry_run=True)))
            for warning in plan.warnings:
                ctx.print(f"  warning: {warning}")
            ctx.print("nothing changed (--dry-run)")
        return EXIT_OK
    if plan.needs_yes and not args.yes:
        raise DrainRefused(
            f"{plan.needs_yes}; use --wait {NLB_PROPAGATION_SECONDS} or more, or pass --yes "
            "to accept it"
        )
    preview = ctx.stderr if args.json else ctx.stdout
    if not args.yes:
        print("\n".join(plan.lines(None, dry_run=False)), file=preview)
        question = (
            f"Take task {task_id(plan.task_arn)} out of rotation now ({plan.target_count} "
            f"target(s)) and have the sweeper stop it after {plan.wait_seconds} s?"
        )
        if not _confirm(ctx, question, f"take task {task_id(plan.task_arn)} out of rotation"):
            return _declined(args, ctx)
        # The answer may come minutes later: the guards and targets are read again.
        fresh = drainer.plan(args.task, cluster, args.wait)
        if [(r.group.arn, r.targets) for r in fresh.removals] != [
            (r.group.arn, r.targets) for r in plan.removals
        ]:
            raise DrainRefused(
                f"the targets of task {task_id(plan.task_arn)} changed while asking: "
                "nothing changed; run the command again"
            )
        plan = fresh
    started_at = drainer.apply(plan)
    if args.json:
        ctx.json(plan.as_dict(started_at, dry_run=False))
        return EXIT_OK
    for warning in plan.warnings:
        print(f"{PROG}: warning: {warning}", file=ctx.stderr)
    ctx.print("\n".join(plan.lines(started_at, dry_run=False)))
    ctx.print(f"  follow it: {PROG} explain {task_id(plan.task_arn)} --cluster {cluster}")
    return EXIT_OK


def _tag_warnings(
    change: tags.TagChange, view: ServiceView, target_groups: TargetGroupReader
) -> list[str]:
    """What the new tags mean against the service's target groups (nothing refused)."""
    policy = change.policy
    if not policy.enabled:
        return []
    if not view.target_group_arns:
        return [
            f"service {view.name} has no load balancer target group: its tasks do not drain, "
            "so the terminator has nothing to do"
        ]
    warnings = []
    for arn in view.target_group_arns:
        name = arn.split(":")[-1]
        try:
            delay = target_groups.deregistration_delay(arn)
        except (NotFoundError, PermanentAwsError) as error:
            warnings.append(f"could not read the deregistration delay of {name}: {error}")
            continue
        if policy.wait_seconds >= delay:
            warnings.append(
                f"wait-seconds {policy.wait_seconds} is not shorter than the deregistration "
                f"delay of {name} ({delay} s): ECS ends the drain first, so the terminator "
                "never stops a task early; lower the wait or raise the delay"
            )
    return warnings


def service_facts(
    access: AwsAccess, ecs: ServiceAdmin, view: ServiceView, policy: ServicePolicy
) -> ServiceFacts:
    """What can be read of a service's stop-action prerequisites: its settings, its task
    definition's containers and task role, and (IAM's simulator) what that role may do."""
    definition = ecs.task_definition(view.task_definition) if view.task_definition else {}
    containers = tuple(str(c.get("name")) for c in definition.get("containerDefinitions", []))
    role = definition.get("taskRoleArn") or None
    container = policy.exec_container or next(iter(view.load_balanced_containers), None)
    denied: tuple[str, ...] | None = None
    unread = ""
    if role and policy.stop_action in {StopAction.EXEC, StopAction.STOP_TASK_THEN_EXEC}:
        try:
            denied = RolePermissions(access).denied(str(role), EXEC_ROLE_ACTIONS)
        except DrainTerminatorError as error:
            unread = f"IAM simulator: {error}"
        except NotImplementedError:  # local AWS endpoints without the simulator
            unread = "IAM simulator not available"
    return ServiceFacts(
        service=view.name,
        enable_execute_command=view.enable_execute_command,
        launch_types=view.launch_types,
        container=container,
        containers=containers,
        task_role_arn=str(role) if role else None,
        role_denied=denied,
        role_unread=unread,
    )


def assess_service(
    access: AwsAccess, ecs: ServiceAdmin, view: ServiceView, policy: ServicePolicy
) -> Assessment:
    """The stop action's prerequisites for ``view``, as far as they can be read."""
    facts = service_facts(access, ecs, view, policy)
    return assess(policy.stop_action, facts, ssm_fallback=policy.ssm_fallback)


def _prerequisites_lines(assessment: Assessment | None, stop_action: str | None) -> list[str]:
    """The tags command's line about the stop action's prerequisites (none unless set)."""
    if assessment is not None:
        return [f"prerequisites: {assessment.line()}"]
    if stop_action is not None:
        return ["prerequisites: not checked (--print reads nothing from AWS)"]
    return []


def cmd_tags(args: argparse.Namespace, ctx: Context) -> int:
    """Validate the opt-in tags and apply (or print) them: only those given."""
    prefix = tag_prefix(args, ctx)
    given = {
        "wait": args.wait,
        "min_healthy_percent": args.min_healthy_percent,
        "max_stops_per_minute": args.max_stops_per_minute,
        "dry_run": args.dry_run,
        "opt_out": args.opt_out,
        "remove": args.remove or (),
        "stop_action": args.stop_action,
        "exec_container": args.exec_container,
        "stop_signal": args.stop_signal,
        "stop_command": args.stop_command,
        "ssm_fallback": args.ssm_fallback,
    }
    warnings: list[str] = []
    assessment: Assessment | None = None
    if args.print:
        arn = (
            tags.service_arn(args.cluster, args.service)
            if args.cluster.startswith("arn:")
            else "<service ARN>"
        )
        change = tags.plan_change(prefix, default_wait(ctx), {}, replace=True, **given)
        applied = False
    else:
        access = ctx.access(args)
        ecs = ServiceAdmin(access)
        view = ecs.describe_service(args.cluster, args.service)
        if not view.long_arn:
            raise ConfigError(
                f"service {view.arn} uses the short ARN format, which cannot carry tags: "
                "enable serviceLongArnFormat (aws ecs put-account-setting) and recreate it"
            )
        arn = view.arn
        change = tags.plan_change(
            prefix, default_wait(ctx), view.tags, replace=args.replace, **given
        )
        risky = [
            what
            for what, yes in (
                ("end dry-run of", change.ends_dry_run),
                ("opt out", change.opts_out),
            )
            if yes
        ]
        if risky and not args.yes:
            what = " and ".join(risky)
            consequence = (
                "its draining tasks will be stopped early from the next drain on"
                if change.ends_dry_run
                else "its drains will be left to ECS"
            )
            question = f"{what.capitalize()} service {view.name} ({consequence})?"
            if not _confirm(ctx, question, f"{what} service {view.name}"):
                return _declined(args, ctx)
        if change.changed:
            ecs.tag(arn, change.changed)
        if change.removed:
            ecs.untag(arn, change.removed)
        applied = True
        warnings = _tag_warnings(change, view, TargetGroupReader(access))
        if args.stop_action is not None:
            assessment = assess_service(access, ecs, view, change.policy)
    tagset = change.after
    if args.json:
        ctx.json(
            {
                "service_arn": arn,
                "applied": applied,
                "tags": tagset.tags,
                "changed": change.changed if applied else tagset.tags,
                "removed": change.removed,
                "ends_dry_run": change.ends_dry_run,
                "opts_out": change.opts_out,
                "warnings": warnings,
                "aws_cli": tagset.aws_cli(arn),
                "terraform": tagset.terraform(),
                "prerequisites": assessment.as_dict() if assessment else None,
            }
        )
        return EXIT_OK
    ctx.print(f"{'tagged' if applied else 'tags for'} {arn}:")
    for key, value in tagset.tags.items():
        mark = "  (changed)" if applied and key in change.changed else ""
        ctx.print(f"  {key} = {value}{mark}")
    if applied and not change.changed and not change.removed:
        ctx.print("nothing to change: the service already carries these tags")
    if change.removed:
        ctx.print(f"removed: {', '.join(change.removed)}")
    for line in _prerequisites_lines(assessment, args.stop_action):
        ctx.print(line)
    for warning in warnings:
        print(f"{PROG}: warning: {warning}", file=ctx.stderr)
    if not applied:
        ctx.print("\nwith the AWS CLI:")
        ctx.print(f"  {tagset.aws_cli(arn)}")
        ctx.print("\nin Terraform (aws_ecs_service):")
        ctx.print("  " + tagset.terraform().replace("\n", "\n  "))
    return EXIT_OK


def _same_file(first: str, second: str) -> bool:
    a, b = Path(first), Path(second)
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        return False
    return a.resolve() == b.resolve()


def cmd_migrate_sidecar(args: argparse.Namespace, ctx: Context) -> int:
    """Tags and a task definition without the sidecar, from one with it."""
    if args.output and args.file != "-" and _same_file(args.file, args.output):
        raise sidecar.SidecarError(
            f"-o {args.output} is the input file: the migration never overwrites its input; "
            "write to another file"
        )
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
    ctx.print(
        f"sidecar: container {migration.sidecar!r} of {family} "
        f"(recognised by {migration.recognised_by})"
    )
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
