"""The part of ECS and ELB that moto does not simulate: task lifecycles and draining.

moto stores clusters, services (with tags), task definitions and target groups, but its
services never start tasks, its StopTask jumps straight to STOPPED, its tasks advance one
state per DescribeTasks, and its ELB deregisters at once with no ``draining`` state.
This module models those explicitly:

* a task goes PROVISIONING -> PENDING -> ACTIVATING -> RUNNING, registers in its target
  groups (``initial``, then ``healthy`` after the health checks pass);
* the service scheduler (:mod:`sim.aws.ecs.scheduler`) drains a task: desiredStatus STOPPED
  (stopCode ServiceSchedulerInitiated), optionally DEACTIVATING, targets ``draining``;
* ECS alone moves a draining task to STOPPING when the longest deregistration delay ends;
* StopTask moves a task to STOPPING at once (the product's premise, as with the sidecar it
  replaces); the container exits after a few seconds of graceful shutdown, Fargate
  deprovisions, then STOPPED. That premise is undocumented, so :class:`WorldRules` can
  turn it off: with ``stoptask_on_draining="ignored"`` a StopTask on a draining task only
  changes its stop reason and the drain runs to ECS's deadline;
* a signal sent into the task's container (ECS Exec, SSM Run Command: :mod:`sim.aws.signals`)
  makes its app shut down gracefully and exit; the essential container's exit makes the
  agent stop the task: STOPPING, then STOPPED, stop code ``EssentialContainerExited``.

Other ways ECS stops a task (the stop causes of docs/contracts.md), each cited beside its
method: a container instance set to DRAINING (:meth:`EcsModel.drain_instance`), a Fargate
Spot interruption (:meth:`EcsModel.spot_interrupt`), failing ELB health checks
(:meth:`EcsModel.fail_health_checks`, and tasks that never become healthy). Task sets and
ECS-native blue/green deployments register a task in its own deployment's target group
(:meth:`sim.aws.ecs.state.Service.groups_of`). Tasks started before the account enabled
long ARNs keep ``task/<id>`` ARNs (ServiceSpec ``old_arn_tasks``).

Every change bumps ``version`` and is published as an "ECS Task State Change" event.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sim.aws.ecs.state import (
    ACTIVE_STATUSES,
    RUNNING,
    STOPPED,
    ContainerInstance,
    Deployment,
    Service,
    Target,
    TargetGroup,
    Task,
    TaskNotFound,
)
from sim.engine.loop import EventLoop
from sim.engine.observe import Kind, ObservationLog

__all__ = [
    "ESSENTIAL_CONTAINER_EXITED",
    "HEALTH_CHECK_REASON",
    "INSTANCE_DRAINING_REASON",
    "SPOT_REASON",
    "STOPTASK_ON_DRAINING",
    "TERMINATOR_REASON",
    "ContainerInstance",
    "Deployment",
    "EcsModel",
    "Service",
    "Target",
    "TargetGroup",
    "Task",
    "TaskNotFound",
    "WorldRules",
]

#: How the terminator's StopTask reasons begin (what tells its stops from anyone else's).
TERMINATOR_REASON = "drain-terminator:"
#: The two worlds of the product's premise (``WorldRules.stoptask_on_draining``).
STOPTASK_ON_DRAINING = ("effective", "ignored")
#: The stop code and reason ECS gives a task whose essential container exited.
ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
_EXITED_REASON = "Essential container in task exited"
#: How long the agent takes to stop a task whose essential container exited (the other
#: containers are stopped and the task reported STOPPING): assumed, seconds.
AGENT_STOP_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class WorldRules:
    """What ECS does where no public source says (each switch a world to simulate).

    ``stoptask_on_draining``: ``effective`` (StopTask on a draining task, desiredStatus
    STOPPED and lastStatus RUNNING or DEACTIVATING, sends SIGTERM now: the product's
    premise) or ``ignored`` (it changes only the stop reason; the drain runs to the end of
    the deregistration delay). ``exec_refused_when_stopping``: ECS refuses ExecuteCommand
    on a task it is stopping (desiredStatus STOPPED); undocumented, the error is a guess
    (``InvalidParameterException``, which the function takes as REFUSED).
    """

    stoptask_on_draining: Literal["effective", "ignored"] = "effective"
    exec_refused_when_stopping: bool = False

    def __post_init__(self) -> None:
        if self.stoptask_on_draining not in STOPTASK_ON_DRAINING:
            raise ValueError(
                f"stoptask_on_draining must be one of {', '.join(STOPTASK_ON_DRAINING)}, "
                f"not {self.stoptask_on_draining!r}"
            )


#: stoppedReason of a Fargate Spot interruption (stopCode ``SpotInterruption``): the ECS
#: developer guide's task state change example ("Amazon ECS task state change events",
#: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html, whose
#: example carries ``TerminationNotice`` with this reason) and the AWS Knowledge Center
#: article on Fargate Spot termination notices.
SPOT_REASON = "Your Spot Task was interrupted."
#: stoppedReason of a task failing ELB health checks: the AWS Knowledge Center, "Why is
#: my Amazon ECS task stopped?" ("Failed Elastic Load Balancing (ELB) health checks");
#: aws/containers-roadmap #612 asks for a stop code because this text is the only sign.
HEALTH_CHECK_REASON = "Task failed ELB health checks in (target-group {arn})"
#: stoppedReason of a service task whose container instance is DRAINING, as public
#: EventBridge filters match it (``*container instance is in DRAINING state*``); the ECS
#: guide ("Container instance draining") says RUNNING service tasks "are transitioned to a
#: STOPPED state" and replaced within the service's minimum and maximum percent.
INSTANCE_DRAINING_REASON = "Service {service}: container instance is in DRAINING state"


class EcsModel:
    """Task lifecycles and target health, driven by the loop."""

    def __init__(
        self,
        loop: EventLoop,
        log: ObservationLog,
        *,
        seed: int,
        account: str,
        region: str,
        publish: Callable[[Task], None],
        rules: WorldRules | None = None,
    ) -> None:
        self.loop = loop
        self.rules = rules or WorldRules()
        self.log = log
        self.seed = seed
        self.account = account
        self.region = region
        self._publish = publish
        self.services: dict[str, Service] = {}
        self.tasks: dict[str, Task] = {}
        self.on_change: list[Callable[[Task], None]] = []

    # -- set-up ---------------------------------------------------------------------------

    def add_service(self, service: Service) -> None:
        """Register a service built from moto's resources."""
        self.services[service.arn] = service

    def _task_rng(self, service: Service, index: int) -> random.Random:
        # One stream per (service, launch index): the counterfactual run without the
        # terminator sees the same tasks with the same timings.
        return random.Random(f"{self.seed}:{service.name}:{index}")

    def launch(
        self, service: Service, *, warm: bool = False, deployment: Deployment | None = None
    ) -> Task:
        """Start a task of ``deployment`` (default: the primary one; ``warm``: already
        running and healthy)."""
        index = service.launched
        service.launched += 1
        deployment = deployment or service.primary
        rng = self._task_rng(service, index)
        task_id = f"{rng.getrandbits(128):032x}"
        az, subnet = service.subnets[index % len(service.subnets)]
        timings = {
            "pending": rng.uniform(2, 6),
            "pull": rng.uniform(8, 20),
            "activate": rng.uniform(1, 3),
            "health": rng.uniform(0, 1),
            "deactivate": rng.uniform(0.5, 1.5),
            "shutdown": rng.uniform(2, min(8, service.spec.stop_timeout)),
            "deprovision": rng.uniform(5, 12) if service.spec.network_mode == "awsvpc" else 0,
        }
        network = {"availabilityZone": az, "subnetId": subnet}
        if service.spec.network_mode == "awsvpc":
            network["privateIPv4Address"] = f"10.0.{index % 200 + 10}.{rng.randint(10, 250)}"
            network["networkInterfaceId"] = f"eni-{rng.getrandbits(68):017x}"
            network["macAddress"] = ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6))
            network["attachmentId"] = f"{rng.getrandbits(128):032x}"
        instance = None
        if service.spec.launch_type == "EC2":
            usable = [i for i in service.instances if i.status == "ACTIVE"] or service.instances
            instance = usable[index % len(usable)]
            network.update(containerInstanceArn=instance.arn, instanceId=instance.instance_id)
            if service.spec.network_mode != "awsvpc":
                network.update(
                    hostIp=instance.private_ip, hostPort=str(32768 + rng.randint(0, 28000))
                )
        # Tasks started before the account enabled taskLongArnFormat keep task/<id>.
        old_format = warm and index < service.spec.old_arn_tasks
        path = task_id if old_format else f"{service.cluster_name}/{task_id}"
        account = service.cluster_arn.split(":")[4]  # the service's own account
        arn = f"arn:aws:ecs:{self.region}:{account}:task/{path}"
        task = Task(arn, task_id, service, deployment, timings, network)
        task.instance = instance
        task.failing = index in service.spec.never_healthy
        service.tasks.append(task)
        self.tasks[arn] = task
        now = self._now()
        if warm:
            started = now - 3600.0
            task.times.update(createdAt=started, startedAt=started + 25, connectivityAt=started + 5)
            task.last_status, task.version, task.healthy = RUNNING, 4, True
            for group, target in self._register(task):
                self._target_state(group, target, "healthy", None)
            return task
        task.times["createdAt"] = now
        self.log.record(now, Kind.ECS_TASK_LAUNCHED, arn, service=service.name)
        if service.spec.network_mode != "awsvpc":
            task.last_status = "PENDING"  # EC2 tasks have no PROVISIONING step
        self._changed(task)
        self.loop.call_later(timings["pending"], lambda: self._pending(task))
        return task

    # -- start-up -------------------------------------------------------------------------

    def _pending(self, task: Task) -> None:
        if task.desired_status == STOPPED:
            return
        now = self._now()
        task.times["connectivityAt"] = now
        task.times["pullStartedAt"] = now + 0.5
        self._set(task, last="PENDING")
        self.loop.call_later(task.timings["pull"], lambda: self._activating(task))

    def _activating(self, task: Task) -> None:
        if task.desired_status == STOPPED:
            return
        task.times["pullStoppedAt"] = self._now()
        self._set(task, last="ACTIVATING")
        self._register(task)
        self.loop.call_later(task.timings["activate"], lambda: self._running(task))

    def _running(self, task: Task) -> None:
        if task.desired_status == STOPPED:
            return
        task.times["startedAt"] = self._now()
        self._set(task, last=RUNNING)
        longest = 0.0
        for group, _ in task.targets:
            spec = group.spec
            longest = max(longest, spec.health_check_interval * (spec.healthy_threshold + 0.0))
        delay = longest + task.timings["health"] * 10.0 if task.targets else 0.0
        if task.failing and task.targets:
            self.loop.call_later(delay, lambda: self._unhealthy(task))
            return
        self.loop.call_later(delay, lambda: self._healthy(task))

    def _register(self, task: Task) -> list[tuple[TargetGroup, Target]]:
        for group in task.service.groups_of(task.deployment):
            if task.service.spec.network_mode == "awsvpc":
                target_id, port = task.network["privateIPv4Address"], group.spec.port
            else:
                target_id, port = task.network["instanceId"], int(task.network["hostPort"])
            target = Target(target_id, port, task.arn)
            group.targets[f"{target_id}:{port}"] = target
            task.targets.append((group, target))
            self._target_state(group, target, "initial", "Elb.RegistrationInProgress")
        return task.targets

    def _healthy(self, task: Task) -> None:
        if task.desired_status == STOPPED:
            return
        for group, target in task.targets:
            self._target_state(group, target, "healthy", None)
        task.healthy = True
        self._notify(task)

    def _target_state(
        self, group: TargetGroup, target: Target, state: str, reason: str | None
    ) -> None:
        target.state, target.reason = state, reason
        self.log.record(
            self._now(),
            Kind.TARGET_STATE,
            target.task_arn,
            target_group=group.spec.name,
            state=state,
        )

    # -- draining and stopping ------------------------------------------------------------

    def drain(self, task: Task, reason: str, cause: str = "deployment") -> None:
        """The scheduler stops ``task``: deregister, wait the delay, then stop it."""
        if task.desired_status == STOPPED:
            return
        now = self._now()
        task.stop_code, task.stopped_reason = "ServiceSchedulerInitiated", reason
        task.cause = cause
        if task.last_status != RUNNING:
            self._set(task, desired=STOPPED)
            self._begin_stop(task, "ecs")
            return
        task.drain_started_at = now
        task.ecs_alone_at = now + task.drain_seconds
        self.log.record(
            now, Kind.ECS_DRAIN, task.arn, service=task.service.name, reason=reason, cause=cause
        )
        self._deregister(task)
        self._set(task, desired=STOPPED)
        if task.service.spec.emits_deactivating:
            self.loop.call_later(task.timings["deactivate"], lambda: self._deactivating(task))
        task.ecs_alone_timer = self.loop.call_at(
            task.ecs_alone_at, lambda: self._begin_stop(task, "ecs")
        )

    # -- other stop causes ----------------------------------------------------------------

    def drain_instance(self, instance: ContainerInstance) -> None:
        """UpdateContainerInstancesState DRAINING: the scheduler replaces the service tasks
        on it within each service's minimum and maximum percent (ECS guide, "Container
        instance draining"); no new task is placed on it."""
        if instance.status == "DRAINING":
            return
        # The instances EC2 tasks of the same cluster run on (a Fargate service's draws
        # stand for no instance: counting them would let the cluster's last one drain,
        # and every replacement would then be placed on a DRAINING instance, forever).
        clusters = {
            s.cluster_arn for s in self.services.values() if any(i is instance for i in s.instances)
        }
        cluster = {
            i.arn: i
            for s in self.services.values()
            if s.spec.launch_type == "EC2" and s.cluster_arn in clusters
            for i in s.instances
        }
        if not any(i.status == "ACTIVE" and i is not instance for i in cluster.values()):
            return  # the last ACTIVE instance: an Auto Scaling group would add one first
        instance.status = "DRAINING"
        self.log.record(self._now(), Kind.INSTANCE_DRAINING, instance.arn)
        for task in [t for t in self.tasks.values() if t.instance is instance and t.live]:
            self._notify(task)  # the scheduler reconciles each service once (coalesced)

    def spot_interrupt(self, task: Task) -> None:
        """Fargate Spot's two-minute warning: desiredStatus STOPPED with stopCode
        SpotInterruption at once, SIGTERM to the task at once (STOPPING a moment later),
        and the targets stay registered until the task is STOPPED ("FARGATE_SPOT tasks
        may not be deregistered from the load balancer target group until the task
        transitions to the STOPPED state": AWS Knowledge Center, Fargate Spot termination
        notices; aws/containers-roadmap #2673 reports a regression in that ordering). There
        is no drain to cut short: "ECS alone" is the interruption itself."""
        if task.desired_status == STOPPED or task.last_status != RUNNING:
            return
        now = self._now()
        task.stop_code, task.stopped_reason = "SpotInterruption", SPOT_REASON
        task.cause = "spot-interruption"
        task.drain_started_at = task.ecs_alone_at = now
        self.log.record(
            now,
            Kind.ECS_DRAIN,
            task.arn,
            service=task.service.name,
            reason=SPOT_REASON,
            cause=task.cause,
        )
        self._set(task, desired=STOPPED)
        self.loop.call_later(task.timings["deactivate"], lambda: self._begin_stop(task, "ecs"))

    def fail_health_checks(self, task: Task) -> None:
        """The task's target starts failing its health checks: ``unhealthy`` after the
        group's threshold of failed checks, then the scheduler replaces it."""
        if task.failing or task.desired_status == STOPPED:
            return
        task.failing = True
        longest = max(
            (g.spec.health_check_interval * g.spec.healthy_threshold for g, _ in task.targets),
            default=0,
        )
        self.loop.call_later(longest, lambda: self._unhealthy(task))

    def _unhealthy(self, task: Task) -> None:
        if task.desired_status == STOPPED:
            return
        for group, target in task.targets:
            if target.state in {"initial", "healthy"}:
                self._target_state(group, target, "unhealthy", "Target.FailedHealthChecks")
        task.healthy = False
        self._notify(task)

    def _deactivating(self, task: Task) -> None:
        if task.last_status == RUNNING:
            self._set(task, last="DEACTIVATING")

    def _deregister(self, task: Task) -> None:
        for group, target in task.targets:
            if target.state in {"draining", "unused"}:
                continue
            self._target_state(group, target, "draining", "Target.DeregistrationInProgress")
            self.loop.call_later(
                group.spec.deregistration_delay,
                functools.partial(self._deregistered, group, target),
            )

    def _deregistered(self, group: TargetGroup, target: Target) -> None:
        if group.targets.get(f"{target.target_id}:{target.port}") is target:
            del group.targets[f"{target.target_id}:{target.port}"]
            self._target_state(group, target, "unused", "Target.NotRegistered")

    def stop_task(self, task_arn: str, reason: str, attempt: int = 1) -> Task:
        """StopTask: STOPPING now (an already stopping task is returned unchanged).

        ``attempt`` is botocore's attempt number of the call (1: first sent), for the verdict.
        """
        task = self.find(task_arn)
        now = self._now()
        task.stop_requests.append((now, reason))
        self.log.record(
            now,
            Kind.ECS_STOP_TASK,
            task.arn,
            service=task.service.name,
            reason=reason,
            last_status=task.last_status,
            desired_status=task.desired_status,
            draining=task.draining,
            attempt=attempt,
        )
        if task.last_status not in ACTIVE_STATUSES | {"DEACTIVATING"}:
            return task
        if self.rules.stoptask_on_draining == "ignored" and task.draining:
            # The task is in ECS's deregister-then-stop pipeline: only the reason changes.
            task.stopped_reason = reason
            self.log.record(
                now,
                Kind.ECS_STOP_IGNORED,
                task.arn,
                service=task.service.name,
                reason=reason,
                last_status=task.last_status,
                ecs_alone_at=task.ecs_alone_at,
            )
            return task
        task.stop_code, task.stopped_reason = "UserInitiated", reason
        if task.drain_started_at is None:
            self._deregister(task)
        by = "terminator" if reason.startswith(TERMINATOR_REASON) else "user"
        if task.desired_status != STOPPED:
            task.desired_status = STOPPED
        self._begin_stop(task, by)
        return task

    def _begin_stop(self, task: Task, by: str) -> None:
        if task.last_status in {"STOPPING", "DEPROVISIONING", STOPPED}:
            return
        if task.ecs_alone_timer is not None:
            task.ecs_alone_timer.cancel()
        now = self._now()
        task.stop_began_at, task.stopped_by = now, by
        if by == "terminator":
            task.stopped_with = "stop-task"
        task.times["stoppingAt"] = now
        self._set(task, last="STOPPING", desired=STOPPED)
        self.loop.call_later(task.timings["shutdown"], lambda: self._exited(task))

    def _exited(self, task: Task) -> None:
        task.times["executionStoppedAt"] = self._now()
        if task.timings["deprovision"] > 0:
            self._set(task, last="DEPROVISIONING")
            self.loop.call_later(task.timings["deprovision"], lambda: self._stopped(task))
        else:
            self._stopped(task)

    def _stopped(self, task: Task) -> None:
        task.times["stoppedAt"] = self._now()
        self._set(task, last=STOPPED)
        if any(target.state in {"initial", "healthy", "unhealthy"} for _, target in task.targets):
            self._deregister(task)  # a Spot task is deregistered only now
        self._notify(task)

    # -- signals into the container ------------------------------------------------------

    def exec_refusal(self, task: Task, container: str) -> tuple[str, str] | None:
        """Why ECS refuses ExecuteCommand into ``container`` of ``task`` (error code and
        message, as the API answers), or None when it accepts it."""
        if not task.service.spec.enable_execute_command:
            return (
                "InvalidParameterException",
                "The execute command failed because execute command was not enabled when "
                "the task was run or the execute command agent isn't running. Wait and try "
                "again or run a new task with execute command enabled and try again.",
            )
        if container != task.service.name:
            return (
                "InvalidParameterException",
                f"The container {container} does not exist in the task.",
            )
        if task.last_status not in {RUNNING, "DEACTIVATING"}:
            return (
                "InvalidParameterException",
                f"The execute command failed because the task is {task.last_status.lower()}.",
            )
        if self.rules.exec_refused_when_stopping and task.desired_status == STOPPED:
            # Undocumented: the answer ECS gives is a guess (the world's switch).
            return (
                "InvalidParameterException",
                "The execute command failed because the task is being stopped "
                "(simulated refusal; undocumented).",
            )
        return None

    def signal_container(self, task: Task, action: str) -> bool:
        """A stop signal reached the task's (essential) container now (``action``: exec or
        ssm-signal). Its app shuts down gracefully and exits after the task's shutdown time;
        the agent then stops the task. False when it had nothing left to end."""
        now = self._now()
        task.signals.append((now, action))
        effective = task.last_status in {RUNNING, "DEACTIVATING"} and task.signalled_at is None
        self.log.record(
            now,
            Kind.CONTAINER_SIGNAL,
            task.arn,
            service=task.service.name,
            action=action,
            last_status=task.last_status,
            desired_status=task.desired_status,
            draining=task.draining,
            effective=effective,
        )
        if not effective:
            return False
        task.signalled_at = now
        self.loop.call_later(task.timings["shutdown"], lambda: self._container_exited(task, action))
        return True

    def _container_exited(self, task: Task, action: str) -> None:
        """The essential container exited: the agent stops the task."""
        if task.last_status in {"STOPPING", "DEPROVISIONING", STOPPED}:
            return  # ECS (or a StopTask) was stopping it already
        if task.ecs_alone_timer is not None:
            task.ecs_alone_timer.cancel()
        now = self._now()
        task.stop_code, task.stopped_reason = ESSENTIAL_CONTAINER_EXITED, _EXITED_REASON
        # The app began its graceful shutdown when the signal reached it.
        task.stop_began_at, task.stopped_by = task.signalled_at, "terminator"
        task.stopped_with = action
        task.times["stoppingAt"] = now
        self._set(task, last="STOPPING", desired=STOPPED)
        self.loop.call_later(AGENT_STOP_SECONDS, lambda: self._exited(task))

    # -- bookkeeping ----------------------------------------------------------------------

    def _now(self) -> float:
        # ECS reports times with millisecond precision; the model records what it reports.
        return round(self.loop.now, 3)

    def find(self, task_ref: str) -> Task:
        """A task by ARN or ID."""
        task = self.tasks.get(task_ref)
        if task is None:
            task_id = task_ref.rsplit("/", 1)[-1]
            task = next((t for t in self.tasks.values() if t.id == task_id), None)
        if task is None:
            raise TaskNotFound(task_ref)
        return task

    def _set(self, task: Task, *, last: str | None = None, desired: str | None = None) -> None:
        before = (task.last_status, task.desired_status)
        task.last_status = last or task.last_status
        task.desired_status = desired or task.desired_status
        if (task.last_status, task.desired_status) == before:
            return
        task.version += 1
        self.log.record(
            self._now(),
            Kind.ECS_TRANSITION,
            task.arn,
            service=task.service.name,
            last_status=task.last_status,
            desired_status=task.desired_status,
            version=task.version,
        )
        self._changed(task)

    def _changed(self, task: Task) -> None:
        task.times["updatedAt"] = self._now()
        self._publish(task)

    def _notify(self, task: Task) -> None:
        for listener in self.on_change:
            listener(task)

    def target_health(self, group_arn: str) -> list[Target]:
        """Targets of a group (for DescribeTargetHealth)."""
        for service in self.services.values():
            for group in service.target_groups:
                if group.arn == group_arn and not group.deleted:
                    return list(group.targets.values())
        raise TaskNotFound(group_arn)
