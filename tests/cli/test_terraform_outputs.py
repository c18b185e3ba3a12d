"""``--from-terraform``: the ledger found in ``terraform output -json`` however the module's
outputs are re-exported (the shapes below are what Terraform prints for them)."""

from __future__ import annotations

from typing import Any

import pytest

from serverless.cli.terraform_outputs import from_outputs
from serverless.domain.errors import ConfigError


def _module_object(table: str, prefix: str = "drain-terminator:") -> dict[str, Any]:
    """``value = module.drain_terminator``: every module output inside one object."""
    return {
        "table_name": table,
        "table_arn": f"arn:aws:dynamodb:us-east-1:111122223333:table/{table}",
        "tag_prefix": prefix,
        "functions": {
            "sweeper": {"name": "x-sweeper", "arn": "arn:aws:lambda:...:x-sweeper"},
            "task-events": {"name": "x-task-events", "arn": "arn:aws:lambda:...:x-task-events"},
        },
        "alarm_topic_arn": None,
    }


def test_given_the_whole_module_re_exported_when_read_then_table_and_prefix_are_found() -> None:
    outputs = {"drain_terminator": {"value": _module_object("prod-ledger", "dt:"), "type": []}}

    found = from_outputs(outputs)

    assert (found.table_name, found.tag_prefix) == ("prod-ledger", "dt:")


def test_given_the_module_nested_deeper_when_read_then_it_is_found() -> None:
    outputs = {"platform": {"value": {"eu": {"terminator": _module_object("eu-ledger")}}}}

    assert from_outputs(outputs).table_name == "eu-ledger"


def test_given_the_same_table_in_two_outputs_when_read_then_it_is_that_table() -> None:
    outputs = {
        "drain_terminator": {"value": _module_object("ex-ledger", "dt:")},
        "terminator": {"value": {"table_name": "ex-ledger"}},
    }

    found = from_outputs(outputs)

    assert (found.table_name, found.tag_prefix) == ("ex-ledger", "dt:")


def test_given_two_tables_and_one_drain_terminator_output_when_read_then_that_one_wins() -> None:
    outputs = {
        "drain_terminator": {"value": _module_object("main-ledger")},
        "staging": {"value": _module_object("staging-ledger")},
    }

    assert from_outputs(outputs).table_name == "main-ledger"


def test_given_two_tables_and_no_preference_when_read_then_both_are_named() -> None:
    outputs = {
        "blue": {"value": _module_object("blue-ledger")},
        "green": {"value": _module_object("green-ledger")},
    }

    with pytest.raises(ConfigError, match=r"blue-ledger \(blue\); green-ledger \(green\)"):
        from_outputs(outputs)


def test_given_no_table_when_read_then_the_message_says_how_to_re_export() -> None:
    with pytest.raises(ConfigError, match=r'output "drain_terminator" \{ value = module'):
        from_outputs({"service_arn": {"value": "arn"}})
