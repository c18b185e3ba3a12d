"""Wire a run together: moto, the ECS model, EventBridge, Lambda, the real handlers.

``Simulation(scenario, seed=...).run()`` returns a :class:`sim.judge.report.Report`. With the
terminator enabled and ``counterfactual=True`` it also replays the same seeded scenario
with the terminator disabled, so "deployment duration without the terminator" is
simulated, not estimated.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from moto import mock_aws

from sim.aws.clients import (
    OnFirstUse,
    botocore_session,
    botocore_work_kept,
    client,
    member_client,
    source_session,
)
from sim.aws.costs import CostModel, Costs
from sim.aws.ecs.events import task_event
from sim.aws.ecs.model import EcsModel, Service, Task, WorldRules
from sim.aws.ecs.scheduler import ServiceScheduler
from sim.aws.embedded import (
    AwsCall,
    AwsHook,
    AwsInterceptor,
    Reply,
    virtual_retry_sleep,
)
from sim.aws.eventbridge import EventBus, ScheduleRule
from sim.aws.fast_moto import MotoRouter, fast_moto
from sim.aws.infra import CLUSTER, Clients, MotoTaskSets, provision
from sim.aws.lambda_runtime import (
    COLD_START_SECONDS,
    Handler,
    KillPolicy,
    LambdaFunction,
    deployed_queue,
    deployed_reserved_concurrency,
    deployed_timeout,
)
from sim.aws.model_api import serve_model
from sim.aws.operators import ECS_ACTIONS, OPERATOR_ACTIONS, operate
from sim.aws.signals import ExecAgent, RunCommandAgent, SignalFaults, serve_signals
from sim.engine.capture import captured_output, emf_metrics
from sim.engine.loop import EventLoop, SimClock
from sim.engine.observe import ObservationLog
from sim.judge.report import Report, RunRecord, build_report
from sim.scenarios import TAG_PREFIX, Action, Delivery, Scenario
from sim.terraform import BackstopSchedule, backstop_schedule, rule_pattern, schedule_expression

if TYPE_CHECKING:
    from serverless.domain.model import StopAction
    from serverless.ports import SignalPort

__all__ = ["DEFAULT_START", "Simulation"]

#: Virtual runs start here (deterministic timestamps); real-time runs start now.
DEFAULT_START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)
DEFAULT_TABLE_NAME = "ecs-drain-terminator-ledger"
SWEEPER_NAME = "ecs-drain-terminator-sweeper"
TASK_EVENTS_NAME = "ecs-drain-terminator-task-events"
#: The external id the simulated members' trust requires (a hub's ``MEMBER_EXTERNAL_ID``).
MEMBER_EXTERNAL_ID = "sim-external-id"


class Simulation:
    """One scenario, one seed; :meth:`run` may be called once."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int = 1,
        delivery: Delivery | None = None,
        real_time: bool = False,
        pace: float | None = None,
        terminator: bool = True,
        counterfactual: bool = True,
        settings: Mapping[str, Any] | None = None,
        start: datetime | None = None,
        aws_hooks: Sequence[AwsHook] = (),
        kill_policy: KillPolicy | None = None,
        sweeper_concurrency: int | Literal["module"] | None = "module",
        schedule_jitter_seconds: float | None = None,
        moto_shortcuts: bool = True,
        region: str = "us-east-1",
        costs: Costs | None = None,
        world: WorldRules | None = None,
        signal_faults: SignalFaults | None = None,
    ) -> None:
        self.scenario = scenario if delivery is None else scenario.with_delivery(delivery)
        self.seed = seed
        self.pace = 1.0 if real_time and pace is None else pace
        self.terminator = terminator
        self.counterfactual = counterfactual
        self.settings_overrides = dict(settings or {})
        default_start = datetime.now(UTC) if self.pace else DEFAULT_START
        self.start = (start or default_start).timestamp()
        self.aws_hooks = list(aws_hooks)
        self.kill_policy = kill_policy
        #: The sweeper's reserved concurrency: the module's default unless told otherwise
        #: (None: unreserved; an unreserved function is never throttled here).
        self.sweeper_concurrency = (
            deployed_reserved_concurrency("sweeper")
            if sweeper_concurrency == "module"
            else sweeper_concurrency
        )
        #: The backstop the module deploys (terraform/backstop.tf; None: none). Its runs
        #: start the sweeper function with the rule's input, in a slot the module reserves
        #: for them on top of the sweeps' (functions.tf; see deployed_reserved_concurrency).
        self.backstop = _backstop()
        self.schedule_jitter_seconds = schedule_jitter_seconds
        #: Answer through :func:`sim.aws.fast_moto.fast_moto` (False: moto's own path, which the
        #: tests compare it with).
        self.moto_shortcuts = moto_shortcuts
        #: moto's account (MOTO_ACCOUNT_ID), known once the cluster exists.
        self.account = ""
        #: The ledger table; the handlers read TABLE_NAME at import, so an existing value wins.
        self.table_name = os.environ.get("TABLE_NAME") or DEFAULT_TABLE_NAME
        self.region = region
        #: What AWS calls cost (latency, rate limits); ``sim.aws.costs.NO_COSTS`` turns it off.
        self.costs = costs if costs is not None else Costs()
        #: What ECS does where no public source says (StopTask on a draining task, Exec on
        #: a task it is stopping): the world the run is simulated in.
        self.world = world or WorldRules()
        #: Faults injected into the exec sessions and SSM commands of the functions.
        self.signal_faults = signal_faults
        #: The run's exec and SSM agents (set by :meth:`run_once`): sessions, commands.
        self.exec_agent: ExecAgent | None = None
        self.run_command: RunCommandAgent | None = None
        #: The harness's clients by account ("" the hub's), once the run has provisioned.
        self._account_clients: dict[str, Clients] = {}

    def _rng(self, stream: str) -> random.Random:
        return random.Random(f"{self.seed}:{stream}")

    # -- public ---------------------------------------------------------------------------

    def run(self) -> Report:
        """Run the scenario (and its counterfactual); the report checks the invariants."""
        wall = time.monotonic()
        record = self.run_once()
        baseline = None
        if self.terminator and self.counterfactual:
            baseline = Simulation(
                self.scenario,
                seed=self.seed,
                terminator=False,
                counterfactual=False,
                start=datetime.fromtimestamp(self.start, tz=UTC),
                region=self.region,
                costs=self.costs,
                world=self.world,
            ).run_once()
        return build_report(record, baseline, wall_seconds=time.monotonic() - wall)

    def run_once(self) -> RunRecord:
        """Run this configuration only and return the raw record."""
        handlers = self._import_handlers() if self.terminator else None
        loader = botocore_session().get_component("data_loader")
        shortcuts = fast_moto(loader) if self.moto_shortcuts else contextlib.nullcontext(None)
        with mock_aws(), shortcuts as router, botocore_work_kept(), self._accounts_apart():
            from moto.moto_api._internal import mock_random

            mock_random.seed(self.seed)
            # botocore's retry back-off draws its jitter from the global random module:
            # seed it too, or runs with injected faults diverge from one process to another.
            random.seed(f"{self.seed}:botocore-jitter")
            try:
                return self._run(handlers, router)
            finally:
                if handlers is not None:
                    from serverless.app import reset

                    reset()  # do not leave the simulated App installed

    # -- internals ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _accounts_apart(self) -> Iterator[None]:
        """With member accounts, moto takes each request's account from its credentials
        (or the harness's ``x-moto-account-id``): ``MOTO_ACCOUNT_ID`` would pin one."""
        pinned = os.environ.pop("MOTO_ACCOUNT_ID", None) if self.scenario.member_accounts else None
        try:
            yield
        finally:
            if pinned is not None:
                os.environ["MOTO_ACCOUNT_ID"] = pinned

    def _import_handlers(self) -> tuple[Handler, Handler]:
        # The handler modules check TABLE_NAME at import (cold start), before the capture
        # starts, so their log handlers keep the real stdout and are swapped per run.
        os.environ["TABLE_NAME"] = self.table_name
        os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        os.environ.setdefault("AWS_DEFAULT_REGION", self.region)
        task_events = importlib.import_module("handlers.task_events")
        sweeper = importlib.import_module("handlers.sweeper")
        return task_events.handler, sweeper.handler

    def _clients(self, interceptor: AwsInterceptor, account: str = "") -> Clients:
        """The harness's own clients (provisioning, operators), in a member ``account``
        when given (moto's ``x-moto-account-id`` header, at no signing cost)."""

        def made(name: str) -> Any:
            made = client(interceptor, name, self.region)
            if account:
                made.meta.events.register_first(
                    "before-send", functools.partial(_in_account, account)
                )
            return made

        return Clients(
            ecs=made("ecs"),
            dynamodb=made("dynamodb"),
            elbv2=made("elbv2"),
            ec2=made("ec2"),
            lambda_=made("lambda"),
        )

    def _run(
        self, handlers: tuple[Handler, Handler] | None, router: MotoRouter | None
    ) -> RunRecord:
        scenario = self.scenario
        loop = EventLoop(self.start, pace=self.pace)
        log = ObservationLog()
        cost_model = CostModel(self.costs, lambda: loop.now, self._item_lookup)
        interceptor = AwsInterceptor(loop, log, cost_model, moto=router)
        for hook in self.aws_hooks:
            interceptor.add_hook(hook)
        clients = self._clients(interceptor)
        services, self._account_clients = self._provision(interceptor, clients)
        for broken in scenario.broken_accounts:
            interceptor.add_hook(functools.partial(_deny_member_role, broken))
        bus = EventBus(
            loop,
            log,
            pattern_json=rule_pattern(),
            delivery=scenario.delivery,
            rng=self._rng("delivery"),
        )
        event_ids = self._rng("event-ids")

        def publish(task: Task) -> None:
            identifier = event_ids.getrandbits(128)
            bus.put(task_event(task, event_id=uuid.UUID(int=identifier, version=4), at=loop.now))

        model = EcsModel(
            loop,
            log,
            seed=self.seed,
            account=self.account,
            region=self.region,
            publish=publish,
            rules=self.world,
        )
        serve_model(interceptor, model)
        exec_agent, run_command = self._signal_agents(loop, log, model, interceptor)
        scheduler = ServiceScheduler(loop, log, model, MotoTaskSets(clients, self._account_clients))
        by_name: dict[str, Service] = {}
        for service in services:
            model.add_service(service)
            service.deployments[0].started_at = loop.now
            scheduler.start(service)
            by_name[service.name] = service

        schedule = ScheduleRule(
            loop,
            expression=schedule_expression(),
            rng=self._rng("schedule"),
            account=self.account,
            region=self.region,
            rule_name="ecs-drain-terminator-sweeper",
            jitter_seconds=self.schedule_jitter_seconds,
        )
        functions: list[LambdaFunction] = []
        schedules = [schedule]
        settings = None
        if handlers is not None:
            settings = self._settings()
            functions = self._functions(loop, log, handlers, settings, interceptor)
            sweeper_function = functions[1]

            def invoke(call: AwsCall) -> Reply:
                # Lambda Invoke (InvocationType=Event) of the sweeper: an early run.
                sweeper_function.invoke_async(dict(call.params))
                return Reply(202, b"")

            interceptor.serve("lambda", "Invoke", invoke)
            bus.targets.append(functions[0].invoke_async)
            schedule.targets.append(functions[1].invoke_async)
            schedule.start()
            schedules += self._backstop_rules(loop, functions[1])

        progress = _Progress(loop, scenario, services)
        scheduler.on_complete.append(progress.check_done)
        for action in scenario.actions:
            loop.call_at(
                self.start + action.at,
                functools.partial(self._act, action, by_name, clients, scheduler, progress),
            )

        limit = self.start + scenario.max_seconds
        with captured_output() as sink, virtual_retry_sleep(loop):
            loop.run(stop=progress.finished, until=limit)
            completed = progress.done_at is not None
            for rule in schedules:
                rule.stop()
            # Let in-flight invocations and ECS timers finish (bounded: nothing new starts).
            loop.run(
                until=loop.now
                + 2 * deployed_timeout("sweeper")
                + max((s.spec.drain_seconds for s in services), default=0)
            )
        return RunRecord(
            scenario=scenario,
            seed=self.seed,
            terminator=self.terminator,
            start=self.start,
            end=loop.now,
            completed=completed,
            real_time=self.pace is not None,
            services=services,
            log=log,
            bus_stats=dict(bus.stats),
            functions=functions,
            aws_calls=dict(interceptor.calls),
            output=list(sink.lines),
            metrics=emf_metrics(sink.lines),
            default_wait_seconds=settings.default_wait_seconds if settings else 120,
            tag_prefix=settings.tag_prefix if settings else TAG_PREFIX,
            sweeper_runs=schedule.fired,
            costs=cost_model,
            lost_tasks=frozenset(bus.lost_tasks),
            world=self.world,
            sessions=exec_agent.counts(),
            signal_faults=dict(sorted({**exec_agent.injected, **_prefixed(run_command)}.items())),
            default_stop_action="stop-task"
            if settings is None
            else str(settings.default_stop_action),
            enabled_actions=frozenset({"stop-task"})
            if settings is None
            else frozenset(str(a) for a in settings.enabled_actions),
        )

    def _signal_agents(
        self, loop: EventLoop, log: ObservationLog, model: EcsModel, interceptor: AwsInterceptor
    ) -> tuple[ExecAgent, RunCommandAgent]:
        """The ECS Exec and SSM Run Command agents of the run, served on ``interceptor``."""
        agents = {"faults": self.signal_faults}
        exec_agent = ExecAgent(loop, log, model, rng=self._rng("exec"), **agents)
        run_command = RunCommandAgent(loop, log, model, rng=self._rng("ssm"), **agents)
        serve_signals(interceptor, exec_agent, run_command)
        self.exec_agent, self.run_command = exec_agent, run_command
        return exec_agent, run_command

    def _backstop_rules(self, loop: EventLoop, sweeper: LambdaFunction) -> list[ScheduleRule]:
        """The module's backstop rule, started and targeting ``sweeper`` (none without one)."""
        if self.backstop is None:
            return []
        backstop = ScheduleRule(
            loop,
            expression=self.backstop.expression,
            rng=self._rng("backstop-schedule"),
            account=self.account,
            region=self.region,
            rule_name="ecs-drain-terminator-backstop",
            jitter_seconds=self.schedule_jitter_seconds,
            payload=dict(self.backstop.payload),
        )
        backstop.targets.append(sweeper.invoke_async)
        backstop.start()
        return [backstop]

    def _provision(
        self, interceptor: AwsInterceptor, clients: Clients
    ) -> tuple[list[Service], dict[str, Clients]]:
        """Every account's resources (the ledger in the hub's); the services in scenario
        order, and the harness's clients by account ("" the hub's)."""
        scenario = self.scenario
        rng = self._rng("infra")
        own = [spec for spec in scenario.services if not spec.account]
        services = provision(
            clients, scenario, region=self.region, table_name=self.table_name, rng=rng, specs=own
        )
        # The hub's account: moto's for the harness's own clients (they name none).
        self.account = services[0].cluster_arn.split(":")[4] if own else _own_account(clients)
        account_clients = {"": clients}
        for member in scenario.member_accounts:
            account_clients[member] = self._clients(interceptor, member)
            theirs = [spec for spec in scenario.services if spec.account == member]
            services += provision(
                account_clients[member],
                scenario,
                region=self.region,
                table_name=self.table_name,
                rng=rng,
                specs=theirs,
                ledger=False,
            )
        order = {spec.name: n for n, spec in enumerate(scenario.services)}
        services.sort(key=lambda service: order[service.name])
        return services, account_clients

    def _item_lookup(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """The current item in moto (what the cost model sizes writes by)."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[self.account or DEFAULT_ACCOUNT_ID][self.region]
        try:
            item = backend.get_item(table, key)
        except Exception:  # a missing table or a bad key: nothing to size
            return None
        return None if item is None else dict(item.to_json()["Attributes"])

    def _functions(
        self,
        loop: EventLoop,
        log: ObservationLog,
        handlers: tuple[Handler, Handler],
        settings: Any,
        interceptor: AwsInterceptor,
    ) -> list[LambdaFunction]:
        from serverless.app import install

        common: dict[str, Any] = {
            "account": self.account,
            "region": self.region,
            "kill_policy": self.kill_policy,
            # One App per simulated container: its own cold tag cache, as in Lambda.
            "app_factory": functools.partial(self._build_app, settings, loop, interceptor),
            "install": install,
            "cold_start_seconds": COLD_START_SECONDS if self.costs.latency_scale else 0.0,
        }
        task_events = LambdaFunction(
            loop,
            log,
            name=TASK_EVENTS_NAME,
            handler=handlers[0],
            timeout=deployed_timeout("task_events"),
            rng=self._rng("lambda-task-events"),
            reserved_concurrency=deployed_reserved_concurrency("task_events"),
            **deployed_queue("task-events"),
            **common,
        )
        # The sweeper's events (ticks, early starts) wait in Lambda's queue no longer than
        # the module lets them (60 s: the next tick replaces them), and are not retried.
        sweeper = LambdaFunction(
            loop,
            log,
            name=SWEEPER_NAME,
            handler=handlers[1],
            timeout=deployed_timeout("sweeper"),
            rng=self._rng("lambda-sweeper"),
            reserved_concurrency=self.sweeper_concurrency,
            **deployed_queue("sweeper"),
            **common,
        )
        return [task_events, sweeper]

    def _act(
        self,
        action: Action,
        by_name: dict[str, Service],
        clients: Clients,
        scheduler: ServiceScheduler,
        progress: _Progress,
    ) -> None:
        """UpdateService in moto (in the service's account: ``clients`` are the hub's), and
        the same change in the model's scheduler."""
        service = by_name[action.service]
        clients = self._account_clients.get(service.spec.account, clients)
        now = scheduler.loop.now
        if action.kind in OPERATOR_ACTIONS:
            deployment = _deployment_id(self._rng(f"operator:{service.name}:{now}"))
            operate(action, service, clients, scheduler, deployment)
        elif action.kind in ECS_ACTIONS:
            ECS_ACTIONS[action.kind](action, service, scheduler)
        elif action.kind == "deploy":
            clients.ecs.update_service(
                cluster=CLUSTER,
                service=service.name,
                taskDefinition=service.next_task_definition_arn,
            )
            deployment = _deployment_id(self._rng(f"deploy:{service.name}:{now}"))
            scheduler.deploy(service, deployment, service.next_task_definition_arn)
        else:
            count = action.desired_count if action.desired_count is not None else 0
            clients.ecs.update_service(cluster=CLUSTER, service=service.name, desiredCount=count)
            scheduler.scale(
                service, count, _deployment_id(self._rng(f"scale:{service.name}:{now}"))
            )
        progress.pending_actions -= 1

    def _settings(self) -> Any:
        from serverless.settings import Settings

        overrides: dict[str, Any] = {"sweeper_function_name": SWEEPER_NAME}
        if self.scenario.member_accounts:
            overrides["member_account_ids"] = frozenset(self.scenario.member_accounts)
            overrides["member_external_id"] = MEMBER_EXTERNAL_ID
        return Settings(table_name=self.table_name, **{**overrides, **self.settings_overrides})

    def _build_app(self, settings: Any, loop: EventLoop, interceptor: AwsInterceptor) -> Any:
        """The composition root of one simulated Lambda container (fresh caches).

        Each container gets its own clients, as in Lambda: botocore's standard retry mode
        keeps a retry quota per client, which a shared client would drain for every
        container at once under injected faults (and then stop retrying anywhere). A
        client is made when the container first calls it: a burst starts over a thousand
        containers, and most of them never call ELB or Lambda.
        """
        from serverless.adapters import ports_from_clients
        from serverless.app import bootstrap
        from sim.engine.concurrency import LoopConcurrency

        def on_first_use(name: str) -> OnFirstUse:
            return OnFirstUse(functools.partial(client, interceptor, name, self.region))

        clock = SimClock(loop)
        accounts = None
        if settings.is_hub:
            from serverless.adapters import AccountClients

            def own(name: str) -> OnFirstUse:
                return OnFirstUse(
                    functools.partial(client, interceptor, name, self.region, self.account)
                )

            # The production routing and AssumeRole machinery; the member clients are
            # signed (moto takes the account from the assumed role's credentials).
            accounts = AccountClients(
                settings,
                home={
                    name: own(name) for name in ("ecs", "elbv2", "sts", "resourcegroupstaggingapi")
                },
                source=source_session(),
                maker=functools.partial(member_client, interceptor),
                now=clock.now,
                home_account=self.account,
                region=self.region,
            )
        # The backstop lists opted-in services through the Resource Groups Tagging API.
        extra: dict[str, Any] = {}
        if self.backstop is not None:
            extra["tagging"] = on_first_use("resourcegroupstaggingapi")
        ports = ports_from_clients(
            settings,
            dynamodb=on_first_use("dynamodb"),
            ecs=on_first_use("ecs"),
            elbv2=on_first_use("elbv2"),
            lambda_=on_first_use("lambda"),
            concurrency=LoopConcurrency(loop),
            **extra,
            signals=self._signal_ports(settings, loop, on_first_use),
            accounts=accounts,
        )
        return bootstrap(settings, clock=clock, ports=ports)

    def _signal_ports(
        self, settings: Any, loop: EventLoop, on_first_use: Callable[[str], OnFirstUse]
    ) -> dict[StopAction, SignalPort]:
        """The functions' own signal adapters the settings enable (as
        :func:`serverless.adapters.signal_ports` chooses them), on the embedded AWS:
        ExecuteCommand and SSM through the interceptor, the exec session's data channel
        through the simulated agent (:mod:`sim.aws.signals`), polling on the virtual clock.
        """
        from serverless.adapters.exec_signal import ExecSignalAdapter
        from serverless.adapters.ssm_signal import SsmSignalAdapter
        from serverless.domain.model import StopAction

        ports: dict[StopAction, SignalPort] = {}
        enabled = settings.enabled_actions
        if StopAction.EXEC in enabled and self.exec_agent is not None:
            ports[StopAction.EXEC] = ExecSignalAdapter(
                on_first_use("ecs"), on_first_use("ssm"), session_runner=self.exec_agent.run_session
            )
        if StopAction.SSM_SIGNAL in enabled:
            ports[StopAction.SSM_SIGNAL] = SsmSignalAdapter(
                on_first_use("ecs"), on_first_use("ssm"), clock=SimClock(loop)
            )
        return ports


class _Progress:
    """When the scenario is over: every action done, every deployment complete, settled."""

    def __init__(self, loop: EventLoop, scenario: Scenario, services: list[Service]) -> None:
        self.loop = loop
        self.scenario = scenario
        self.services = services
        self.pending_actions = len(scenario.actions)
        self.done_at: float | None = None

    def check_done(self, _: Service | None = None) -> None:
        if self.pending_actions or self.done_at is not None:
            return
        if all(s.primary.completed_at is not None for s in self.services):
            self.done_at = self.loop.now + self.scenario.settle_seconds

    def finished(self) -> bool:
        return self.done_at is not None and self.loop.now >= self.done_at


@functools.cache
def _backstop() -> BackstopSchedule | None:
    """The module's backstop rule, read once per process."""
    return backstop_schedule()


def _prefixed(agent: RunCommandAgent) -> dict[str, int]:
    return {f"ssm-{kind}": count for kind, count in agent.injected.items()}


def _deployment_id(rng: random.Random) -> str:
    return f"ecs-svc/{rng.randrange(10**18, 10**19)}"


def _in_account(account: str, request: Any, **_: Any) -> None:
    """Make moto answer a harness request in ``account`` (before-send handler)."""
    request.headers["x-moto-account-id"] = account


def _own_account(clients: Clients) -> str:
    """moto's account for the harness's own clients (a hub with no service of its own)."""
    arn = clients.ecs.create_cluster(clusterName=CLUSTER)["cluster"]["clusterArn"]
    return str(arn).split(":")[4]


def _deny_member_role(account: str, call: AwsCall) -> Reply | None:
    """A broken member: AssumeRole of any role in ``account`` is denied, as AWS answers a
    role that is missing or does not trust the caller."""
    if call.service != "sts" or call.operation != "AssumeRole":
        return None
    role = str(call.params.get("RoleArn", ""))
    if role.split(":")[4:5] != [account]:
        return None
    return Reply.error(
        "sts", "AccessDenied", f"not authorized to perform: sts:AssumeRole on resource: {role}", 403
    )
