"""The premise command's steps against a fake stack and a fake account: the order, the
table, and the destroy on every path (failure, Ctrl-C) unless --keep."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from serverless.cli.verify import NOT_SHORTENED, SHORTENED, Verdict, VerifyRefused
from tools.e2e.terraform import TerraformError
from tools.premise.account import NotSettled
from tools.premise.stack import Interrupted, StackOutputs
from tools.premise.steps import EXIT_INCOMPLETE, EXIT_INTERRUPTED, run

CLUSTER = "arn:aws:ecs:eu-west-1:111122223333:cluster/drain-premise"


def _outputs(ec2: bool = False) -> StackOutputs:
    services = {"fargate": "drain-premise-fargate"}
    if ec2:
        services["ec2"] = "drain-premise-ec2"
    return StackOutputs(
        region="eu-west-1",
        account_id="111122223333",
        cluster_arn=CLUSTER,
        services=services,
        deregistration_delay=600,
        wait_seconds=30,
        table_name="drain-premise-terminator-ledger",
        tag_prefix="drain-terminator:",
        sweeper_log_group="/aws/lambda/drain-premise-terminator-sweeper",
    )


@dataclass
class FakeStack:
    outputs: StackOutputs = field(default_factory=_outputs)
    apply_error: BaseException | None = None
    destroy_error: BaseException | None = None
    calls: list[str] = field(default_factory=list)
    destroy_hint: str = "terraform -chdir=terraform/examples/premise destroy"

    def apply(self) -> StackOutputs:
        self.calls.append("apply")
        if self.apply_error is not None:
            raise self.apply_error
        return self.outputs

    def destroy(self) -> None:
        self.calls.append("destroy")
        if self.destroy_error is not None:
            raise self.destroy_error


def _shortened(measured: float) -> Verdict:
    return Verdict(
        SHORTENED,
        f"shortened: stopped {measured:.0f} s after drain start",
        drain_started_at=1000.0,
        stopping_at=1000.0 + measured,
        measured_seconds=measured,
        deregistration_delay=600,
    )


IGNORED_VERDICT = Verdict(
    NOT_SHORTENED, "did NOT shorten", drain_started_at=1000.0, deregistration_delay=600
)


@dataclass
class FakeAccount:
    """verify's answers by action: a Verdict, or an exception to raise."""

    answers: dict[str, Verdict | BaseException]
    settle_error: dict[str, BaseException] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    #: The ledger's stop steps by task ARN, and the step that stopped it.
    records: dict[str, tuple[tuple[str, ...], str | None]] = field(default_factory=dict)

    def steps(self, table: str, task_arn: str) -> tuple[tuple[str, ...], str | None]:
        self.calls.append(("steps", task_arn, table))
        return self.records.get(task_arn, ((), None))

    def wait_settled(self, cluster: str, service: str, timeout: float) -> None:
        self.calls.append(("settle", service, str(timeout)))
        error = self.settle_error.get(service)
        if error is not None:
            raise error

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
        self.calls.append(("measure", action, service, table, prefix, str(default_wait)))
        answer = self.answers[action]
        if isinstance(answer, BaseException):
            raise answer
        return answer


@dataclass
class Terminal:
    said: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)


def _run(stack: FakeStack, account: FakeAccount, keep: bool = False) -> tuple[int, Terminal]:
    terminal = Terminal()
    code = run(stack, account, keep=keep, say=terminal.said.append, show=terminal.shown.append)
    return code, terminal


IGNORED_WORLD: dict[str, Verdict | BaseException] = {
    "stop-task": IGNORED_VERDICT,
    "exec": _shortened(45.0),
    "stop-task-then-exec": _shortened(52.0),
    "ssm-signal": _shortened(47.0),
}


def test_given_the_fargate_stack_when_run_then_three_actions_measured_in_order_then_destroyed() -> (
    None
):
    stack, account = FakeStack(), FakeAccount(IGNORED_WORLD)

    code, terminal = _run(stack, account)

    assert code == 0
    assert stack.calls == ["apply", "destroy"]
    measured = [call[1:] for call in account.calls if call[0] == "measure"]
    assert measured == [
        (
            action,
            "drain-premise-fargate",
            "drain-premise-terminator-ledger",
            "drain-terminator:",
            "30",
        )
        for action in ("stop-task", "exec", "stop-task-then-exec")
    ]
    # Each measurement waits for the service to settle first (up to the delay + slack).
    assert [call[0] for call in account.calls] == ["settle", "measure"] * 3
    assert all(float(call[2]) > 600 for call in account.calls if call[0] == "settle")
    table, blank, choice = terminal.shown
    assert [line.split()[0] for line in table.splitlines()[:4]] == [
        "action",
        "stop-task",
        "exec",
        "stop-task-then-exec",
    ]
    assert blank == ""
    assert choice.startswith("choose stop-task-then-exec")
    assert terminal.said[-1] == "premise: stack destroyed"


def test_given_the_ec2_variant_when_run_then_ssm_signal_is_measured_on_the_ec2_service() -> None:
    stack, account = FakeStack(_outputs(ec2=True)), FakeAccount(IGNORED_WORLD)

    code, _ = _run(stack, account)

    assert code == 0
    measured = [call[1:3] for call in account.calls if call[0] == "measure"]
    assert measured[-1] == ("ssm-signal", "drain-premise-ec2")
    assert len(measured) == 4


def test_given_apply_fails_when_run_then_what_it_created_is_destroyed_and_the_run_fails() -> None:
    stack = FakeStack(apply_error=TerraformError("terraform apply exited 1"))
    account = FakeAccount(IGNORED_WORLD)

    code, terminal = _run(stack, account)

    assert code == EXIT_INCOMPLETE
    assert stack.calls == ["apply", "destroy"]
    assert account.calls == []
    assert "premise: FAILED: terraform apply exited 1" in terminal.said
    assert terminal.shown == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), Interrupted("apply stopped")])
def test_given_ctrl_c_during_apply_when_run_then_the_stack_is_destroyed(
    interrupt: BaseException,
) -> None:
    stack = FakeStack(apply_error=interrupt)

    code, terminal = _run(stack, FakeAccount(IGNORED_WORLD))

    assert code == EXIT_INTERRUPTED
    assert stack.calls == ["apply", "destroy"]
    assert "premise: interrupted" in terminal.said


def test_given_ctrl_c_during_a_measurement_when_run_then_rows_so_far_shown_and_destroyed() -> None:
    stack = FakeStack()
    account = FakeAccount({**IGNORED_WORLD, "exec": KeyboardInterrupt()})

    code, terminal = _run(stack, account)

    assert code == EXIT_INTERRUPTED
    assert stack.calls == ["apply", "destroy"]
    table = terminal.shown[0].splitlines()
    assert [line.split()[0] for line in table[:2]] == ["action", "stop-task"]
    assert table[2] == ""  # one row: the measurement interrupted has none


def test_given_verify_refuses_an_action_when_run_then_its_row_says_why_and_the_rest_measured() -> (
    None
):
    refused = VerifyRefused("service 'drain-premise-fargate' has a deployment in progress")
    account = FakeAccount({**IGNORED_WORLD, "exec": refused})

    code, terminal = _run(FakeStack(), account)

    assert code == EXIT_INCOMPLETE  # the table lacks a conclusive exec verdict
    table = terminal.shown[0]
    assert "not measured" in table.splitlines()[2]
    assert "exec: service 'drain-premise-fargate' has a deployment in progress" in table
    assert len([call for call in account.calls if call[0] == "measure"]) == 3


def test_given_a_service_that_never_settles_when_run_then_that_action_is_not_measured() -> None:
    account = FakeAccount(
        IGNORED_WORLD, settle_error={"drain-premise-fargate": NotSettled("did not settle")}
    )

    code, terminal = _run(FakeStack(), account)

    assert code == EXIT_INCOMPLETE
    assert terminal.shown[0].count("not measured") == 3
    assert [call[0] for call in account.calls] == ["settle"] * 3


def test_given_keep_when_run_then_nothing_is_destroyed_and_the_destroy_command_is_named() -> None:
    stack = FakeStack()

    code, terminal = _run(stack, FakeAccount(IGNORED_WORLD), keep=True)

    assert code == 0
    assert stack.calls == ["apply"]
    assert terminal.said[-1].endswith(stack.destroy_hint)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (TerraformError("destroy exited 1"), EXIT_INCOMPLETE),
        (KeyboardInterrupt(), EXIT_INTERRUPTED),
    ],
)
def test_given_the_destroy_fails_or_is_interrupted_when_run_then_the_command_to_finish_is_named(
    error: BaseException, code: int
) -> None:
    stack = FakeStack(destroy_error=error)

    result, terminal = _run(stack, FakeAccount(IGNORED_WORLD))

    assert result == code
    assert terminal.said[-1].endswith(f"finish it with: {stack.destroy_hint}")


def test_given_the_ledgers_steps_when_run_then_the_table_names_the_step_that_stopped_the_task() -> (
    None
):
    escalated = replace(_shortened(52.0), task_arn="arn:task/escalated")
    refused = replace(IGNORED_VERDICT, task_arn="arn:task/refused")
    account = FakeAccount(
        {**IGNORED_WORLD, "exec": refused, "stop-task-then-exec": escalated},
        records={
            "arn:task/escalated": (("stop-task:SENT", "exec:SIGNALLED"), "exec"),
            "arn:task/refused": (("exec:PREREQUISITE_MISSING",), None),
        },
    )

    code, terminal = _run(FakeStack(_outputs(ec2=True)), account)

    assert code == 0
    assert ("steps", "arn:task/escalated", "drain-premise-terminator-ledger") in account.calls
    table = terminal.shown[0].splitlines()
    assert table[2].endswith("refused")
    assert table[3].endswith("effective (exec)")
    assert "Steps: stop-task:SENT, exec:SIGNALLED." in terminal.shown[0]
    assert terminal.shown[2].startswith("choose stop-task-then-exec")
