"""Operators changing things in the middle of drains, and ECS acting on its own, as
scenario actions.

A scenario :class:`sim.scenarios.Action` of kind ``tag``, ``untag``,
``delete-target-group`` or ``delete-service`` is applied in moto (what the functions
read) and in the model (what ECS and the load balancer do), and logged as
``Kind.OPERATOR`` with the service's tags afterwards, so the chaos verdict can tell
what the functions should have seen and when.

Kinds ``drain-instance``, ``spot-interruption`` and ``fail-health-checks``
(:data:`ECS_ACTIONS`) are things that happen to a service without a deployment: its
container instance is set to DRAINING (by an operator, an Auto Scaling lifecycle hook or
managed draining), Fargate Spot reclaims tasks, targets fail their health checks.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.aws.ecs.model import Service
from sim.aws.ecs.scheduler import ServiceScheduler
from sim.aws.infra import CLUSTER, Clients
from sim.engine.observe import Kind
from sim.scenarios import Action

__all__ = ["ECS_ACTIONS", "OPERATOR_ACTIONS", "operate"]

#: Scenario actions that stand for an operator changing things in the middle of drains.
OPERATOR_ACTIONS = frozenset({"tag", "untag", "delete-target-group", "delete-service"})


def _drain_instance(action: Action, service: Service, scheduler: ServiceScheduler) -> None:
    scheduler.drain_instance(service)


def _spot_interruption(action: Action, service: Service, scheduler: ServiceScheduler) -> None:
    for task in [
        t for t in service.tasks if t.last_status == "RUNNING" and t.desired_status == "RUNNING"
    ][: action.count]:
        scheduler.model.spot_interrupt(task)


def _fail_health_checks(action: Action, service: Service, scheduler: ServiceScheduler) -> None:
    for task in [t for t in service.tasks if t.healthy and t.desired_status == "RUNNING"][
        : action.count
    ]:
        scheduler.model.fail_health_checks(task)


#: Scenario actions that stand for ECS (or EC2, or Fargate Spot) acting on its own.
ECS_ACTIONS: dict[str, Callable[[Action, Service, ServiceScheduler], None]] = {
    "drain-instance": _drain_instance,
    "spot-interruption": _spot_interruption,
    "fail-health-checks": _fail_health_checks,
}


def operate(
    action: Action,
    service: Service,
    clients: Clients,
    scheduler: ServiceScheduler,
    deployment_id: str,
) -> None:
    """An operator's change, made in moto and the model and logged as it happens."""
    tags = dict(service.current_tags or dict(service.spec.tags))
    if action.kind == "tag":
        tags.update(action.tags)
        clients.ecs.tag_resource(
            resourceArn=service.arn, tags=[{"key": k, "value": v} for k, v in action.tags]
        )
    elif action.kind == "untag":
        for key, _ in action.tags:
            tags.pop(key, None)
        clients.ecs.untag_resource(resourceArn=service.arn, tagKeys=[k for k, _ in action.tags])
    elif action.kind == "delete-target-group":
        group = service.target_groups[0]
        for balancer in clients.elbv2.describe_load_balancers()["LoadBalancers"]:
            listeners = clients.elbv2.describe_listeners(
                LoadBalancerArn=balancer["LoadBalancerArn"]
            )["Listeners"]
            for listener in listeners:
                if any(a.get("TargetGroupArn") == group.arn for a in listener["DefaultActions"]):
                    clients.elbv2.delete_listener(ListenerArn=listener["ListenerArn"])
        clients.elbv2.delete_target_group(TargetGroupArn=group.arn)
        group.deleted = True
    elif action.kind == "delete-service":
        clients.ecs.delete_service(cluster=CLUSTER, service=service.name, force=True)
        service.deleted = True
        # ECS drains what is left of a force-deleted service.
        scheduler.scale(service, 0, deployment_id)
    service.current_tags = tags
    scheduler.log.record(
        scheduler.loop.now,
        Kind.OPERATOR,
        service.arn,
        service=service.name,
        action=action.kind,
        tags=dict(tags),
    )
