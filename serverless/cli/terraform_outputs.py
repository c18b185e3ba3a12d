"""Find the ledger table (and tag prefix) in ``terraform output -json`` of a directory.

Works for the module's own root (outputs ``table_name`` and ``tag_prefix``) and for a
root module that re-exports them: the whole module as one output (``output
"drain_terminator" { value = module.drain_terminator }``, as ``terraform/examples``
do), or an object holding ``table_name`` at any depth (``terraform/examples/complete``
also has ``terminator = { table_name = ... }``). Several different tables (a root with
two deployments) are refused with their places unless one is the output named
``drain_terminator``. The module's other outputs found beside ``table_name``
(``functions``, ``dead_letter_queue_url``, ``alarm_topic_arn``...) come along in
:attr:`TerraformLedger.module_outputs` for ``doctor`` and ``redrive``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serverless.domain.errors import ConfigError

__all__ = ["PREFERRED_OUTPUT", "TerraformLedger", "from_outputs", "read_outputs"]

TIMEOUT_SECONDS = 120
#: The output name the READMEs re-export the module under.
PREFERRED_OUTPUT = "drain_terminator"
#: How deep inside an output's value the module's outputs are looked for.
MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class TerraformLedger:
    """The module's ``table_name`` and, when present, ``tag_prefix``."""

    table_name: str
    tag_prefix: str | None = None
    #: The module's outputs where ``table_name`` was found: output name -> value.
    module_outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Found:
    place: str
    table_name: str
    tag_prefix: str | None
    values: Mapping[str, Any] = field(default_factory=dict)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _top_level(outputs: Mapping[str, Any]) -> _Found | None:
    """The module's own root: ``table_name`` and ``tag_prefix`` are outputs themselves."""
    values = {
        name: output.get("value") for name, output in outputs.items() if isinstance(output, Mapping)
    }
    table = _string(values.get("table_name"))
    return _Found("table_name", table, _string(values.get("tag_prefix")), values) if table else None


def _nested(outputs: Mapping[str, Any]) -> Iterator[_Found]:
    """Objects holding a ``table_name`` inside the outputs' values, shallowest first."""
    queue: list[tuple[str, Any, int]] = [
        (name, output.get("value"), 1)
        for name, output in outputs.items()
        if isinstance(output, Mapping)
    ]
    while queue:
        place, value, depth = queue.pop(0)
        if not isinstance(value, Mapping):
            continue
        table = _string(value.get("table_name"))
        if table:
            yield _Found(place, table, _string(value.get("tag_prefix")), value)
        elif depth < MAX_DEPTH:
            queue += [(f"{place}.{key}", child, depth + 1) for key, child in value.items()]


def from_outputs(outputs: Mapping[str, Any]) -> TerraformLedger:
    """The ledger settings in parsed ``terraform output -json``."""
    top = _top_level(outputs)
    found = ([top] if top else []) + list(_nested(outputs))
    if not found:
        names = ", ".join(sorted(outputs)) or "none"
        raise ConfigError(
            f"no table_name in the Terraform outputs (outputs: {names}); re-export the "
            f'module (output "{PREFERRED_OUTPUT}" {{ value = module.<name> }}) or pass --table NAME'
        )
    tables = {item.table_name for item in found}
    if len(tables) > 1:
        preferred = [
            item
            for item in found
            if item.place == PREFERRED_OUTPUT or item.place.startswith(f"{PREFERRED_OUTPUT}.")
        ]
        if len({item.table_name for item in preferred}) != 1:
            places = "; ".join(f"{item.table_name} ({item.place})" for item in found)
            raise ConfigError(
                f"the Terraform outputs name several ledger tables: {places}; pass --table NAME"
            )
        found = preferred
    table = found[0].table_name
    prefix = next((item.tag_prefix for item in found if item.tag_prefix), None)
    return TerraformLedger(table, prefix, found[0].values)


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
