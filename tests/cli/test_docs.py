"""The operator docs stay true to the code: a runbook per alarm, commands that parse, and
the migration guide's sample output equal to a real run."""

from __future__ import annotations

import argparse
import io
import json
import re
import shlex
from pathlib import Path

import pytest

from serverless.cli.app import _parser, main
from sim.terraform import MODULE_DIR, load_tf, render_locals

REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
MIGRATING = REPO / "docs" / "migrating-from-sidecar.md"
README = REPO / "README.md"
FIXTURE = Path(__file__).parent / "fixtures" / "describe-task-definition-sidecar.json"


def _local_keys(module: dict[str, object], name: str) -> list[str]:
    """The keys of a local map, evaluated by Terraform core when it is an expression (its
    file's other locals as they are unless they read resources, the functions and queue
    names stubbed)."""
    local_values = module.get("locals", {})
    assert isinstance(local_values, dict)
    value = local_values[name]
    if isinstance(value, dict):
        return list(value)
    stubs = {
        "functions": '{ task-events = { name = "te" }, sweeper = { name = "sw" } }',
        "dead_letter_name": '"dlq"',
    }
    for other, other_value in local_values.items():
        if isinstance(other_value, str) and other_value.startswith("${"):
            if not re.search(r"\baws_\w+\.", other_value):
                stubs.setdefault(other, other_value[2:-1])
        elif other_value is not None:
            stubs.setdefault(other, json.dumps(other_value))
    rendered = render_locals(["variables.tf"], {"keys": f"keys(local.{name})"}, stub_locals=stubs)
    keys: list[str] = rendered["keys"]
    return keys


def _alarm_names() -> list[str]:
    """Every CloudWatch alarm name the module creates, with the prefix as <name_prefix>."""
    module = load_tf(MODULE_DIR / "alarms.tf")
    names: list[str] = []
    for resource, body in module["resource"].get("aws_cloudwatch_metric_alarm", {}).items():
        template = str(body["alarm_name"]).replace("${var.name_prefix}", "<name_prefix>")
        if "${each.key}" not in template:
            names.append(template)
            continue
        match = re.fullmatch(r"\$\{local\.(\w+)\}", str(body.get("for_each", "")))
        assert match, f"alarm {resource}: for_each is not a local map; extend this test"
        names.extend(template.replace("${each.key}", key) for key in _local_keys(module, match[1]))
    return names


def test_given_the_modules_alarms_when_the_runbook_is_read_then_each_has_a_section() -> None:
    headings = set(re.findall(r"^### `([^`]+)`$", OPERATIONS.read_text(), flags=re.MULTILINE))

    names = _alarm_names()

    assert len(names) >= 5
    assert [n for n in names if n not in headings] == []


def _commands(path: Path) -> list[str]:
    """Command lines in ```sh blocks; in the README (no shell blocks but the two set-up
    commands), the `drain-terminator ...` spans of its command table."""
    text = path.read_text()
    if path == README:
        return re.findall(r"^\| `(drain-terminator [^`]+)` \|", text, flags=re.MULTILINE)
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    return [
        line.strip()
        for block in blocks
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip().startswith("drain-terminator ")
    ]


@pytest.mark.parametrize("doc", [OPERATIONS, MIGRATING, README], ids=lambda p: p.name)
def test_given_a_doc_when_its_commands_are_parsed_then_the_cli_accepts_each(doc: Path) -> None:
    parser = _parser()
    commands = _commands(doc)

    for command in commands:
        words = shlex.split(command.split("  #", 1)[0])[1:]
        args = parser.parse_args(words)
        assert args.run is not None, command
    assert commands


def test_given_the_fixture_when_migrated_then_the_guides_sample_is_the_real_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["migrate-sidecar", str(FIXTURE), "-o", "websocket-no-sidecar.json"],
        stdout=out,
        stderr=err,
        environ={},
    )
    assert code == 0, err.getvalue()

    sample = re.search(r"```text\n(sidecar: .*?)```", MIGRATING.read_text(), flags=re.DOTALL)

    assert sample is not None
    assert sample.group(1) == out.getvalue()


def _command_names() -> list[str]:
    parser = _parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(subparsers.choices)


def test_given_the_clis_commands_when_the_docs_are_read_then_each_is_in_both_tables() -> None:
    readme = set(re.findall(r"^\| `drain-terminator ([a-z-]+)", README.read_text(), re.M))
    operations = set(re.findall(r"^\| `([a-z-]+)[ `]", OPERATIONS.read_text(), re.M))

    assert [c for c in _command_names() if c not in readme] == []
    assert [c for c in _command_names() if c not in operations] == []


def test_given_the_runbook_when_read_then_it_starts_with_doctor() -> None:
    headings = re.findall(r"^## (.+)$", OPERATIONS.read_text(), flags=re.MULTILINE)

    assert "`drain-terminator doctor`" in headings[0]


def test_given_the_demos_world_when_doctor_runs_then_the_runbooks_sample_is_the_real_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.cli.sim_doctor import run_doctor

    monkeypatch.setenv("TABLE_NAME", "ecs-drain-terminator-ledger")
    run = run_doctor(["doctor", "--table", "ecs-drain-terminator-ledger"])
    sample = re.search(r"```text\n(ok +ledger .*?)```", OPERATIONS.read_text(), flags=re.DOTALL)

    assert run.code == 0, run.out
    assert sample is not None
    assert sample.group(1) == run.out
