"""Every environment variable the functions read, loaded once into a frozen dataclass.

The defaults are stated once, on :class:`Settings`; :func:`load_settings` only knows which
variable feeds which field and the smallest value it accepts. A missing or malformed
variable raises :class:`ConfigError` at cold start, so a misconfigured deployment fails
loudly on its first invocation instead of quietly doing nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from serverless.domain.accounts import ACCOUNT_ID
from serverless.domain.errors import ConfigError
from serverless.domain.model import StopAction
from serverless.domain.signals import DEFAULT_SIGNAL, SignalCommand

__all__ = [
    "BACKSTOP_ROUND_MINUTES",
    "CLUSTER_ARNS",
    "CONFIRM_AFTER_SECONDS",
    "DECISION_MAX_AGE_SECONDS",
    "DEFAULT_MEMBER_ROLE_ARN_TEMPLATE",
    "DEFAULT_WAIT_SECONDS",
    "DRY_RUN",
    "EARLY_START_BELOW_SECONDS",
    "ESCALATE_AFTER_SECONDS",
    "EXEC_CALLS_PER_SECOND",
    "EXEC_ENABLED",
    "LEASE_SECONDS",
    "MEMBER_ACCOUNT_IDS",
    "MEMBER_EXTERNAL_ID",
    "MEMBER_ROLE_ARN_TEMPLATE",
    "RECORD_RETENTION_SECONDS",
    "REQUIRED_VARIABLES",
    "SSM_COMMANDS_PER_SECOND",
    "SSM_SIGNAL_ENABLED",
    "STOP_COMMAND",
    "STOP_SIGNAL",
    "SWEEPER_FUNCTION_NAME",
    "SWEEP_HORIZON_SECONDS",
    "TABLE_NAME",
    "TAG_CACHE_SECONDS",
    "TAG_PREFIX",
    "Settings",
    "load_settings",
]

# Environment variable names: the only place they are spelled out.
TABLE_NAME = "TABLE_NAME"
TAG_PREFIX = "TAG_PREFIX"
DEFAULT_WAIT_SECONDS = "DEFAULT_WAIT_SECONDS"
SWEEP_HORIZON_SECONDS = "SWEEP_HORIZON_SECONDS"
LEASE_SECONDS = "LEASE_SECONDS"
TAG_CACHE_SECONDS = "TAG_CACHE_SECONDS"
RECORD_RETENTION_SECONDS = "RECORD_RETENTION_SECONDS"
DRY_RUN = "DRY_RUN"
CONFIRM_AFTER_SECONDS = "CONFIRM_AFTER_SECONDS"
SWEEPER_FUNCTION_NAME = "SWEEPER_FUNCTION_NAME"
EARLY_START_BELOW_SECONDS = "EARLY_START_BELOW_SECONDS"
DECISION_MAX_AGE_SECONDS = "DECISION_MAX_AGE_SECONDS"
BACKSTOP_ROUND_MINUTES = "BACKSTOP_ROUND_MINUTES"
CLUSTER_ARNS = "CLUSTER_ARNS"
EXEC_ENABLED = "EXEC_ENABLED"
SSM_SIGNAL_ENABLED = "SSM_SIGNAL_ENABLED"
ESCALATE_AFTER_SECONDS = "ESCALATE_AFTER_SECONDS"
STOP_SIGNAL = "STOP_SIGNAL"
STOP_COMMAND = "STOP_COMMAND"
MEMBER_ACCOUNT_IDS = "MEMBER_ACCOUNT_IDS"
MEMBER_ROLE_ARN_TEMPLATE = "MEMBER_ROLE_ARN_TEMPLATE"
MEMBER_EXTERNAL_ID = "MEMBER_EXTERNAL_ID"

#: The member role when ``MEMBER_ROLE_ARN_TEMPLATE`` is not set (the module's default name).
DEFAULT_MEMBER_ROLE_ARN_TEMPLATE = (
    "arn:{partition}:iam::{account}:role/ecs-drain-terminator-member-{region}"
)
EXEC_CALLS_PER_SECOND = "EXEC_CALLS_PER_SECOND"
SSM_COMMANDS_PER_SECOND = "SSM_COMMANDS_PER_SECOND"

REQUIRED_VARIABLES: tuple[str, ...] = (TABLE_NAME,)


@dataclass(frozen=True, slots=True)
class Settings:
    """Runtime configuration shared by both functions (the defaults live here only)."""

    table_name: str
    tag_prefix: str = "drain-terminator:"
    default_wait_seconds: int = 120
    # How far ahead a sweeper run looks for deadlines it must meet itself: the schedule
    # fires once a minute at an unspecified second, so one minute plus slack.
    sweep_horizon_seconds: int = 90
    # How long a claim on a ledger record holds before another run may take it over. A run
    # never starts a StopTask unless its lease outlives the longest possible call, so it
    # must exceed that bound (15 s) with room for the checks before it.
    lease_seconds: int = 30
    tag_cache_seconds: int = 60
    # How long closed records stay in the ledger before DynamoDB TTL removes them.
    record_retention_seconds: int = 7 * 24 * 3600
    dry_run: bool = False
    # A task still draining this long after our StopTask is reported as unconfirmed.
    confirm_after_seconds: int = 60
    # The sweeper function started at once (asynchronously): by task-events when a drain's
    # deadline is nearer than ``early_start_below_seconds`` (the next scheduled run might
    # start too late for it; 0: never), by the sweeper to hand a backlog over to the next
    # run when its own time runs out. Empty: neither.
    sweeper_function_name: str = ""
    early_start_below_seconds: int = 120
    # The tags (opt-in, dry-run, wait, guards) and desiredCount a StopTask is decided on are
    # at most this many seconds old (the task state: sweep.timing.TASK_STATE_MAX_AGE_SECONDS).
    decision_max_age_seconds: int = 5
    # The backstop (lost drain events) visits every opted-in service once per this many
    # minutes, a slice of them each minute (serverless/backstop/plan.py states its bounds).
    backstop_round_minutes: int = 10
    # The clusters the module acts on (its IAM policies allow no others); empty: all.
    cluster_arns: tuple[str, ...] = ()
    # Stop actions beyond StopTask, each on only where the module grants its IAM
    # permissions: ``exec`` (ECS Exec) and ``ssm-signal`` (SSM Run Command, EC2 tasks).
    exec_enabled: bool = False
    ssm_signal_enabled: bool = False
    # A task still draining this long after a stop action escalates to the plan's next
    # one (stop-task-then-exec): well under a minute, so a StopTask that ECS ignores costs
    # seconds, not the deregistration delay; long enough for ECS to show the task stopping.
    escalate_after_seconds: int = 20
    # What exec and ssm-signal send when the service's tags name nothing else: the signal
    # (``kill -<signal> 1`` inside the container, ``docker kill --signal`` by SSM), or a
    # command of the user's run by ``/bin/sh -c`` in the container instead ("": none).
    stop_signal: str = DEFAULT_SIGNAL
    stop_command: str = ""
    # The account's pace of ExecuteCommand and SendCommand calls (all sweeper runs
    # together). AWS publishes no rate limit for either: these defaults are assumptions,
    # not facts. ExecuteCommand 20/s: the lowest sustained rate ECS publishes for any of
    # its calls (DescribeTasks, DescribeServices, ListTagsForResource). SendCommand 10/s:
    # half of that, a guess. botocore's adaptive mode measures the real limit (it slows the
    # client when AWS throttles) and the SignalCallsThrottled metric counts each throttled
    # attempt: lower the setting if it is not 0, raise it if signal steps queue.
    exec_calls_per_second: int = 20
    ssm_commands_per_second: int = 10

    def __post_init__(self) -> None:
        try:
            SignalCommand(signal=self.stop_signal, command=self.stop_command or None)
        except ValueError as error:
            raise ConfigError(f"{STOP_SIGNAL}/{STOP_COMMAND}: {error}") from error

    @property
    def default_stop_action(self) -> StopAction:
        """The action of a service without a valid stop-action tag: stop-task, or
        stop-task-then-exec where the module turned exec on."""
        return StopAction.STOP_TASK_THEN_EXEC if self.exec_enabled else StopAction.STOP_TASK

    @property
    def enabled_actions(self) -> frozenset[StopAction]:
        """The single-step actions this deployment may take (its IAM permissions)."""
        actions = {StopAction.STOP_TASK}
        if self.exec_enabled:
            actions.add(StopAction.EXEC)
        if self.ssm_signal_enabled:
            actions.add(StopAction.SSM_SIGNAL)
        return frozenset(actions)

    # Many accounts (a hub): the member accounts the functions act for besides their own,
    # with the role assumed in each (filled from the task ARN) and the external id the
    # members' trust requires (None: none). Empty: a single-account deployment.
    member_account_ids: frozenset[str] = frozenset()
    member_role_arn_template: str = DEFAULT_MEMBER_ROLE_ARN_TEMPLATE
    member_external_id: str | None = None

    @property
    def is_hub(self) -> bool:
        """Whether the functions act for member accounts too (``MEMBER_ACCOUNT_IDS`` set)."""
        return bool(self.member_account_ids)

    def member_role_arn(self, partition: str, account: str, region: str) -> str:
        """The member role to assume for a resource of ``account`` in ``region``."""
        return self.member_role_arn_template.format(
            partition=partition, account=account, region=region
        )


_WHOLE = re.compile(r"-?[0-9]{1,9}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

#: Whole-number variables: environment variable -> (field, smallest accepted value).
_WHOLE_NUMBERS: dict[str, tuple[str, int]] = {
    DEFAULT_WAIT_SECONDS: ("default_wait_seconds", 0),
    SWEEP_HORIZON_SECONDS: ("sweep_horizon_seconds", 0),
    LEASE_SECONDS: ("lease_seconds", 20),
    TAG_CACHE_SECONDS: ("tag_cache_seconds", 0),
    RECORD_RETENTION_SECONDS: ("record_retention_seconds", 60),
    CONFIRM_AFTER_SECONDS: ("confirm_after_seconds", 1),
    EARLY_START_BELOW_SECONDS: ("early_start_below_seconds", 0),
    DECISION_MAX_AGE_SECONDS: ("decision_max_age_seconds", 1),
    BACKSTOP_ROUND_MINUTES: ("backstop_round_minutes", 1),
    ESCALATE_AFTER_SECONDS: ("escalate_after_seconds", 1),
    EXEC_CALLS_PER_SECOND: ("exec_calls_per_second", 1),
    SSM_COMMANDS_PER_SECOND: ("ssm_commands_per_second", 1),
}
_BOOLEANS: dict[str, str] = {
    DRY_RUN: "dry_run",
    EXEC_ENABLED: "exec_enabled",
    SSM_SIGNAL_ENABLED: "ssm_signal_enabled",
}


def _whole(name: str, raw: str, minimum: int) -> int:
    text = raw.strip()
    if not _WHOLE.fullmatch(text):
        raise ConfigError(f"{name} must be a whole number, got {raw!r}")
    value = int(text)
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _member_accounts(raw: str) -> frozenset[str]:
    accounts = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = sorted(a for a in accounts if not ACCOUNT_ID.fullmatch(a))
    if bad:
        raise ConfigError(f"{MEMBER_ACCOUNT_IDS} must list 12-digit account ids, got {bad}")
    return accounts


def _role_template(raw: str) -> str:
    template = raw.strip()
    try:
        arn = template.format(partition="aws", account="123456789012", region="us-east-1")
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"{MEMBER_ROLE_ARN_TEMPLATE} may use only {{partition}}, {{account}} and "
            f"{{region}}: {raw!r} ({error!r})"
        ) from None
    if not arn.startswith("arn:") or ":role/" not in arn or "{account}" not in template:
        raise ConfigError(
            f"{MEMBER_ROLE_ARN_TEMPLATE} must be an IAM role ARN with {{account}}, got {raw!r}"
        )
    return template


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read :class:`Settings` from ``environ`` (default: the process environment).

    An absent or blank variable keeps the field's default.
    """
    env = os.environ if environ is None else environ
    missing = [name for name in REQUIRED_VARIABLES if not env.get(name, "").strip()]
    if missing:
        raise ConfigError(f"missing required environment variable(s): {', '.join(missing)}")
    values: dict[str, Any] = {"table_name": env[TABLE_NAME].strip()}
    prefix = env.get(TAG_PREFIX)
    if prefix is not None:
        if not prefix.strip():
            raise ConfigError(f"{TAG_PREFIX} must not be empty")
        values["tag_prefix"] = prefix
    for name, (field_name, minimum) in _WHOLE_NUMBERS.items():
        raw = env.get(name)
        if raw is not None and raw.strip():
            values[field_name] = _whole(name, raw, minimum)
    for name, field_name in _BOOLEANS.items():
        raw = env.get(name)
        if raw is not None:
            values[field_name] = _bool(name, raw)
    clusters = env.get(CLUSTER_ARNS)
    if clusters is not None:
        values["cluster_arns"] = tuple(
            dict.fromkeys(arn.strip() for arn in clusters.split(",") if arn.strip())
        )
    function_name = env.get(SWEEPER_FUNCTION_NAME)
    if function_name is not None:
        values["sweeper_function_name"] = function_name.strip()
    signal = env.get(STOP_SIGNAL)
    if signal is not None and signal.strip():
        values["stop_signal"] = signal.strip()
    command = env.get(STOP_COMMAND)
    if command is not None:
        values["stop_command"] = command.strip()
    members = env.get(MEMBER_ACCOUNT_IDS)
    if members is not None and members.strip():
        values["member_account_ids"] = _member_accounts(members)
    template = env.get(MEMBER_ROLE_ARN_TEMPLATE)
    if template is not None and template.strip():
        values["member_role_arn_template"] = _role_template(template)
    external_id = env.get(MEMBER_EXTERNAL_ID)
    if external_id is not None and external_id.strip():
        values["member_external_id"] = external_id.strip()
    return Settings(**values)
