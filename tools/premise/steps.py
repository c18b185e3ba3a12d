"""The command's steps: apply, measure each stop action, print the table, destroy.

Ports (the stack, the account) are injected, so the steps run against fakes in the
tests; the real ones are :class:`tools.premise.stack.TerraformStack` and
:class:`tools.premise.account.AwsAccount`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from serverless.cli.verify import Verdict
from serverless.domain.errors import DrainTerminatorError
from tools.e2e.terraform import TerraformError
from tools.premise.account import NotSettled
from tools.premise.report import (
    EFFECTIVE,
    IGNORED,
    NO_EFFECT,
    REFUSED,
    Row,
    advice,
    render,
    row_from_verdict,
    row_not_measured,
)
from tools.premise.stack import Interrupted, StackOutputs

__all__ = ["EXIT_INCOMPLETE", "EXIT_INTERRUPTED", "MEASUREMENTS", "Account", "Stack", "run"]

#: Each stop action and the service it is measured on, in order: StopTask alone first
#: (the premise itself), then what does not depend on it.
MEASUREMENTS = (
    ("stop-task", "fargate"),
    ("exec", "fargate"),
    ("stop-task-then-exec", "fargate"),
    ("ssm-signal", "ec2"),
)
EXIT_OK = 0
EXIT_INCOMPLETE = 1  # a step failed or an action has no conclusive verdict
EXIT_INTERRUPTED = 130
#: Slack on top of the deregistration delay: a new task's start, health checks, the wait.
SETTLE_SLACK_SECONDS = 900.0
MEASURE_SLACK_SECONDS = 600.0


class Stack(Protocol):
    """The example stack."""

    @property
    def destroy_hint(self) -> str: ...

    def apply(self) -> StackOutputs: ...

    def destroy(self) -> None: ...


class Account(Protocol):
    """The account the stack runs in."""

    def wait_settled(self, cluster: str, service: str, timeout: float) -> None: ...

    def steps(self, table: str, task_arn: str) -> tuple[tuple[str, ...], str | None]: ...

    def measure(
        self,
        cluster: str,
        service: str,
        action: str,
        *,
        table: str,
        prefix: str,
        default_wait: int,
        timeout: float,
    ) -> Verdict: ...


@dataclass
class _Outcome:
    rows: list[Row]
    failure: str | None = None
    interrupted: bool = False


def _measure_all(
    stack: Stack, account: Account, say: Callable[[str], None], outcome: _Outcome
) -> None:
    outputs = stack.apply()
    say(f"premise: stack applied in account {outputs.account_id}, {outputs.region}")
    settle = outputs.deregistration_delay + SETTLE_SLACK_SECONDS
    for action, key in MEASUREMENTS:
        service = outputs.services.get(key)
        if service is None:
            continue  # the EC2 variant was not asked for
        say(f"premise: measuring {action} on {service}")
        try:
            account.wait_settled(outputs.cluster_arn, service, settle)
            verdict = account.measure(
                outputs.cluster_arn,
                service,
                action,
                table=outputs.table_name,
                prefix=outputs.tag_prefix,
                default_wait=outputs.wait_seconds,
                timeout=outputs.deregistration_delay + MEASURE_SLACK_SECONDS,
            )
            steps, stopped_by = (
                account.steps(outputs.table_name, verdict.task_arn)
                if verdict.task_arn
                else ((), None)
            )
        except (NotSettled, DrainTerminatorError) as error:
            outcome.rows.append(row_not_measured(action, service, " ".join(str(error).split())))
            continue
        outcome.rows.append(row_from_verdict(action, service, verdict, steps, stopped_by))


def run(
    stack: Stack,
    account: Account,
    *,
    keep: bool = False,
    say: Callable[[str], None] = print,
    show: Callable[[str], None] = print,
) -> int:
    """Apply, measure, show the table, destroy (always, unless ``keep``); the exit status."""
    outcome = _Outcome([])
    try:
        _measure_all(stack, account, say, outcome)
    except (Interrupted, KeyboardInterrupt):
        outcome.interrupted = True
        say("premise: interrupted")
    except (TerraformError, DrainTerminatorError) as error:
        outcome.failure = str(error)
        say(f"premise: FAILED: {error}")
    finally:
        if outcome.rows:
            show(render(outcome.rows))
            show("")
            show(advice(outcome.rows))
    try:
        if keep:
            say(f"premise: the stack is kept (--keep); destroy it with: {stack.destroy_hint}")
        else:
            stack.destroy()
            say("premise: stack destroyed")
    except (Interrupted, KeyboardInterrupt):
        say(f"premise: the destroy was interrupted; finish it with: {stack.destroy_hint}")
        return EXIT_INTERRUPTED
    except TerraformError as error:
        say(f"premise: destroy FAILED ({error}); finish it with: {stack.destroy_hint}")
        return EXIT_INCOMPLETE
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    conclusive = {EFFECTIVE, IGNORED, NO_EFFECT, REFUSED}
    if (
        outcome.failure
        or not outcome.rows
        or any(r.verdict.split(" (")[0] not in conclusive for r in outcome.rows)
    ):
        return EXIT_INCOMPLETE
    return EXIT_OK
