"""``migrate-sidecar``: from a task definition with the NLB sidecar to tags and no sidecar.

Which container is the sidecar:

1. the one named by ``--sidecar NAME``; else
2. the one whose image contains ``--sidecar-image TEXT``; else
3. the one whose ``environment`` defines ``DEREGISTRATION_WAIT`` together with
   ``POLLING_FREQUENCY`` or ``TARGET_CONTAINER_NAME`` (the sidecar's settings).

Exactly one container must match, else the command stops and asks for ``--sidecar``.
The input may be ``aws ecs describe-task-definition`` output (``{"taskDefinition":
{...}, "tags": [...]}``), the bare task definition, or register-task-definition input;
the output is register-task-definition input: read-only fields are dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serverless.domain.errors import DrainTerminatorError
from serverless.domain.tags import TAG_ENABLED, TAG_WAIT_SECONDS, parse_policy

__all__ = [
    "READ_ONLY_FIELDS",
    "SIDECAR_VARIABLES",
    "Migration",
    "SidecarError",
    "looks_like_sidecar",
    "migrate",
]

DEREGISTRATION_WAIT = "DEREGISTRATION_WAIT"
POLLING_FREQUENCY = "POLLING_FREQUENCY"
TARGET_CONTAINER_NAME = "TARGET_CONTAINER_NAME"
SIDECAR_VARIABLES = (DEREGISTRATION_WAIT, POLLING_FREQUENCY, TARGET_CONTAINER_NAME)

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

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "sidecar": self.sidecar,
            "recognised_by": self.recognised_by,
            "tags": self.tags,
            "notes": self.notes,
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


def looks_like_sidecar(container: Mapping[str, Any]) -> bool:
    """The environment rule: DEREGISTRATION_WAIT with POLLING_FREQUENCY or TARGET_CONTAINER_NAME."""
    env = _environment(container)
    return DEREGISTRATION_WAIT in env and (POLLING_FREQUENCY in env or TARGET_CONTAINER_NAME in env)


def _find(
    containers: list[dict[str, Any]], name: str | None, image: str | None
) -> tuple[dict[str, Any], str]:
    names = ", ".join(str(c.get("name")) for c in containers)
    if name is not None:
        found = [c for c in containers if c.get("name") == name]
        if not found:
            raise SidecarError(f"no container named {name!r} (containers: {names})")
        return found[0], f"--sidecar {name}"
    if image is not None:
        found = [c for c in containers if image in str(c.get("image", ""))]
        how = f"image containing {image!r}"
    else:
        found = [c for c in containers if looks_like_sidecar(c)]
        how = f"environment {DEREGISTRATION_WAIT} with {POLLING_FREQUENCY}/{TARGET_CONTAINER_NAME}"
    if len(found) != 1:
        what = "no container" if not found else f"{len(found)} containers"
        raise SidecarError(
            f"{what} matched ({how}); name the sidecar with --sidecar NAME (containers: {names})"
        )
    return found[0], how


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
    found, how = _find(containers, sidecar, sidecar_image)
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
    notes.append(
        "the task role no longer needs elasticloadbalancing:DescribeTargetHealth for the sidecar"
    )

    output = {k: v for k, v in source.items() if k not in READ_ONLY_FIELDS}
    output["containerDefinitions"] = remaining
    if tags:
        output["tags"] = tags
    return Migration(name, how, new_tags, output, notes)
