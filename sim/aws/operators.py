"""Operators changing things in the middle of drains, as scenario actions.

A scenario :class:`sim.scenarios.Action` of kind ``tag``, ``untag``,
``delete-target-group`` or ``delete-service`` is applied in moto (what the functions
read) and in the model (what ECS and the load balancer do), and logged as
``Kind.OPERATOR`` with the service's tags afterwards, so the chaos verdict can tell
what the functions should have seen and when.
"""

from __future__ import annotations

from sim.aws.ecs.model import Service
from sim.aws.ecs.scheduler import ServiceScheduler
from sim.aws.infra import CLUSTER, Clients
from sim.engine.observe import Kind
from sim.scenarios import Action

__all__ = ["OPERATOR_ACTIONS", "operate"]

#: Scenario actions that stand for an operator changing things in the middle of drains.
OPERATOR_ACTIONS = frozenset({"tag", "untag", "delete-target-group", "delete-service"})


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
