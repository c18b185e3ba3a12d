"""What every command shares: streams, clock, environment, AWS access, the ledger."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from serverless.cli import terraform_outputs
from serverless.cli.aws.ledger import LedgerReader
from serverless.cli.aws.session import AwsAccess
from serverless.domain.clock import Clock
from serverless.domain.errors import ConfigError
from serverless.domain.model import StopAction
from serverless.settings import DEFAULT_WAIT_SECONDS, EXEC_ENABLED, TABLE_NAME, TAG_PREFIX

__all__ = [
    "DEFAULT_PREFIX",
    "EXIT_CHECK_FAILED",
    "EXIT_ERROR",
    "EXIT_NOT_SHORTENED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "Context",
    "default_wait",
    "ledger_and_prefix",
    "ledger_prefix_and_outputs",
    "tag_prefix",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # argparse's own
EXIT_NOT_SHORTENED = 3  # verify: no shortening measured, or no verdict
EXIT_CHECK_FAILED = 3  # doctor: a problem found; redrive: messages left in the queue
PROG = "drain-terminator"
DEFAULT_PREFIX = "drain-terminator:"
DEFAULT_WAIT = 120


@dataclass(slots=True)
class Context:
    """What a command may use: streams, clock, environment, AWS access."""

    stdout: TextIO
    stderr: TextIO
    stdin: TextIO
    clock: Clock
    environ: Mapping[str, str]
    clients: Mapping[str, Any] | None
    _access: AwsAccess | None = field(default=None, repr=False)

    def access(self, args: argparse.Namespace) -> AwsAccess:
        """AWS access with the command's --region/--profile (or the injected clients).

        One per run: the commands share its clients (one botocore session).
        """
        if self._access is None:
            self._access = AwsAccess(region=args.region, profile=args.profile, clients=self.clients)
        return self._access

    def print(self, text: str = "") -> None:
        """A line for people (stdout)."""
        print(text, file=self.stdout)

    def json(self, document: object) -> None:
        """The one JSON document of a --json run."""
        print(json.dumps(document, indent=2, sort_keys=False), file=self.stdout)


def tag_prefix(args: argparse.Namespace, ctx: Context, from_terraform: str | None = None) -> str:
    prefix = args.tag_prefix or from_terraform or ctx.environ.get(TAG_PREFIX) or DEFAULT_PREFIX
    if not prefix.strip():
        raise ConfigError("the tag prefix must not be empty")
    return prefix


def default_wait(ctx: Context) -> int:
    raw = ctx.environ.get(DEFAULT_WAIT_SECONDS, "").strip()
    if not raw:
        return DEFAULT_WAIT
    if not raw.isdigit():
        raise ConfigError(f"{DEFAULT_WAIT_SECONDS} must be whole seconds, got {raw!r}")
    return int(raw)


def default_action(ctx: Context) -> StopAction:
    """The stop action of a service without a valid stop-action tag, as the functions pick
    it: stop-task-then-exec where the deployment has exec on (EXEC_ENABLED), else stop-task."""
    raw = ctx.environ.get(EXEC_ENABLED, "").strip().lower()
    on = raw in {"1", "true", "yes", "on"}
    return StopAction.STOP_TASK_THEN_EXEC if on else StopAction.STOP_TASK


def ledger_and_prefix(args: argparse.Namespace, ctx: Context) -> tuple[LedgerReader, str]:
    """The ledger (from --table, --from-terraform or TABLE_NAME) and the tag prefix."""
    ledger, prefix, _ = ledger_prefix_and_outputs(args, ctx)
    return ledger, prefix


def ledger_prefix_and_outputs(
    args: argparse.Namespace, ctx: Context
) -> tuple[LedgerReader, str, Mapping[str, Any]]:
    """:func:`ledger_and_prefix` and the module's outputs (``--from-terraform``; else empty)."""
    terraform_prefix = None
    resources: Mapping[str, Any] = {}
    if args.table:
        table = args.table
    elif args.from_terraform:
        found = terraform_outputs.read_outputs(args.from_terraform)
        table, terraform_prefix = found.table_name, found.tag_prefix
        resources = found.module_outputs
    elif ctx.environ.get(TABLE_NAME, "").strip():
        table = ctx.environ[TABLE_NAME].strip()
    else:
        raise ConfigError(
            "which ledger? pass --table NAME, set TABLE_NAME, or --from-terraform DIR "
            "(the directory you ran terraform apply in)"
        )
    return (
        LedgerReader(table, ctx.access(args)),
        tag_prefix(args, ctx, terraform_prefix),
        resources,
    )
