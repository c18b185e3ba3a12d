"""sim/terraform.py (the one HCL reader) reads HCL into plain, predictable Python values."""

from __future__ import annotations

from pathlib import Path

import pytest
from lark.exceptions import UnexpectedInput

from sim.terraform import find_resource, load_tf, render_locals

SAMPLE = """
variable "names" {
  type    = list(string)
  default = ["a"]
  validation {
    condition     = length(var.names) > 0
    error_message = "At least one."
  }
}

locals {
  greeting = "hello"
  count    = 3
}

resource "aws_thing" "one" {
  name = "${var.names[0]}-one"
  tags = var.tags
  nested {
    enabled = true
  }
  nested {
    enabled = false
  }
}
"""


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.tf"
    path.write_text(SAMPLE, encoding="utf-8")
    return path


def test_given_a_tf_file_when_loaded_then_blocks_are_keyed_by_label_without_metadata(
    sample: Path,
) -> None:
    module = load_tf(sample)

    thing = find_resource(module, "aws_thing", "one")
    assert thing["name"] == "${var.names[0]}-one"
    assert thing["tags"] == "${var.tags}"
    assert thing["nested"] == [{"enabled": True}, {"enabled": False}]
    assert module["locals"] == {"greeting": "hello", "count": 3}
    assert module["variable"]["names"]["default"] == ["a"]
    assert "__start_line__" not in repr(module)
    assert "__is_block__" not in repr(module)


def test_given_a_directory_when_loaded_then_every_file_is_merged(
    sample: Path, tmp_path: Path
) -> None:
    (tmp_path / "more.tf").write_text('output "x" {\n  value = 1\n}\n', encoding="utf-8")

    module = load_tf(tmp_path)

    assert set(module["output"]) == {"x"}
    assert set(module["resource"]["aws_thing"]) == {"one"}


def test_given_a_name_when_a_directory_is_loaded_then_only_files_mentioning_it_are_read(
    sample: Path, tmp_path: Path
) -> None:
    (tmp_path / "more.tf").write_text('output "x" {\n  value = 1\n}\n', encoding="utf-8")
    # Not HCL: parsing it would fail, so the test also shows the file was not parsed.
    (tmp_path / "broken.tf").write_text("locals { = \n", encoding="utf-8")

    module = load_tf(tmp_path, mentioning='"aws_thing"')

    assert set(module["resource"]["aws_thing"]) == {"one"}
    assert "output" not in module
    with pytest.raises(UnexpectedInput):
        load_tf(tmp_path, mentioning="locals")


def test_given_a_duplicate_local_when_loaded_then_it_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.tf").write_text("locals {\n  x = 1\n}\n", encoding="utf-8")
    (tmp_path / "b.tf").write_text("locals {\n  x = 2\n}\n", encoding="utf-8")

    with pytest.raises(ValueError, match="defined twice"):
        load_tf(tmp_path)


def test_given_a_missing_resource_when_looked_up_then_the_error_names_it(sample: Path) -> None:
    with pytest.raises(KeyError, match=r"aws_thing\.two"):
        find_resource(load_tf(sample), "aws_thing", "two")


def test_given_the_scope_locals_when_rendered_by_terraform_then_values_come_back_decoded() -> None:
    rendered = render_locals(
        ["scope.tf"],
        {"everywhere": "local.all_clusters"},
        {"cluster_arns": ("list(string)", [])},
        {
            "partition": '"aws"',
            "region": '"us-east-1"',
            "account_id": '"111122223333"',
            "accounts": '["111122223333"]',
        },
    )

    assert rendered == {"everywhere": True}


def test_given_a_loaded_file_when_its_result_is_mutated_then_a_reload_is_unchanged(
    sample: Path,
) -> None:
    # Parsed trees are cached per text (a simulation reads the module once per world):
    # a caller's edits must never reach the cache or a later load.
    first = load_tf(sample)
    find_resource(first, "aws_thing", "one")["nested"][0]["enabled"] = "edited"
    first["locals"]["greeting"] = "edited"

    again = load_tf(sample)

    assert find_resource(again, "aws_thing", "one")["nested"] == [
        {"enabled": True},
        {"enabled": False},
    ]
    assert again["locals"]["greeting"] == "hello"


def test_given_a_file_whose_text_changes_when_reloaded_then_the_new_text_is_read(
    sample: Path,
) -> None:
    load_tf(sample)
    sample.write_text(SAMPLE.replace('"hello"', '"changed"'), encoding="utf-8")

    assert load_tf(sample)["locals"]["greeting"] == "changed"


def test_given_aliased_provider_blocks_when_loaded_then_each_is_kept_under_its_alias(
    tmp_path: Path,
) -> None:
    (tmp_path / "providers.tf").write_text(
        'provider "aws" {\n  region = "eu-west-1"\n}\n\n'
        'provider "aws" {\n  alias  = "team_a"\n  region = "eu-west-1"\n}\n'
    )

    providers = load_tf(tmp_path)["provider"]

    assert set(providers) == {"aws", "aws.team_a"}
    assert providers["aws.team_a"]["region"] == "eu-west-1"
