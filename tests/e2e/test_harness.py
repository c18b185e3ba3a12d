"""The e2e harness itself (tools/e2e), without Terraform: what it does when Terraform or
the provider mirror is missing, how it finds a mirror, and that its IAM check denies
what the policy does not allow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.terraform import REPO_ROOT
from tools.e2e import iam_check
from tools.e2e.terraform import (
    PLUGIN_DIR_ENV,
    PROVIDER_VERSION_ENV,
    TERRAFORM_ENV,
    Missing,
    Terraform,
    find_plugin_dir,
    find_terraform,
    os_arch,
    plan_diagnostics,
    planned_changes,
    select_provider,
)

ACCOUNT, REGION = "111122223333", "us-east-1"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["ecs:StopTask", "ecs:DescribeTasks"],
            "Resource": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/ledger/index/due-index"],
        },
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["*"]},
    ],
}


def _mirror(root: Path, *versions: str) -> Path:
    for version in versions or ("5.100.0",):
        (root / "registry.terraform.io" / "hashicorp" / "aws" / version / os_arch()).mkdir(
            parents=True
        )
    return root


def test_given_5x_and_6x_mirrored_when_a_provider_is_selected_then_the_newest_runs(
    tmp_path: Path,
) -> None:
    mirror = _mirror(tmp_path / "mirror", "5.100.0", "6.2.0", "6.10.0")

    version, selected = select_provider(mirror, tmp_path / "run", {})

    assert version == "6.10.0"  # by version, not by text ("6.2.0" > "6.10.0" as strings)
    held = selected / "registry.terraform.io" / "hashicorp" / "aws"
    assert [path.name for path in held.iterdir()] == ["6.10.0"]
    assert (held / "6.10.0" / os_arch()).is_dir()


def test_given_a_provider_version_asked_when_selected_then_only_it_is_offered(
    tmp_path: Path,
) -> None:
    mirror = _mirror(tmp_path / "mirror", "5.100.0", "6.10.0")

    version, selected = select_provider(mirror, tmp_path / "run", {PROVIDER_VERSION_ENV: "5.100.0"})

    assert version == "5.100.0"
    held = selected / "registry.terraform.io" / "hashicorp" / "aws"
    assert [path.name for path in held.iterdir()] == ["5.100.0"]


def test_given_a_provider_version_not_mirrored_when_selected_then_it_says_what_is(
    tmp_path: Path,
) -> None:
    mirror = _mirror(tmp_path / "mirror", "5.100.0")

    with pytest.raises(Missing, match=r"=6\.0\.0: the mirror .* holds 5\.100\.0"):
        select_provider(mirror, tmp_path / "run", {PROVIDER_VERSION_ENV: "6.0.0"})


def test_given_no_terraform_when_make_e2e_runs_then_it_prints_one_line_and_succeeds(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "PATH": str(tmp_path),  # no terraform anywhere
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop(TERRAFORM_ENV, None)
    completed = subprocess.run(
        [sys.executable, "-m", "tools.e2e"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 0
    assert completed.stdout.splitlines() == [
        "e2e: skipped (Terraform lifecycle on a local AWS endpoint): "
        f"terraform is not on PATH (or set {TERRAFORM_ENV})"
    ]


def test_given_an_override_when_the_mirror_is_searched_then_it_wins(tmp_path: Path) -> None:
    mirror = _mirror(tmp_path / "mirror")

    assert find_plugin_dir({PLUGIN_DIR_ENV: str(mirror)}) == mirror


def test_given_an_override_without_the_provider_when_searched_then_it_says_so(
    tmp_path: Path,
) -> None:
    with pytest.raises(Missing, match=r"holds no registry\.terraform\.io/hashicorp/aws"):
        find_plugin_dir({PLUGIN_DIR_ENV: str(tmp_path)})


def test_given_a_cli_config_naming_a_mirror_when_searched_then_it_is_found(
    tmp_path: Path,
) -> None:
    mirror = _mirror(tmp_path / "plugins")
    config = tmp_path / "terraform.rc"
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )

    assert find_plugin_dir({"TF_CLI_CONFIG_FILE": str(config)}) == mirror


def test_given_a_terraform_override_that_is_missing_when_found_then_it_says_so() -> None:
    with pytest.raises(Missing, match=TERRAFORM_ENV):
        find_terraform({TERRAFORM_ENV: "/nonexistent/terraform"})


@pytest.mark.parametrize(
    ("call", "allowed"),
    [
        (
            {
                "service": "ecs",
                "operation": "StopTask",
                "params": {
                    "cluster": "prod",
                    "task": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/abc",
                },
            },
            True,
        ),
        (
            {
                "service": "ecs",
                "operation": "StopTask",
                "params": {
                    "cluster": "batch",
                    "task": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/batch/abc",
                },
            },
            False,
        ),
        (
            {
                "service": "dynamodb",
                "operation": "Query",
                "params": {"TableName": "ledger", "IndexName": "due-index"},
            },
            True,
        ),
        ({"service": "dynamodb", "operation": "Query", "params": {"TableName": "ledger"}}, False),
        ({"service": "lambda", "operation": "Invoke", "params": {"FunctionName": "sweeper"}}, True),
        (
            {"service": "dynamodb", "operation": "DeleteTable", "params": {"TableName": "ledger"}},
            False,
        ),
    ],
)
def test_given_a_recorded_call_when_evaluated_then_only_what_the_policy_allows_passes(
    call: dict[str, object], allowed: bool
) -> None:
    checked, denied = iam_check.unauthorised_calls(
        {"sweeper": [call]}, {"sweeper": POLICY}, ACCOUNT, REGION
    )

    assert checked == 1
    assert (not denied) is allowed


def test_given_a_wildcard_action_when_linted_then_parliament_reports_it() -> None:
    findings = iam_check.lint_policies(
        {
            "bad": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "ecs:Stop*", "Resource": "*"},
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"},
                ],
            }
        }
    )

    assert findings  # RESOURCE_MISMATCH for s3:GetObject on a bucket ARN, at least


def test_given_a_python_dependency_missing_when_e2e_runs_then_it_fails_rather_than_skips(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins

    import tools.e2e.__main__ as e2e

    real_import = builtins.__import__

    def no_parliament(name: str, *args: object, **kwargs: object) -> object:
        if name == "parliament":
            raise ImportError("No module named 'parliament'", name="parliament")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(e2e, "find_terraform", lambda: Path("/bin/true"))
    monkeypatch.setattr(e2e, "find_plugin_dir", lambda: Path("/nonexistent"))
    monkeypatch.setattr(builtins, "__import__", no_parliament)

    assert e2e.main([]) == 1
    assert "e2e: FAIL parliament is not installed" in capsys.readouterr().out


def test_given_a_plans_json_ui_when_read_then_changes_have_show_json_shape() -> None:
    # Terraform 1.11's `plan -json -detailed-exitcode` of three terraform_data resources:
    # one unchanged, one updated, one replaced (refresh and summary lines among them).
    ui = (Path(__file__).parent / "plan-ui.jsonl").read_text(encoding="utf-8")

    changes = planned_changes(ui)

    assert changes == [
        {
            "address": "terraform_data.rep",
            "type": "terraform_data",
            "change": {"actions": ["delete", "create"]},
        },
        {
            "address": "terraform_data.upd",
            "type": "terraform_data",
            "change": {"actions": ["update"]},
        },
    ]


def test_given_reads_and_noise_when_read_then_only_changes_remain() -> None:
    read = (
        '{"type":"planned_change","change":{"action":"read","resource":'
        '{"addr":"data.aws_region.current","resource_type":"aws_region"}}}'
    )

    assert planned_changes(f"Warning: not JSON\n{read}\n") == []


def test_given_a_plan_with_warnings_when_read_then_each_is_a_diagnostic() -> None:
    # Terraform 1.11's `plan -json` of a configuration with a failing check block, given a
    # variable file with an undeclared variable: two warnings among the other messages.
    ui = "\n".join(
        [
            '{"@level":"info","@message":"Terraform 1.11.4","type":"version","ui":"1.2"}',
            '{"@level":"warn","@message":"Warning: Value for undeclared variable",'
            '"diagnostic":{"severity":"warning","summary":"Value for undeclared variable",'
            '"detail":"The root module does not declare a variable named \\"undeclared\\"."},'
            '"type":"diagnostic"}',
            '{"@level":"warn","@message":"Warning: Check block assertion failed",'
            '"diagnostic":{"severity":"warning","summary":"Check block assertion failed",'
            '"detail":"The check fails.","range":{"filename":"main.tf","start":{"line":6,'
            '"column":21,"byte":96},"end":{"line":6,"column":50,"byte":125}}},'
            '"type":"diagnostic"}',
            '{"@level":"info","@message":"Plan: 1 to add, 0 to change, 0 to destroy.",'
            '"changes":{"add":1,"change":0,"import":0,"remove":0,"operation":"plan"},'
            '"type":"change_summary"}',
        ]
    )

    assert plan_diagnostics(ui) == [
        "warning: Value for undeclared variable",
        "warning: Check block assertion failed (main.tf:6)",
    ]


def test_given_a_clean_plan_when_read_then_no_diagnostics() -> None:
    ui = (Path(__file__).parent / "plan-ui.jsonl").read_text(encoding="utf-8")

    assert plan_diagnostics(ui) == []


def test_given_no_go_settings_when_terraform_runs_then_its_collector_is_off() -> None:
    terraform = Terraform(Path("terraform"), Path("rc"), {"PATH": "/bin"})

    env = terraform.env()

    assert (env["GOGC"], env["GOMEMLIMIT"]) == ("off", "2GiB")
    assert env["TF_CLI_CONFIG_FILE"] == "rc"


def test_given_the_callers_go_settings_when_terraform_runs_then_they_win() -> None:
    terraform = Terraform(Path("terraform"), Path("rc"), {"GOGC": "100"})

    assert terraform.env()["GOGC"] == "100"


STOP_ACTIONS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["ecs:ExecuteCommand"],
            "Resource": [
                f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod",
                f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/*",
            ],
            "Condition": {"StringEquals": {"ecs:container-name": ["web"]}},
        },
        {
            "Effect": "Allow",
            "Action": ["ssm:TerminateSession"],
            "Resource": [f"arn:aws:ssm:{REGION}:{ACCOUNT}:session/ecs-execute-command-*"],
        },
        {
            "Effect": "Allow",
            "Action": ["ecs:DescribeContainerInstances"],
            "Resource": [f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/prod/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["ssm:SendCommand"],
            "Resource": [
                f"arn:aws:ssm:{REGION}:*:document/AWS-RunShellScript",
                f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/*",
            ],
        },
        {
            "Effect": "Allow",
            "Action": ["ssm:GetCommandInvocation", "ssm:CancelCommand"],
            "Resource": ["*"],
        },
    ],
}
PROD_TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/prod/0123"


def _exec(container: str, cluster: str = "prod") -> dict[str, object]:
    return {
        "service": "ecs",
        "operation": "ExecuteCommand",
        "params": {
            "cluster": cluster,
            "task": PROD_TASK.replace("/prod/", f"/{cluster}/"),
            "container": container,
            "interactive": True,
            "command": "/bin/sh -c 'kill -TERM 1'",
        },
    }


def _send(document: str) -> dict[str, object]:
    return {
        "service": "ssm",
        "operation": "SendCommand",
        "params": {"DocumentName": document, "InstanceIds": ["i-0abc"]},
    }


@pytest.mark.parametrize(
    ("call", "pairs", "allowed"),
    [
        (_exec("web"), 2, True),
        (_exec("sidecar"), 2, False),  # the container-name condition
        (_exec("web", cluster="batch"), 2, False),
        (
            {
                "service": "ssm",
                "operation": "TerminateSession",
                "params": {"SessionId": "ecs-execute-command-0e86561fd0c1e8b6b"},
            },
            1,
            True,
        ),
        (
            {
                "service": "ecs",
                "operation": "DescribeContainerInstances",
                "params": {
                    "cluster": "prod",
                    "containerInstances": [
                        f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/prod/9f"
                    ],
                },
            },
            1,
            True,
        ),
        (_send("AWS-RunShellScript"), 2, True),
        (_send("AWS-RunPowerShellScript"), 2, False),  # one document only
        (
            {
                "service": "ssm",
                "operation": "GetCommandInvocation",
                "params": {"CommandId": "c-1", "InstanceId": "i-0abc"},
            },
            1,
            True,
        ),
    ],
)
def test_given_a_stop_action_call_when_evaluated_then_its_resources_and_conditions_checked(
    call: dict[str, object], pairs: int, allowed: bool
) -> None:
    checked, denied = iam_check.unauthorised_calls(
        {"sweeper": [call]}, {"sweeper": STOP_ACTIONS_POLICY}, ACCOUNT, REGION
    )

    assert checked == pairs
    assert (not denied) is allowed


def test_given_no_cli_config_when_terraform_runs_then_the_users_own_is_kept() -> None:
    terraform = Terraform(Path("terraform"), None, {"TF_CLI_CONFIG_FILE": "/home/me/.tfrc"})

    assert terraform.env()["TF_CLI_CONFIG_FILE"] == "/home/me/.tfrc"


def test_given_the_local_endpoint_when_premise_resources_are_described_then_answered_as_aws() -> (
    None
):
    """The gaps examples/premise meets in moto are patched (tools/e2e/local_aws.py)."""
    import boto3

    from tools.e2e.local_aws import credentials_env, local_aws

    with local_aws() as endpoint:
        env = credentials_env(endpoint)
        session = boto3.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_REGION"],
        )
        ecs = session.client("ecs", endpoint_url=endpoint)
        ec2 = session.client("ec2", endpoint_url=endpoint)
        iam = session.client("iam", endpoint_url=endpoint)
        ecs.create_cluster(clusterName="premise")
        ecs.create_service(cluster="premise", serviceName="bridge", desiredCount=0)
        ecs.create_service(
            cluster="premise",
            serviceName="exec",
            desiredCount=0,
            enableExecuteCommand=True,
            launchType="FARGATE",
        )
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
        image = ec2.register_image(Name="ecs", Architecture="x86_64", RootDeviceName="/dev/xvda")
        (instance,) = ec2.run_instances(
            ImageId=image["ImageId"],
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            NetworkInterfaces=[
                {
                    "DeviceIndex": 0,
                    "SubnetId": subnet,
                    "Groups": [group],
                    "AssociatePublicIpAddress": True,
                }
            ],
        )["Instances"]

        services = {
            s["serviceName"]: s
            for s in ecs.describe_services(cluster="premise", services=["bridge", "exec"])[
                "services"
            ]
        }
        described = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])
        managed = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")

    assert "networkConfiguration" not in services["bridge"]
    assert services["exec"]["enableExecuteCommand"] is True
    groups = described["Reservations"][0]["Instances"][0]["SecurityGroups"]
    assert [g["GroupId"] for g in groups] == [group]
    assert managed["Policy"]["PolicyName"] == "AmazonSSMManagedInstanceCore"


def test_given_the_local_endpoint_stopped_when_moto_used_in_process_then_nothing_patched() -> None:
    """The endpoint's patches end with it: the tests that follow in the same process see
    moto as it ships (without managed policies, each account's IAM backend is ~1,300
    policies lighter; with them left on, tests/functional took three times its CPU)."""
    import moto.iam.models
    from moto.awslambda.models import LambdaFunction
    from moto.ec2.models.instances import Instance
    from moto.ec2.models.security_groups import SecurityGroupRule
    from moto.ecs.models import Service
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.events.responses import EventsHandler

    from tools.e2e.local_aws import local_aws

    targets = {
        (LambdaFunction, "get_configuration"),
        (LambdaFunction, "__init__"),
        (LambdaFunction, "update_configuration"),
        (EC2ContainerServiceResponse, "create_service"),
        (EC2ContainerServiceResponse, "update_service"),
        (Service, "__init__"),
        (Instance, "__init__"),
        (SecurityGroupRule, "description"),
        (EventsHandler, "test_event_pattern"),
        (moto.iam.models, "load_iam_aws_managed_policies"),
    }
    before = {(target, name): target.__dict__[name] for target, name in targets}

    with local_aws():
        during = {(target, name): target.__dict__[name] for target, name in targets}
        loads_policies = moto.iam.models.load_iam_aws_managed_policies()

    after = {(target, name): target.__dict__[name] for target, name in targets}
    assert loads_policies is True
    assert all(during[key] is not before[key] for key in targets)
    assert after == before
    assert moto.iam.models.load_iam_aws_managed_policies() is False


def test_given_no_terraform_when_make_test_collects_the_lifecycle_then_it_fails_with_the_line() -> (
    None
):
    from tests.e2e import test_lifecycle
    from tests.support.background import Outcome

    collect = test_lifecycle.__dict__[
        "test_given_the_module_when_applied_replanned_changed_and_destroyed_then_every_check_passes"
    ]
    line = "e2e: skipped (Terraform lifecycle on a local AWS endpoint): no terraform on PATH"

    # A skip raises too (and would leave make test green): only a failure passes here.
    with pytest.raises(BaseException, match="no terraform on PATH") as ended:
        collect(Outcome(0, f"e2e: terraform ...\n{line}\n"))

    assert ended.type is pytest.fail.Exception
