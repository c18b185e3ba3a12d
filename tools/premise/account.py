"""The premise's AWS side: who the credentials are, when a service has settled, and one
measurement through ``verify``'s own code (:class:`serverless.cli.verify.Verifier`)."""

from __future__ import annotations

from collections.abc import Callable

from serverless.cli.aws.ecs import ServiceAdmin, TargetGroupReader
from serverless.cli.aws.ledger import LedgerReader
from serverless.cli.aws.session import AwsAccess
from serverless.cli.verify import Verdict, Verifier
from serverless.domain.clock import Clock

__all__ = ["AwsAccount", "NotSettled"]

POLL_SECONDS = 10.0


class NotSettled(Exception):
    """A service still had a deployment in progress (or too few tasks) at the timeout."""


class AwsAccount:
    """The account the stack runs in, through the operator CLI's adapters."""

    def __init__(
        self,
        access: AwsAccess,
        clock: Clock,
        *,
        say: Callable[[str], None] = print,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._access = access
        self._clock = clock
        self._say = say
        self._poll = poll_seconds
        self._ecs = ServiceAdmin(access)

    def identity(self) -> str:
        """The account id of the credentials (ConfigError without usable ones)."""
        response = self._access.call(
            "GetCallerIdentity", lambda: self._access.client("sts").get_caller_identity()
        )
        return str(response["Account"])

    def wait_settled(self, cluster: str, service: str, timeout: float) -> None:
        """Until the service has one deployment and all its tasks running (a drain from
        the previous measurement lasts up to the deregistration delay)."""
        deadline = self._clock.now() + timeout
        said = False
        while True:
            view = self._ecs.describe_service(cluster, service)
            live = [d for d in view.deployments if d.status != "INACTIVE"]
            if (
                len(live) == 1
                and view.desired_count >= 1
                and view.running_count >= view.desired_count
            ):
                return
            if self._clock.now() >= deadline:
                raise NotSettled(
                    f"service {service} did not settle within {timeout:.0f} s "
                    f"({len(live)} deployments, {view.running_count}/{view.desired_count} running)"
                )
            if not said:
                self._say(
                    f"premise: waiting for {service} to settle (one deployment, tasks running)"
                )
                said = True
            self._clock.sleep(self._poll)

    def steps(self, table: str, task_arn: str) -> tuple[tuple[str, ...], str | None]:
        """The stop steps the ledger recorded for the task (``action:outcome``) and the
        one that stopped it, if the terminator did."""
        record = LedgerReader(table, self._access).get(task_arn)
        if record is None:
            return (), None
        steps = tuple(f"{step.action}:{step.outcome}" for step in record.actions)
        return steps, (str(record.stopped_by) if record.stopped_by else None)

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
    ) -> Verdict:
        """``drain-terminator verify --action <action> --yes`` on the service."""
        verifier = Verifier(
            self._ecs,
            TargetGroupReader(self._access),
            LedgerReader(table, self._access),
            self._clock,
            prefix=prefix,
            default_wait=default_wait,
            progress=lambda line: self._say(f"premise: {action}: {line}"),
            action=action,
        )
        plan = verifier.plan(cluster, service, force=True)
        self._say(f"premise: {action}: {plan.describe()}")
        verifier.choose_action(plan)
        return verifier.run(plan, force=True, timeout=timeout)
