"""The premise stack (terraform/examples/premise) in the user's account: apply, read its
outputs, destroy; Terraform's own progress goes to the terminal as it runs.

Terraform runs in a session of its own, so a Ctrl-C (or SIGTERM) reaches this process
only and is handled here. During apply it is forwarded to Terraform once: Terraform
finishes the calls in flight and saves its state, so the destroy that follows finds
everything it created. During destroy it is not forwarded (the stack bills by the hour):
the destroy goes on, and only a second Ctrl-C stops it, naming the command that finishes
the job.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tools.e2e.terraform import Terraform, TerraformError

__all__ = [
    "EXAMPLE_DIR",
    "VAR_FILE",
    "Interrupted",
    "StackOutputs",
    "TerraformStack",
]

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "terraform" / "examples" / "premise"
#: Written beside the example (git-ignored) so a kept stack is destroyed with a bare
#: ``terraform destroy`` there: Terraform loads ``*.auto.tfvars.json`` by itself.
VAR_FILE = "premise.auto.tfvars.json"


class Interrupted(Exception):
    """Ctrl-C (or SIGTERM) during a step; the message says what was left running."""


@dataclass(frozen=True, slots=True)
class StackOutputs:
    """What the measurements need from ``terraform output``."""

    region: str
    account_id: str
    cluster_arn: str
    services: dict[str, str]  # launch type key (fargate, ec2) -> service name
    deregistration_delay: int
    wait_seconds: int
    table_name: str
    tag_prefix: str
    sweeper_log_group: str

    @classmethod
    def from_terraform(cls, values: Mapping[str, Any]) -> StackOutputs:
        """From ``terraform output -json`` (name -> value)."""
        try:
            return cls(
                region=str(values["region"]),
                account_id=str(values["account_id"]),
                cluster_arn=str(values["cluster_arn"]),
                services={key: str(s["name"]) for key, s in dict(values["services"]).items()},
                deregistration_delay=int(values["deregistration_delay_seconds"]),
                wait_seconds=int(values["wait_seconds"]),
                table_name=str(values["table_name"]),
                tag_prefix=str(values["tag_prefix"]),
                sweeper_log_group=str(values["sweeper_log_group"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise TerraformError(
                f"the premise stack's outputs lack {error} (is {EXAMPLE_DIR} up to date?)"
            ) from error


class _Process(Protocol):
    def wait(self) -> int: ...

    def send_signal(self, sig: int) -> None: ...


Popen = Callable[[Sequence[str], Mapping[str, str]], _Process]


def _popen(command: Sequence[str], env: Mapping[str, str]) -> _Process:
    return subprocess.Popen(list(command), env=dict(env), start_new_session=True)


class TerraformStack:
    """The example applied and destroyed in place (its state stays beside it)."""

    def __init__(
        self,
        terraform: Terraform,
        variables: Mapping[str, object],
        *,
        directory: Path = EXAMPLE_DIR,
        say: Callable[[str], None] = print,
        popen: Popen = _popen,
    ) -> None:
        self._terraform = terraform
        self._variables = dict(variables)
        self._directory = directory
        self._say = say
        self._popen = popen

    @property
    def destroy_hint(self) -> str:
        """The command that destroys the stack by hand."""
        return f"terraform -chdir={self._directory} destroy"

    def apply(self) -> StackOutputs:
        """init, apply, and the outputs; Interrupted after a forwarded Ctrl-C."""
        (self._directory / VAR_FILE).write_text(
            json.dumps(self._variables, indent=2) + "\n", encoding="utf-8"
        )
        self._say(f"premise: terraform init in {self._directory}")
        self._terraform.run(self._directory, "init", "-input=false", "-no-color", timeout=900)
        self._say("premise: terraform apply (about 5 minutes)")
        self._streamed("apply", "-auto-approve", "-input=false", forward_first=True)
        return StackOutputs.from_terraform(self._terraform.output(self._directory))

    def destroy(self) -> None:
        """destroy (tried twice: AWS releases a Fargate task's network interface late)."""
        for attempt in (1, 2):
            self._say(f"premise: terraform destroy{' (again)' if attempt == 2 else ''}")
            try:
                self._streamed("destroy", "-auto-approve", "-input=false", forward_first=False)
            except TerraformError:
                if attempt == 2:
                    raise
                continue
            (self._directory / VAR_FILE).unlink(missing_ok=True)
            return

    def _streamed(self, verb: str, *arguments: str, forward_first: bool) -> None:
        command = [str(self._terraform.binary), f"-chdir={self._directory}", verb, *arguments]
        process = self._popen(command, self._terraform.env())
        interrupts = 0
        while True:
            try:
                code = process.wait()
                break
            except KeyboardInterrupt:
                interrupts += 1
                if forward_first or interrupts > 1:
                    process.send_signal(signal.SIGINT)
                self._say(self._interrupt_message(verb, interrupts, forward_first))
        if interrupts and (forward_first or interrupts > 1):
            raise Interrupted(f"terraform {verb} stopped at your request")
        if code != 0:
            raise TerraformError(f"terraform {verb} in {self._directory} exited {code}")

    def _interrupt_message(self, verb: str, count: int, forwarded_first: bool) -> str:
        if forwarded_first and count == 1:
            return (
                f"premise: interrupted: terraform {verb} stops after the calls in flight and "
                "saves its state; the stack is destroyed next (Ctrl-C again stops Terraform "
                "at once, which can leave resources it does not know about)"
            )
        if not forwarded_first and count == 1:
            return (
                f"premise: the {verb} goes on (the stack bills by the hour); Ctrl-C again to "
                f"stop it, then finish with: {self.destroy_hint}"
            )
        return f"premise: stopping terraform {verb}; finish with: {self.destroy_hint}"
