"""tools/tfcheck.py passes the real module and catches formatting and configuration errors."""

from __future__ import annotations

from pathlib import Path

from sim.terraform import MODULE_DIR
from tools.tfcheck import config_dirs, main, run_checks

GOOD = 'variable "x" {\n  type        = string\n  description = "X."\n}\n'


def test_given_the_module_when_checked_then_fmt_and_loading_pass() -> None:
    report = run_checks(MODULE_DIR)

    assert report.problems == []
    assert any("fmt" in line for line in report.passed)
    assert any("examples/complete" in line for line in report.passed)


def test_given_the_module_when_listed_then_the_member_module_and_examples_are_checked_too() -> None:
    assert config_dirs(MODULE_DIR) == [
        MODULE_DIR,
        MODULE_DIR / "modules" / "member",
        MODULE_DIR / "examples" / "complete",
        MODULE_DIR / "examples" / "many-accounts",
        MODULE_DIR / "examples" / "minimal",
        MODULE_DIR / "examples" / "premise",
    ]


def test_given_an_unformatted_file_when_checked_then_it_fails_and_names_the_file(
    tmp_path: Path,
) -> None:
    unformatted = 'variable "x" {\ntype = string\n}\n'
    (tmp_path / "main.tf").write_text(unformatted)

    report = run_checks(tmp_path)

    assert not report.ok
    assert any("main.tf" in problem and "fmt" in problem for problem in report.problems)
    assert (tmp_path / "main.tf").read_text() == unformatted  # checked, never rewritten


def test_given_a_broken_configuration_when_checked_then_it_fails_with_terraforms_message(
    tmp_path: Path,
) -> None:
    (tmp_path / "main.tf").write_text(GOOD)
    (tmp_path / "dup.tf").write_text(GOOD)

    report = run_checks(tmp_path)

    assert not report.ok
    assert any("Duplicate variable declaration" in problem for problem in report.problems)


def test_given_an_example_calling_a_missing_module_when_checked_then_it_fails(
    tmp_path: Path,
) -> None:
    (tmp_path / "main.tf").write_text(GOOD)
    example = tmp_path / "examples" / "broken"
    example.mkdir(parents=True)
    (example / "main.tf").write_text('module "m" {\n  source = "../../nowhere"\n}\n')

    report = run_checks(tmp_path)

    assert any("examples/broken" in problem for problem in report.problems)


def test_given_a_hidden_scratch_directory_beside_a_module_when_checked_then_it_is_not_part_of_it(
    tmp_path: Path,
) -> None:
    # sim.terraform.render_locals evaluates module files in a `.tf-render-*` copy beside the
    # module, which another test worker may create and delete while these checks walk it.
    (tmp_path / "main.tf").write_text(GOOD)
    scratch = tmp_path / "modules" / ".tf-render-x"
    scratch.mkdir(parents=True)
    (scratch / "main.tf").write_text(GOOD + GOOD)  # would fail: a duplicate variable

    report = run_checks(tmp_path)

    assert config_dirs(tmp_path) == [tmp_path]
    assert report.problems == []


def test_given_a_directory_without_terraform_when_run_then_the_exit_status_is_one(
    tmp_path: Path,
) -> None:
    assert main([str(tmp_path)]) == 1
