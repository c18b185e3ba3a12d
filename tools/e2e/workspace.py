"""Scratch copies of the project for Terraform to apply, and the AWS resources the
configurations expect to exist (VPC, subnets, bucket, KMS key, SNS topic).

Terraform works on a copy (``serverless/``, ``handlers/``, ``layers/`` without builds,
``terraform/``, ``VERSION``) so the code-change step can edit code without touching the
checkout. The module alone deploys the release artifacts ``tools.release`` builds from
that copy (``prebuilt_packages``), as a runner without Python would.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import release

__all__ = ["Fixtures", "Workspace", "create_fixtures", "make_refused_root", "make_workspace"]

REPO_ROOT = Path(__file__).resolve().parents[2]
COPIED = ("serverless", "handlers", "terraform")
TOP_FILES = ("VERSION",)
LAYER_FILES = ("build.py", "requirements.txt")
IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".terraform", "*.tfstate*", "build", "*.auto.tfvars.json"
)

MODULE_NAME = "e2e-module"
EXAMPLE_NAME = "e2e-complete"
PREMISE_NAME = "e2e-premise"


@dataclass(frozen=True)
class Fixtures:
    vpc_id: str
    subnet_ids: list[str]
    bucket: str
    kms_key_arn: str
    topic_arn: str
    boundary_arn: str
    ami_id: str  # stands for the ECS-optimized AMI (moto's server lists no images here)


@dataclass(frozen=True)
class Workspace:
    root: Path
    source: Path  # the project copy
    module_root: Path  # a root configuration calling the module with non-default inputs
    example_root: Path  # examples/complete, pointed at the copy
    module_vars: Path
    example_vars: Path
    release_version: str
    release_sums: dict[str, str]
    premise_root: Path  # examples/premise in the copy (it calls the module as ../..)
    premise_vars: Path


def create_fixtures(session: Any) -> Fixtures:
    """What the two configurations take as inputs, created in the local endpoint."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{index}.0/24", AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"]
        for index, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    bucket = "e2e-elb-logs"
    session.client("s3").create_bucket(Bucket=bucket)
    key = session.client("kms").create_key(Description="e2e customer key")["KeyMetadata"]["Arn"]
    topic = session.client("sns").create_topic(Name="e2e-existing-alarms")["TopicArn"]
    boundary = session.client("iam").create_policy(
        PolicyName="e2e-boundary",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    image = ec2.register_image(
        Name="e2e-ecs-optimized", Architecture="x86_64", RootDeviceName="/dev/xvda"
    )["ImageId"]
    return Fixtures(vpc, subnets, bucket, key, topic, boundary, image)


def _module_config(source: Path) -> str:
    return f"""terraform {{
  required_providers {{
    aws = {{
      source = "hashicorp/aws"
    }}
  }}
}}

provider "aws" {{}}

variable "inputs" {{
  type = any
}}

module "drain_terminator" {{
  source = "../{source.name}/terraform"

  name_prefix               = var.inputs.name_prefix
  kms_key_arn               = var.inputs.kms_key_arn
  cluster_arns              = var.inputs.cluster_arns
  alarm_topic_arns          = var.inputs.alarm_topic_arns
  architecture              = var.inputs.architecture
  runtime                   = var.inputs.runtime
  python_executable         = var.inputs.python_executable
  sweep_horizon_seconds     = var.inputs.sweep_horizon_seconds
  sweeper_timeout           = var.inputs.sweeper_timeout
  sweeper_reserved_concurrency = var.inputs.sweeper_reserved_concurrency
  role_path                 = var.inputs.role_path
  prebuilt_packages         = var.inputs.prebuilt_packages
  role_permissions_boundary = var.inputs.role_permissions_boundary
  table_deletion_protection = false
  tags                      = {{ owner = "e2e" }}
}}

output "drain_terminator" {{
  value = module.drain_terminator
}}
"""


# moto's load balancers ignore deletion protection and DynamoDB enforces it: the example
# keeps its production settings; only the ledger's protection is lifted so destroy works.
_EXAMPLE_OVERRIDE = """module "drain_terminator" {
  table_deletion_protection = false
}
"""


def build_prebuilt(
    source: Path, python: str, runtime: str, architecture: str
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The release artifacts for one runtime and architecture (``make release``'s own
    code), checked against their SHA256SUMS: (version, ``prebuilt_packages``, checksums)."""
    dist = source.parent / "dist"
    plan = release.Plan(
        runtimes=(runtime,),
        architectures=(architecture,),
        targets=("function", "layer"),
        pythons={runtime: python},
    )
    sums = release.build(dist, plan, root=source)
    version = release.read_version(source)
    if (
        release.read_checksums(dist) != sums
        or release.checksums(dist / name for name in sums) != sums
    ):
        raise RuntimeError(f"the release artifacts in {dist} do not match their SHA256SUMS")
    packages = {
        "function_zip": str(dist / release.function_zip_name(version, runtime)),
        "layer_zip": str(dist / release.layer_zip_name(version, runtime, architecture)),
    }
    return version, packages, sums


def make_refused_root(root: Path, source: Path) -> Path:
    """A root calling the module by an ABSOLUTE path (Terraform copies terraform/ alone,
    without ../layers and the code) for a cluster of another region: two plan refusals."""
    refused = root / "refused"
    refused.mkdir()
    (refused / "main.tf").write_text(
        f"""provider "aws" {{}}

module "drain_terminator" {{
  source = {json.dumps(str((source / "terraform").resolve()))}

  name_prefix  = "e2e-refused"
  cluster_arns = ["arn:aws:ecs:eu-west-1:123456789012:cluster/elsewhere"]
}}
""",
        encoding="utf-8",
    )
    return refused


def make_workspace(root: Path, fixtures: Fixtures, python: str, runtime: str) -> Workspace:
    source = root / "src"
    # Local module sources must be relative ("../src/terraform"): an absolute path is
    # fetched like a remote one, copying terraform/ alone without ../layers.
    for name in COPIED:
        shutil.copytree(REPO_ROOT / name, source / name, ignore=IGNORED)
    for name in TOP_FILES:
        shutil.copy2(REPO_ROOT / name, source / name)
    (source / "layers").mkdir(parents=True)
    for name in LAYER_FILES:
        shutil.copy2(REPO_ROOT / "layers" / name, source / "layers" / name)

    module_root = root / "module"
    module_root.mkdir()
    (module_root / "main.tf").write_text(_module_config(source), encoding="utf-8")
    module_vars = module_root / "e2e.tfvars.json"
    version, prebuilt, sums = build_prebuilt(source, python, runtime, "x86_64")
    module_vars.write_text(
        json.dumps(
            {
                "inputs": {
                    "name_prefix": MODULE_NAME,
                    "kms_key_arn": fixtures.kms_key_arn,
                    "cluster_arns": [],  # every cluster
                    "alarm_topic_arns": [fixtures.topic_arn],
                    "architecture": "x86_64",
                    "runtime": runtime,
                    "python_executable": python,
                    # A short horizon so the sweeper run in the drain step stays short.
                    "sweep_horizon_seconds": 20,
                    "sweeper_timeout": 90,  # > horizon + 55 (the module checks it at plan)
                    "sweeper_reserved_concurrency": 2,
                    "role_path": "/drain-terminator/",
                    "role_permissions_boundary": fixtures.boundary_arn,
                    # Machines without Python/pip deploy the release artifacts.
                    "prebuilt_packages": prebuilt,
                }
            },
            indent=2,
        ),
        encoding="utf-8",
    )

    example_root = root / "complete"
    shutil.copytree(source / "terraform" / "examples" / "complete", example_root)
    main = example_root / "main.tf"
    text = main.read_text(encoding="utf-8")
    if 'source = "../.."' not in text:
        raise RuntimeError("examples/complete no longer calls the module as ../..")
    main.write_text(
        text.replace('source = "../.."', f'source = "../{source.name}/terraform"'),
        encoding="utf-8",
    )
    (example_root / "e2e_override.tf").write_text(_EXAMPLE_OVERRIDE, encoding="utf-8")
    example_vars = example_root / "e2e.tfvars.json"
    example_vars.write_text(
        json.dumps(
            {
                "name": EXAMPLE_NAME,
                "region": "us-east-1",
                "vpc_id": fixtures.vpc_id,
                "subnet_ids": fixtures.subnet_ids,
                "access_logs_bucket": fixtures.bucket,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    premise_root, premise_vars = _premise(source, fixtures, runtime, prebuilt)
    return Workspace(
        root,
        source,
        module_root,
        example_root,
        module_vars,
        example_vars,
        version,
        sums,
        premise_root,
        premise_vars,
    )


def _premise(
    source: Path, fixtures: Fixtures, runtime: str, prebuilt: dict[str, str]
) -> tuple[Path, Path]:
    """examples/premise in place in the copy, with its EC2 variant, deploying the release
    artifacts already built (no second packaging at apply)."""
    premise = source / "terraform" / "examples" / "premise"
    packages = ", ".join(f"{name} = {json.dumps(path)}" for name, path in sorted(prebuilt.items()))
    (premise / "e2e_override.tf").write_text(
        f"""module "drain_terminator" {{
  architecture      = "x86_64"
  runtime           = {json.dumps(runtime)}
  prebuilt_packages = {{ {packages} }}
}}
""",
        encoding="utf-8",
    )
    variables = premise / "e2e.tfvars.json"
    variables.write_text(
        json.dumps(
            {
                "name": PREMISE_NAME,
                "region": "us-east-1",
                "ec2_variant": True,
                "ec2_ami_id": fixtures.ami_id,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return premise, variables
