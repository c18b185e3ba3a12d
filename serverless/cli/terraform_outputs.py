"""Find the ledger table (and tag prefix) in ``terraform output -json`` of a directory.

Works for the module's own root (outputs ``table_name`` and ``tag_prefix``) and for a
root module that passes them through, as a top-level output or inside an object output
(``terraform/examples/complete`` has ``terminator = { table_name = ... }``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless.domain.errors import ConfigError

__all__ = ["TerraformLedger", "from_outputs", "read_outputs"]

TIMEOUT_SECONDS = 120


@dataclass(frozen=True, slots=True)
class TerraformLedger:
    """The module's ``table_name`` and, when present, ``tag_prefix``."""

    table_name: str
    tag_prefix: str | None = None


def _find(outputs: Mapping[str, Any], key: str) -> str | None:
    direct = outputs.get(key)
    if isinstance(direct, Mapping) and isinstance(direct.get("value"), str):
        return str(direct["value"])
    for output in outputs.values():
        value = output.get("value") if isinstance(output, Mapping) else None
        if isinstance(value, Mapping) and isinstance(value.get(key), str):
            return str(value[key])
    return None


def from_outputs(outputs: Mapping[str, Any]) -> TerraformLedger:
    """The ledger settings in parsed ``terraform output -json``."""
    table = _find(outputs, "table_name")
    if not table:
        names = ", ".join(sorted(outputs)) or "none"
        raise ConfigError(
            f"no table_name in the Terraform outputs (outputs: {names}); pass --table NAME"
        )
    return TerraformLedger(table, _find(outputs, "tag_prefix") or None)


def read_outputs(directory: str) -> TerraformLedger:
    """Run ``terraform output -json`` in ``directory`` (the terraform on PATH)."""
    if not Path(directory).is_dir():
        raise ConfigError(f"--from-terraform: {directory} is not a directory")
    terraform = shutil.which("terraform")
    if terraform is None:
        raise ConfigError("--from-terraform needs the terraform CLI on PATH; or pass --table NAME")
    try:
        done = subprocess.run(
            [terraform, f"-chdir={directory}", "output", "-json"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(f"terraform output failed in {directory}: {error}") from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ConfigError(f"terraform output failed in {directory}: {last}")
    try:
        outputs = json.loads(done.stdout or "{}")
    except ValueError as error:
        raise ConfigError(f"terraform output in {directory} is not JSON: {error}") from error
    if not isinstance(outputs, dict):
        raise ConfigError(f"terraform output in {directory} is not a JSON object")
    return from_outputs(outputs)
