"""``python -m tools.e2e.many_accounts`` (``make e2e-accounts``): a hub and two members, for
real, offline: terraform/examples/many-accounts applied with the real provider to moto's
server, the hub in one account and each member in its own account (the example's provider
aliases assume a role in 222233334444 and 555566667777; moto keeps every account apart).

1. Find Terraform and a filesystem mirror of hashicorp/aws (else ONE line saying what was
   skipped and why, exit 0).
2. Apply the example (the hub's packages built at apply time); re-plan: no changes.
3. Check what was deployed: each member's role trusts the hub's function roles with the
   external id, allows the member statements only, and forwards to the hub's member bus;
   the bus policy admits both accounts for ECS task state changes only; the hub's roles
   may sts:AssumeRole into both member roles and nothing else (moto's IAM evaluator);
   parliament over every deployed policy of the three accounts.
4. Destroy; every account is empty of the example's roles, rules and buses.

Ends with one summary line; exit status 1 if any check failed. The functions acting with
the member roles (a drain in a member account stopped with that account's role) is the
code side's step: the MEMBER_* settings are deployed, not read yet.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tools.e2e import iam_check
from tools.e2e.local_aws import REGION, credentials_env, local_aws
from tools.e2e.terraform import (
    Missing,
    Terraform,
    TerraformError,
    find_plugin_dir,
    find_terraform,
    write_cli_config,
)
from tools.e2e.workspace import IGNORED, LAYER_FILES

__all__ = ["MEMBERS", "main"]

REPO_ROOT = Path(__file__).resolve().parents[2]
NAME = "e2e-hub"
EXTERNAL_ID = "e2e-external-id"
#: Member account -> the cluster names its member module scopes to.
MEMBERS = {"222233334444": ["prod"], "555566667777": []}
_OVERRIDE = """module "hub" {
  table_deletion_protection = false
  architecture              = "x86_64"
  runtime                   = "%s"
  python_executable         = "%s"
}
"""


class _Run:
    def __init__(self, terraform: Terraform, endpoint: str) -> None:
        self.terraform = terraform
        self.endpoint = endpoint
        self.failures: list[str] = []
        self.notes: list[str] = []

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)

    def client(self, service: str, account: str | None = None) -> Any:
        """A client in the hub's account, or in ``account`` through its deployment role."""
        import boto3

        session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=REGION,
        )
        if account is not None:
            credentials = session.client("sts", endpoint_url=self.endpoint).assume_role(
                RoleArn=_deploy_role(account), RoleSessionName="e2e"
            )["Credentials"]
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=REGION,
            )
        return session.client(service, endpoint_url=self.endpoint)


def _deploy_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"


def _document(value: Any) -> dict[str, Any]:
    """A policy document as IAM or EventBridge returns it (JSON text, maybe URL-encoded)."""
    if isinstance(value, str):
        document: dict[str, Any] = json.loads(unquote(value))
        return document
    return dict(value)


def _workspace(root: Path) -> tuple[Path, Path]:
    source = root / "src"
    for name in ("serverless", "handlers", "terraform"):
        shutil.copytree(REPO_ROOT / name, source / name, ignore=IGNORED)
    (source / "layers").mkdir(parents=True)
    for name in LAYER_FILES:
        shutil.copy2(REPO_ROOT / "layers" / name, source / "layers" / name)
    example = source / "terraform" / "examples" / "many-accounts"
    runtime = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (example / "e2e_override.tf").write_text(_OVERRIDE % (runtime, sys.executable))
    team_a, team_b = MEMBERS
    variables = example / "e2e.tfvars.json"
    variables.write_text(
        json.dumps(
            {
                "region": REGION,
                "name_prefix": NAME,
                "external_id": EXTERNAL_ID,
                "team_a": {
                    "deploy_role_arn": _deploy_role(team_a),
                    "cluster_names": MEMBERS[team_a],
                },
                "team_b": {
                    "deploy_role_arn": _deploy_role(team_b),
                    "cluster_names": MEMBERS[team_b],
                },
            },
            indent=2,
        )
    )
    return example, variables


def _check_members(run: _Run, outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The members as deployed; returns every member policy document by a readable name."""
    documents: dict[str, dict[str, Any]] = {}
    hub_roles = sorted(
        role["Arn"]
        for role in run.client("iam").list_roles()["Roles"]
        if role["RoleName"] in (f"{NAME}-task-events", f"{NAME}-sweeper")
    )
    for account, clusters in MEMBERS.items():
        iam = run.client("iam", account)
        name = f"{NAME}-member-{REGION}"
        role = iam.get_role(RoleName=name)["Role"]
        trust = _document(role["AssumeRolePolicyDocument"])
        (statement,) = trust["Statement"]
        condition = statement["Condition"]
        run.check(
            sorted(_list(condition["ArnEquals"]["aws:PrincipalArn"])) == hub_roles,
            f"{account}: the member role trusts {condition['ArnEquals']}, not the hub's roles",
        )
        run.check(
            condition.get("StringEquals", {}).get("sts:ExternalId") == EXTERNAL_ID,
            f"{account}: the member role's trust lacks the external id",
        )
        policy = _document(
            iam.get_role_policy(RoleName=name, PolicyName="drain-terminator")["PolicyDocument"]
        )
        actions = {a for s in policy["Statement"] for a in _list(s["Action"])}
        run.check(
            actions
            == {
                "ecs:DescribeServices",
                "ecs:ListTagsForResource",
                "ecs:DescribeServiceDeployments",
                "ecs:DescribeServiceRevisions",
                "ecs:StopTask",
                "ecs:DescribeTasks",
                "elasticloadbalancing:DescribeTargetHealth",
                # The backstop (the hub's backstop_enabled, the member's enable_backstop).
                "ecs:ListTasks",
                "tag:GetResources",
            },
            f"{account}: the member role allows {sorted(actions)}",
        )
        documents[f"{account} member trust"] = trust
        documents[f"{account} member policy"] = policy
        forward = f"{NAME}-forward-{REGION}"
        documents[f"{account} forwarder trust"] = _document(
            iam.get_role(RoleName=forward)["Role"]["AssumeRolePolicyDocument"]
        )
        documents[f"{account} forwarder policy"] = _document(
            iam.get_role_policy(RoleName=forward, PolicyName="put-to-hub")["PolicyDocument"]
        )
        events = run.client("events", account)
        rule = f"{NAME}-forward-to-hub"
        pattern = json.loads(events.describe_rule(Name=rule)["EventPattern"])
        expected = [f"arn:aws:ecs:{REGION}:{account}:cluster/{c}" for c in clusters]
        matched = pattern["detail"].get("clusterArn", [])
        run.check(matched == expected, f"{account}: the forwarding rule matches {matched}")
        (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
        run.check(
            target["Arn"] == outputs["member_event_bus_arn"],
            f"{account}: the forwarding rule targets {target['Arn']}",
        )
    return documents


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _check_hub(run: _Run, outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    documents: dict[str, dict[str, Any]] = {}
    bus_name = outputs["member_event_bus_arn"].rpartition("/")[2]
    bus = run.client("events").describe_event_bus(Name=bus_name)
    bus_policy = _document(bus["Policy"])
    documents["hub member bus"] = bus_policy
    (statement,) = bus_policy["Statement"]
    principals = sorted(_list(statement["Principal"]["AWS"]))
    run.check(
        principals == sorted(f"arn:aws:iam::{a}:root" for a in MEMBERS),
        f"the member bus admits {principals}",
    )
    run.check(
        statement["Condition"]["StringEquals"]
        == {"events:source": "aws.ecs", "events:detail-type": "ECS Task State Change"},
        f"the member bus admits {statement['Condition']}",
    )
    iam = run.client("iam")
    member_roles = [f"arn:aws:iam::{a}:role/{NAME}-member-{REGION}" for a in MEMBERS]
    for function in ("task-events", "sweeper"):
        role = f"{NAME}-{function}"
        assume = _document(
            iam.get_role_policy(RoleName=role, PolicyName="assume-member-roles")["PolicyDocument"]
        )
        documents[f"hub {function} assume"] = assume
        policy = IAMPolicy({"policy_document": json.dumps(assume)})
        for arn in member_roles:
            run.check(
                policy.is_action_permitted("sts:AssumeRole", arn) == PermissionResult.PERMITTED,
                f"{role} may not assume {arn}",
            )
        for arn in (
            f"arn:aws:iam::999988887777:role/{NAME}-member-{REGION}",
            f"arn:aws:iam::{next(iter(MEMBERS))}:role/OrganizationAccountAccessRole",
        ):
            run.check(
                policy.is_action_permitted("sts:AssumeRole", arn) != PermissionResult.PERMITTED,
                f"{role} may assume {arn}",
            )
    return documents


def _leftovers(run: _Run) -> list[str]:
    left = [
        f"{account}: role {role['RoleName']}"
        for account in MEMBERS
        for role in run.client("iam", account).list_roles()["Roles"]
        if role["RoleName"].startswith(NAME)
    ]
    left += [
        f"hub: bus {bus['Name']}"
        for bus in run.client("events").list_event_buses()["EventBuses"]
        if bus["Name"].startswith(NAME)
    ]
    return left


def main() -> int:
    started = time.monotonic()
    try:
        binary, plugin_dir = find_terraform(), find_plugin_dir()
    except Missing as missing:
        print(f"e2e-accounts: skipped: {missing}")
        return 0
    with tempfile.TemporaryDirectory(prefix="e2e-accounts-") as tmp, local_aws() as endpoint:
        root = Path(tmp)
        environment = credentials_env(endpoint)
        terraform = Terraform(
            binary,
            write_cli_config(root / "terraform.rc", plugin_dir),
            {**os.environ, **environment, "TF_PLUGIN_CACHE_DIR": ""},
        )
        run = _Run(terraform, endpoint)
        example, variables = _workspace(root)
        applied = False
        try:
            terraform.init(example)
            terraform.apply(example, variables)
            applied = True
            changes = terraform.plan_changes(example, variables)
            run.check(not changes, f"re-plan: {[c['address'] for c in changes]}")
            outputs = terraform.output(example)
            documents = {**_check_members(run, outputs), **_check_hub(run, outputs)}
            findings = iam_check.lint_policies(documents)
            for finding in findings:
                run.check(False, f"parliament: {finding}")
            run.notes.append(f"parliament: {len(findings)} findings in {len(documents)} policies")
        except (TerraformError, KeyError, ValueError) as error:
            run.check(False, f"{type(error).__name__}: {error}")
        finally:
            if applied:
                try:
                    terraform.destroy(example, variables)
                    left = _leftovers(run)
                    run.check(not left, f"destroy left {left}")
                except TerraformError as error:
                    run.check(False, f"destroy: {error}")
        for line in terraform.log:
            print(line)
    seconds = time.monotonic() - started
    for failure in run.failures:
        print(f"FAIL {failure}")
    if run.failures:
        print(f"e2e-accounts: FAIL {len(run.failures)} check(s) in {seconds:.0f}s")
        return 1
    print(
        f"e2e-accounts: OK in {seconds:.0f}s: hub + {len(MEMBERS)} members applied; "
        f"re-plan: no changes; {'; '.join(run.notes)}; destroy: clean"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
