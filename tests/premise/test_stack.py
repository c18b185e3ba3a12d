"""The premise stack's Terraform runs: variables beside the example, Ctrl-C forwarded to
apply (it saves its state), not to destroy (it must finish), a destroy tried twice."""

from __future__ import annotations

import json
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tools.e2e.terraform import Terraform, TerraformError
from tools.premise.stack import VAR_FILE, Interrupted, StackOutputs, TerraformStack

OUTPUTS = {
    "region": "eu-west-1",
    "account_id": "111122223333",
    "cluster_arn": "arn:aws:ecs:eu-west-1:111122223333:cluster/drain-premise",
    "services": {"fargate": {"name": "drain-premise-fargate", "target_group_arn": "arn:tg"}},
    "deregistration_delay_seconds": 600,
    "wait_seconds": 30,
    "table_name": "drain-premise-terminator-ledger",
    "tag_prefix": "drain-terminator:",
    "sweeper_log_group": "/aws/lambda/drain-premise-terminator-sweeper",
}


@dataclass
class FakeTerraform(Terraform):
    """The captured commands (init, output) answered here."""

    ran: list[tuple[str, ...]] = field(default_factory=list)

    def run(self, directory: Path, *arguments: str, **_: Any) -> Any:
        self.ran.append(arguments)

    def output(self, directory: Path) -> dict[str, Any]:
        return OUTPUTS


@dataclass
class FakeProcess:
    """wait(): raises the interrupts queued, then returns ``code``."""

    code: int = 0
    interrupts: int = 0
    signals: list[int] = field(default_factory=list)

    def wait(self) -> int:
        if self.interrupts:
            self.interrupts -= 1
            raise KeyboardInterrupt
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)


@dataclass
class Launcher:
    processes: list[FakeProcess]
    commands: list[list[str]] = field(default_factory=list)

    def __call__(self, command: Sequence[str], env: Mapping[str, str]) -> FakeProcess:
        self.commands.append(list(command))
        return self.processes.pop(0)


def _stack(tmp_path: Path, *processes: FakeProcess) -> tuple[TerraformStack, Launcher, list[str]]:
    said: list[str] = []
    launcher = Launcher(list(processes))
    terraform = FakeTerraform(Path("/usr/bin/terraform"), None, {})
    stack = TerraformStack(
        terraform, {"region": "eu-west-1"}, directory=tmp_path, say=said.append, popen=launcher
    )
    return stack, launcher, said


def test_given_an_apply_when_it_succeeds_then_the_variables_sit_beside_the_example(
    tmp_path: Path,
) -> None:
    stack, launcher, _ = _stack(tmp_path, FakeProcess())

    outputs = stack.apply()

    assert outputs == StackOutputs.from_terraform(OUTPUTS)
    assert outputs.services == {"fargate": "drain-premise-fargate"}
    assert json.loads((tmp_path / VAR_FILE).read_text()) == {"region": "eu-west-1"}
    assert launcher.commands == [
        ["/usr/bin/terraform", f"-chdir={tmp_path}", "apply", "-auto-approve", "-input=false"]
    ]


def test_given_ctrl_c_during_apply_then_terraform_gets_one_sigint_and_the_step_is_interrupted(
    tmp_path: Path,
) -> None:
    process = FakeProcess(code=1, interrupts=1)
    stack, _, said = _stack(tmp_path, process)

    with pytest.raises(Interrupted):
        stack.apply()

    assert process.signals == [signal.SIGINT]
    assert "saves its state" in said[-1]


def test_given_ctrl_c_during_destroy_then_it_goes_on_and_finishes(tmp_path: Path) -> None:
    (tmp_path / VAR_FILE).write_text("{}")
    process = FakeProcess(code=0, interrupts=1)
    stack, _, said = _stack(tmp_path, process)

    stack.destroy()

    assert process.signals == []  # not forwarded: the destroy went on
    assert "the destroy goes on" in said[-1]
    assert not (tmp_path / VAR_FILE).exists()


def test_given_two_ctrl_c_during_destroy_then_it_stops_and_names_the_command(
    tmp_path: Path,
) -> None:
    process = FakeProcess(code=1, interrupts=2)
    stack, _, said = _stack(tmp_path, process)

    with pytest.raises(Interrupted):
        stack.destroy()

    assert process.signals == [signal.SIGINT]
    assert said[-1].endswith(stack.destroy_hint)


def test_given_a_failed_destroy_then_it_is_tried_once_more(tmp_path: Path) -> None:
    stack, launcher, _ = _stack(tmp_path, FakeProcess(code=1), FakeProcess(code=0))

    stack.destroy()

    assert [command[2] for command in launcher.commands] == ["destroy", "destroy"]


def test_given_two_failed_destroys_then_the_failure_is_raised(tmp_path: Path) -> None:
    stack, _, _ = _stack(tmp_path, FakeProcess(code=1), FakeProcess(code=1))

    with pytest.raises(TerraformError, match="destroy"):
        stack.destroy()


def test_given_outputs_without_a_field_when_read_then_the_error_names_it() -> None:
    with pytest.raises(TerraformError, match="table_name"):
        StackOutputs.from_terraform({k: v for k, v in OUTPUTS.items() if k != "table_name"})
