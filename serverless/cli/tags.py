"""``tags``: the opt-in tags of a service, checked with the terminator's own rules.

:func:`plan_change` changes only the tags it is given (``replace``: the whole set under
the prefix) and says whether the change ends dry-run or opts the service out, the two
changes the command asks about first. The resulting set goes through
:func:`serverless.domain.tags.parse_policy` — the function the task-events and sweeper
functions apply — so a tag set that would be read differently (an invalid wait falling
back to the default, a guard turned off) is refused here.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import ServicePolicy
from serverless.domain.tags import (
    TAG_DRY_RUN,
    TAG_ENABLED,
    TAG_EXEC_CONTAINER,
    TAG_MAX_STOPS_PER_MINUTE,
    TAG_MIN_HEALTHY_PERCENT,
    TAG_SSM_FALLBACK,
    TAG_STOP_ACTION,
    TAG_STOP_COMMAND,
    TAG_STOP_SIGNAL,
    TAG_WAIT_SECONDS,
    parse_policy,
)

__all__ = [
    "SETTABLE",
    "InvalidTagsError",
    "TagChange",
    "TagSet",
    "plan_change",
    "service_arn",
]

#: The tags --remove accepts (without the prefix): everything but the opt-in itself.
SETTABLE = (
    TAG_WAIT_SECONDS,
    TAG_MIN_HEALTHY_PERCENT,
    TAG_MAX_STOPS_PER_MINUTE,
    TAG_DRY_RUN,
    TAG_STOP_ACTION,
    TAG_EXEC_CONTAINER,
    TAG_STOP_SIGNAL,
    TAG_STOP_COMMAND,
    TAG_SSM_FALLBACK,
)


def service_arn(cluster_arn: str, service_name: str) -> str:
    """Long-format service ARN (``...:service/<cluster>/<name>``) from a cluster ARN."""
    head, _, cluster = cluster_arn.partition(":cluster/")
    return f"{head}:service/{cluster}/{service_name}"


class InvalidTagsError(DrainTerminatorError):
    """A tag value the terminator would not read as given."""


@dataclass(frozen=True, slots=True)
class TagSet:
    """The complete set of prefixed tags a service should carry."""

    prefix: str
    tags: dict[str, str]

    def aws_cli(self, service_arn: str) -> str:
        """The equivalent ``aws ecs tag-resource`` command."""
        pairs = " ".join(
            shlex.quote(f"key={key},value={value}") for key, value in self.tags.items()
        )
        return f"aws ecs tag-resource --resource-arn {shlex.quote(service_arn)} --tags {pairs}"

    def terraform(self) -> str:
        """The tags as a Terraform map (for ``aws_ecs_service.tags``)."""
        width = max(len(json.dumps(key)) for key in self.tags)
        body = "\n".join(
            f"  {json.dumps(key).ljust(width)} = {json.dumps(value)}"
            for key, value in self.tags.items()
        )
        return "tags = {\n" + body + "\n}"

    def stale(self, current: Mapping[str, str]) -> list[str]:
        """Keys under the prefix that ``current`` carries and this set does not."""
        return sorted(k for k in current if k.startswith(self.prefix) and k not in self.tags)


@dataclass(frozen=True, slots=True)
class TagChange:
    """The service's prefixed tags before and after, and what the change means."""

    prefix: str
    before: dict[str, str]
    after: TagSet
    policy: ServicePolicy
    changed: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    ends_dry_run: bool = False
    opts_out: bool = False


def plan_change(
    prefix: str,
    default_wait: int,
    current: Mapping[str, str],
    *,
    wait: str | None = None,
    min_healthy_percent: str | None = None,
    max_stops_per_minute: str | None = None,
    dry_run: bool | None = None,
    opt_out: bool = False,
    remove: Sequence[str] = (),
    replace: bool = False,
    stop_action: str | None = None,
    exec_container: str | None = None,
    stop_signal: str | None = None,
    stop_command: str | None = None,
    ssm_fallback: bool | None = None,
) -> TagChange:
    """The change that sets only the given tags (``replace``: exactly them) on ``current``.

    ``dry_run``: True sets the dry-run tag, False removes it, None leaves it. The service
    is opted in (``enabled=true``) unless ``opt_out`` (``enabled=false``).
    """
    before = {k: v for k, v in current.items() if k.startswith(prefix)}
    after = {} if replace else dict(before)
    after[prefix + TAG_ENABLED] = "false" if opt_out else "true"
    given = {
        TAG_WAIT_SECONDS: wait,
        TAG_MIN_HEALTHY_PERCENT: min_healthy_percent,
        TAG_MAX_STOPS_PER_MINUTE: max_stops_per_minute,
        TAG_STOP_ACTION: stop_action,
        TAG_EXEC_CONTAINER: exec_container,
        TAG_STOP_SIGNAL: stop_signal,
        TAG_STOP_COMMAND: stop_command,
        TAG_SSM_FALLBACK: None if ssm_fallback is None else str(ssm_fallback).lower(),
    }
    for name, value in given.items():
        if value is not None:
            after[prefix + name] = value.strip()
    if dry_run:
        after[prefix + TAG_DRY_RUN] = "true"
    elif dry_run is False:
        after.pop(prefix + TAG_DRY_RUN, None)
    for name in remove:
        bare = name.removeprefix(prefix)
        if bare not in SETTABLE:
            raise InvalidTagsError(
                f"--remove {name}: not one of {', '.join(SETTABLE)} (to opt out: --opt-out)"
            )
        after.pop(prefix + bare, None)
    result = parse_policy(after, prefix, default_wait)
    if result.warnings:
        raise InvalidTagsError(
            "; ".join(result.warnings)
            + " (that is how the terminator would read it; nothing tagged)"
        )
    old = parse_policy(before, prefix, default_wait).policy
    new = result.policy
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    removed = sorted(k for k in before if k not in after)
    return TagChange(
        prefix,
        before,
        TagSet(prefix, after),
        new,
        changed,
        removed,
        ends_dry_run=old.dry_run and not new.dry_run and new.enabled,
        opts_out=old.enabled and not new.enabled,
    )
