"""``terraform validate`` (Terraform CLI + the hashicorp/aws provider's schema) of the member
module and of examples/many-accounts (a hub and two members), 0 errors and 0 warnings.

It needs the Terraform CLI and a filesystem mirror of hashicorp/aws, found as ``make e2e``
finds them (tools/e2e/terraform.py); where either is absent the test fails and says which.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.terraform import MODULE_DIR, REPO_ROOT
from tests.terraform.conftest import Validate
from tools.e2e.terraform import (
    Missing,
    Terraform,
    find_plugin_dir,
    find_terraform,
    write_cli_config,
)

IGNORED = shutil.ignore_patterns("__pycache__", ".terraform", "*.tfstate*", "build", "builds")


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    try:
        binary, plugin_dir = find_terraform(), find_plugin_dir()
    except Missing as missing:
        pytest.fail(f"terraform validate of the member module needs Terraform: {missing}")
    work = tmp_path_factory.mktemp("member-validate")
    return Terraform(binary, write_cli_config(work / "terraform.rc", plugin_dir), {})


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module tree with what the root module packages beside it (never the checkout)."""
    root = tmp_path_factory.mktemp("member-copy")
    for name in ("terraform", "serverless", "handlers", "layers"):
        shutil.copytree(REPO_ROOT / name, root / name, ignore=IGNORED)
    return root / "terraform"


@pytest.mark.parametrize(
    "relative", ["modules/member", "examples/many-accounts"], ids=["member", "example"]
)
def test_given_the_configuration_when_validated_by_terraform_then_it_is_valid_without_warnings(
    terraform: Terraform, copy: Path, relative: str, validate: Validate
) -> None:
    assert (MODULE_DIR / relative).is_dir()

    result = validate(terraform, copy / relative)

    assert result["valid"], result["diagnostics"]
    assert result["warning_count"] == 0, result["diagnostics"]
    assert result["error_count"] == 0
