"""``migrate-sidecar``: from a task definition with the NLB sidecar to tags and no sidecar.

The sidecar (awslabs/nlb-sidecar-for-ecs) is recognised by any mark its README documents:
its published image (``public.ecr.aws/x3l4a9v5/nlb-sidecar-for-ecs``) or one of its
settings ``DEREGISTRATION_WAIT``, ``POLLING_FREQUENCY``, ``TARGET_CONTAINER_NAME`` in the
container's ``environment``. Exactly one container must carry a mark; else, or to
override, ``--sidecar NAME`` names it (``--sidecar-image TEXT``: by a text in its image).
A named container that carries no mark and maps a port (the load-balanced application) is
refused: removing it would remove the application. :func:`detect` is the same rule for
``verify``, which refuses a service still running the sidecar.

The input may be ``aws ecs describe-task-definition`` output (``{"taskDefinition":
{...}, "tags": [...]}``), the bare task definition, or register-task-definition input;
the output is register-task-definition input: read-only fields are dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from serverless.domain.errors import DrainTerminatorError
from serverless.domain.tags import TAG_ENABLED, TAG_WAIT_SECONDS, parse_policy

__all__ = [
    "PUBLISHED_IMAGE",
    "READ_ONLY_FIELDS",
    "SIDECAR_PERMISSIONS",
    "SIDECAR_VARIABLES",
    "Migration",
    "SidecarError",
    "detect",
    "find_sidecar",
    "marks",
    "migrate",
    "network_mode",
    "removable_permissions",
]

DEREGISTRATION_WAIT = "DEREGISTRATION_WAIT"
POLLING_FREQUENCY = "POLLING_FREQUENCY"
TARGET_CONTAINER_NAME = "TARGET_CONTAINER_NAME"
SIDECAR_VARIABLES = (DEREGISTRATION_WAIT, POLLING_FREQUENCY, TARGET_CONTAINER_NAME)
#: The image the sidecar's README publishes (tags ``latest`` and ``alpine``).
PUBLISHED_IMAGE = "public.ecr.aws/x3l4a9v5/nlb-sidecar-for-ecs"

#: The task-role permissions the sidecar's README lists, by network mode.
SIDECAR_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "awsvpc": (
        "elasticloadbalancing:DescribeTargetHealth",
        "ecs:DescribeServices",
        "ecs:DescribeTasks",
    ),
    "bridge": (
        "elasticloadbalancing:DescribeTargetHealth",
        "ecs:DescribeServices",
        "ecs:DescribeTasks",
        "elasticloadbalancing:DescribeTargetGroups",
        "ec2:DescribeInstances",
        "ecs:DescribeContainerInstances",
    ),
}

#: Fields of DescribeTaskDefinition's answer that RegisterTaskDefinition does not accept.
READ_ONLY_FIELDS = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)


class SidecarError(DrainTerminatorError):
    """The file is not a task definition with exactly one recognisable sidecar."""


@dataclass(frozen=True, slots=True)
class Migration:
    """The result: the sidecar found, the tags replacing it, the new task definition."""

    sidecar: str
    recognised_by: str
    tags: dict[str, str]
    task_definition: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    removable_permissions: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "sidecar": self.sidecar,
            "recognised_by": self.recognised_by,
            "tags": self.tags,
            "notes": self.notes,
            "removable_permissions": list(self.removable_permissions),
            "taskDefinition": self.task_definition,
        }


def _environment(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(e.get("name")): str(e.get("value", ""))
        for e in container.get("environment", []) or []
        if isinstance(e, Mapping) and "name" in e
    }


def _unwrap(document: object) -> tuple[dict[str, Any], list[dict[str, str]]]:
    if not isinstance(document, dict):
        raise SidecarError("not a task definition: the JSON is not an object")
    tags = document.get("tags") or []
    inner = document.get("taskDefinition", document)
    if not isinstance(inner, dict) or not isinstance(inner.get("containerDefinitions"), list):
        raise SidecarError("not a task definition: no containerDefinitions list")
    return inner, list(tags) if isinstance(tags, list) else []


def marks(container: Mapping[str, Any]) -> list[str]:
    """The sidecar's documented marks this container carries (empty: none)."""
    found = []
    image = str(container.get("image", ""))
    if PUBLISHED_IMAGE in image:
        found.append(f"image {PUBLISHED_IMAGE}")
    env = _environment(container)
    found.extend(name for name in SIDECAR_VARIABLES if name in env)
    return found


def _ports(container: Mapping[str, Any]) -> list[str]:
    return [
        str(m.get("containerPort"))
        for m in container.get("portMappings", []) or []
        if isinstance(m, Mapping) and m.get("containerPort") is not None
    ]


def _check_named(container: Mapping[str, Any], load_balanced: Collection[str] | None) -> None:
    """Refuse a named container that carries no mark and holds the load-balanced port."""
    if marks(container):
        return
    name = str(container.get("name"))
    ports = _ports(container)
    if load_balanced is not None:
        holds = name in load_balanced
        where = "the service's load balancer sends traffic to it"
    else:
        holds = bool(ports)
        where = f"it maps port {', '.join(ports)}, which a load balancer would send traffic to"
    if holds:
        raise SidecarError(
            f"container {name!r} carries none of the sidecar's marks ({PUBLISHED_IMAGE}, "
            f"{', '.join(SIDECAR_VARIABLES)}) and {where}: it looks like the application, "
            "not the sidecar; name the sidecar's container"
        )


def _describe(found: Mapping[str, Any]) -> str:
    return ", ".join(marks(found))


def find_sidecar(
    containers: Sequence[Mapping[str, Any]],
    name: str | None = None,
    image: str | None = None,
    load_balanced: Collection[str] | None = None,
) -> tuple[Mapping[str, Any], str]:
    """The sidecar container and how it was recognised; SidecarError when not exactly one.

    ``load_balanced``: the containers a service's load balancer targets, when known (else
    any container mapping a port counts as holding the load-balanced port).
    """
    names = ", ".join(str(c.get("name")) for c in containers)
    if name is not None:
        named = [c for c in containers if c.get("name") == name]
        if not named:
            raise SidecarError(f"no container named {name!r} (containers: {names})")
        _check_named(named[0], load_balanced)
        return named[0], f"--sidecar {name}"
    if image is not None:
        found = [c for c in containers if image in str(c.get("image", ""))]
        how = f"image containing {image!r}"
        if len(found) == 1:
            _check_named(found[0], load_balanced)
    else:
        found = [c for c in containers if marks(c)]
        how = f"any of: image {PUBLISHED_IMAGE}, environment {', '.join(SIDECAR_VARIABLES)}"
    if len(found) != 1:
        what = "no container" if not found else f"{len(found)} containers"
        carriers = (
            " (" + "; ".join(f"{c.get('name')}: {_describe(c)}" for c in found) + ")"
            if len(found) > 1 and image is None
            else ""
        )
        raise SidecarError(
            f"{what} matched ({how}){carriers}; name the sidecar with --sidecar NAME "
            f"(containers: {names})"
        )
    return found[0], how if image is not None else _describe(found[0])


def detect(
    containers: Sequence[Mapping[str, Any]],
    name: str | None = None,
    load_balanced: Collection[str] | None = None,
) -> list[tuple[str, str]]:
    """Sidecar containers in a task definition: (name, how recognised) each (for verify).

    With ``name``: that container if present (refused as for :func:`find_sidecar` when it
    is the load-balanced application), else none. Without: every container with a mark.
    """
    if name is not None:
        named = [c for c in containers if c.get("name") == name]
        if not named:
            return []
        _check_named(named[0], load_balanced)
        return [(name, f"--sidecar {name}")]
    return [(str(c.get("name")), _describe(c)) for c in containers if marks(c)]


def network_mode(task_definition: Mapping[str, Any]) -> str:
    """The task definition's network mode (ECS's default: awsvpc on Fargate, else bridge)."""
    mode = task_definition.get("networkMode")
    if mode:
        return str(mode)
    return (
        "awsvpc"
        if "FARGATE" in (task_definition.get("requiresCompatibilities") or [])
        else "bridge"
    )


def removable_permissions(mode: str) -> tuple[str, ...]:
    """What the sidecar's README has the task role grant in this network mode (the bridge
    list for any mode but awsvpc: the sidecar supports only the two)."""
    return SIDECAR_PERMISSIONS["awsvpc" if mode == "awsvpc" else "bridge"]


#: Where a container can name another one: the list key, and how an entry names it.
_REFERENCES: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("dependsOn", lambda entry: str(entry.get("containerName"))),
    ("links", lambda entry: str(entry).split(":", 1)[0]),
    ("volumesFrom", lambda entry: str(entry.get("sourceContainer"))),
)


def _drop_references(container: dict[str, Any], sidecar: str) -> list[str]:
    """Remove dependsOn / links / volumesFrom entries naming the sidecar."""
    removed: list[str] = []
    for key, named in _REFERENCES:
        entries = container.get(key)
        if not isinstance(entries, list):
            continue
        kept = [entry for entry in entries if named(entry) != sidecar]
        if len(kept) != len(entries):
            removed.append(key)
        if kept:
            container[key] = kept
        else:
            container.pop(key)
    return removed


def migrate(
    document: object,
    *,
    prefix: str,
    default_wait: int,
    sidecar: str | None = None,
    sidecar_image: str | None = None,
) -> Migration:
    """Find the sidecar, derive the tags, and return the task definition without it."""
    source, tags = _unwrap(copy.deepcopy(document))
    containers = [c for c in source["containerDefinitions"] if isinstance(c, dict)]
    found, how = find_sidecar(containers, sidecar, sidecar_image)
    name = str(found.get("name"))
    env = _environment(found)
    notes: list[str] = []

    new_tags = {prefix + TAG_ENABLED: "true"}
    raw_wait = env.get(DEREGISTRATION_WAIT)
    if raw_wait is None:
        notes.append(
            f"the sidecar sets no {DEREGISTRATION_WAIT}: no wait-seconds tag, so the "
            f"terminator's default ({default_wait} s) applies"
        )
    else:
        candidate = {prefix + TAG_ENABLED: "true", prefix + TAG_WAIT_SECONDS: raw_wait.strip()}
        result = parse_policy(candidate, prefix, default_wait)
        if result.warnings:
            raise SidecarError(
                f"{DEREGISTRATION_WAIT}={raw_wait!r} is not whole seconds >= 0; "
                "set wait-seconds yourself with: drain-terminator tags --wait N"
            )
        new_tags[prefix + TAG_WAIT_SECONDS] = raw_wait.strip()
        notes.append(f"{DEREGISTRATION_WAIT}={raw_wait.strip()} becomes {prefix}{TAG_WAIT_SECONDS}")
    polling = env.get(POLLING_FREQUENCY)
    notes.append(
        f"{POLLING_FREQUENCY}"
        + (f"={polling}" if polling is not None else "")
        + " is not needed: the terminator learns of a drain from ECS events, without polling"
        + (
            f" (the sidecar stopped tasks up to {polling} s after the wait; the terminator "
            "stops them within a second of it)"
            if polling is not None and polling.strip().isdigit()
            else ""
        )
    )
    notes.append(
        f"{TARGET_CONTAINER_NAME} is not needed: the drain is read from the task's state, "
        "not from one container's target health"
    )
    others = sorted(set(env) - set(SIDECAR_VARIABLES))
    if others:
        notes.append(f"other sidecar variables dropped: {', '.join(others)}")

    remaining = [c for c in containers if c is not found]
    if not remaining:
        raise SidecarError(f"{name!r} is the only container: nothing would be left")
    if not any(c.get("essential", True) for c in remaining):
        notes.append(
            "no remaining container is marked essential: mark the application container "
            "essential before registering"
        )
    for container in remaining:
        dropped = _drop_references(container, name)
        if dropped:
            notes.append(
                f"container {container.get('name')!r}: removed {', '.join(dropped)} "
                f"entries naming {name!r}"
            )
    memory = found.get("memoryReservation") or found.get("memory")
    if memory and source.get("memory"):
        notes.append(
            f"the task-level memory ({source['memory']} MiB) is unchanged; the sidecar "
            f"reserved {memory} MiB of it"
        )
    mode = network_mode(source)
    permissions = removable_permissions(mode)
    role = source.get("taskRoleArn")
    notes.append(
        f"the task role{f' {role}' if role else ''} granted the sidecar (its README, "
        f"{mode} mode): {', '.join(permissions)}; remove those no other container of the "
        "task uses (only you can tell which ones the application needs)"
    )

    output = {k: v for k, v in source.items() if k not in READ_ONLY_FIELDS}
    output["containerDefinitions"] = remaining
    if tags:
        output["tags"] = tags
    return Migration(name, how, new_tags, output, notes, permissions)
