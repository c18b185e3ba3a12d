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
4. Run the deployed function package (the hub's, as Lambda would: a fresh process per
   function, pointed at the endpoint) on a drain in each member account: task-events
   records both, the sweeper stops both, each with a StopTask made with that account's
   member role (AssumeRole with the external id; moto acts in the account whose
   credentials signed the call, and only there does the task exist); every call made
   with a member role is allowed by that role's deployed policy, every AssumeRole by the
   hub role's (moto's IAM evaluator).
5. Destroy; every account is empty of the example's roles, rules and buses.

Ends with one summary line; exit status 1 if any check failed.
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

from tools.e2e import deployed, iam_check
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


def _member_drains(
    run: _Run,
    example: Path,
    environment: dict[str, str],
    scratch: Path,
    documents: dict[str, dict[str, Any]],
) -> None:
    """A drain in each member account, stopped by the deployed hub with the member's role."""
    from moto.backends import get_backend
    from moto.moto_api import state_manager

    state_manager.set_transition(
        model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
    )
    state = {r["address"]: r["values"] for r in run.terraform.state_resources(example)}
    lambda_ = run.client("lambda")
    functions = {
        key: lambda_.get_function(
            FunctionName=state[f'module.hub.aws_lambda_function.this["{key}"]']["function_name"]
        )["Configuration"]
        for key in ("task-events", "sweeper")
    }
    variables = functions["sweeper"]["Environment"]["Variables"]
    run.check(
        sorted(variables.get("MEMBER_ACCOUNT_IDS", "").split(",")) == sorted(MEMBERS)
        and variables.get("MEMBER_EXTERNAL_ID") == EXTERNAL_ID,
        f"the hub's functions are deployed with {variables}",
    )
    layer_values = state["module.hub.aws_lambda_layer_version.dependencies"]
    layer = lambda_.get_layer_version(
        LayerName=layer_values["layer_name"], VersionNumber=int(layer_values["version"])
    )
    runtime = deployed.unpack(
        deployed.Package(
            example / state['module.hub.aws_lambda_function.this["sweeper"]']["filename"],
            functions["sweeper"]["CodeSha256"],
        ),
        deployed.Package(example / layer_values["filename"], layer["Content"]["CodeSha256"]),
        scratch / "lambda",
    )
    prefix = variables.get("TAG_PREFIX", "drain-terminator:")
    hub_account = run.client("sts").get_caller_identity()["Account"]
    tasks: dict[str, str] = {}
    events = []
    for account in MEMBERS:
        ecs = run.client("ecs", account)
        cluster = ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"]
        ecs.register_task_definition(
            family="web",
            containerDefinitions=[{"name": "app", "image": "nginx", "cpu": 256, "memory": 512}],
        )
        ecs.create_service(
            cluster=cluster,
            serviceName="web",
            taskDefinition="web",
            desiredCount=0,
            launchType="FARGATE",
            # Behind a load balancer (a drain to shorten; a Classic one has no health).
            loadBalancers=[
                {"loadBalancerName": "web", "containerName": "app", "containerPort": 80}
            ],
            tags=[
                {"key": f"{prefix}enabled", "value": "true"},
                {"key": f"{prefix}wait-seconds", "value": str(deployed.WAIT_SECONDS)},
            ],
        )
        task = ecs.run_task(
            cluster=cluster,
            taskDefinition="web",
            launchType="FARGATE",
            group="service:web",
            startedBy="ecs-svc/e2e",
        )["tasks"][0]
        modelled = get_backend("ecs")[account][REGION].tasks["prod"][task["taskArn"]]
        modelled.desired_status, modelled.last_status = "STOPPED", "RUNNING"
        tasks[account] = task["taskArn"]
        events.append(_drain_event(account, cluster, task))
    ran = deployed.invoke(
        runtime, functions["task-events"], events, environment, scratch, hub_account
    )
    calls = {"task-events": ran["calls"]}
    for outcome in ran["results"]:
        run.check(
            outcome["ok"] and outcome["value"]["action"] == "tracked",
            f"task-events: {outcome.get('value') or outcome.get('error')}",
        )
    tick = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    ran = deployed.invoke(runtime, functions["sweeper"], [tick], environment, scratch, hub_account)
    calls["sweeper"] = ran["calls"]
    (outcome,) = ran["results"]
    run.check(outcome["ok"], f"sweeper: {outcome.get('error')}")
    stopped = sorted(outcome.get("value", {}).get("stopped", []))
    run.check(stopped == sorted(tasks.values()), f"the sweeper stopped {stopped}")
    for account, task_arn in tasks.items():
        after = get_backend("ecs")[account][REGION].tasks["prod"][task_arn]
        run.check(
            after.desired_status == "STOPPED"
            and str(after.stopped_reason).startswith("drain-terminator:"),
            f"{account}: the task was not stopped in its account ({after.stopped_reason})",
        )
    _check_assumed_calls(run, calls, documents, hub_account)


def _check_assumed_calls(
    run: _Run,
    calls: dict[str, list[dict[str, Any]]],
    documents: dict[str, dict[str, Any]],
    hub_account: str,
) -> None:
    """The IAM check of the assumed roles' calls: each call against the role it ran with
    (a member's ECS and ELB calls: its member role; AssumeRole: the hub role's policy)."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    member_policy = {
        account: IAMPolicy({"policy_document": json.dumps(documents[f"{account} member policy"])})
        for account in MEMBERS
    }
    checked, assumed = 0, set()
    for function, recorded in calls.items():
        assume = IAMPolicy({"policy_document": json.dumps(documents[f"hub {function} assume"])})
        for call in recorded:
            if call["service"] == "sts" and call["operation"] == "AssumeRole":
                role, external = call["params"]["RoleArn"], call["params"].get("ExternalId")
                assumed.add(role)
                checked += 1
                run.check(
                    assume.is_action_permitted("sts:AssumeRole", role) == PermissionResult.PERMITTED
                    and external == EXTERNAL_ID,
                    f"{function} assumed {role} (external id {external!r}), not allowed",
                )
                continue
            for action, resource in iam_check.resource_of(call, hub_account, REGION):
                owner = resource.split(":")[4] if resource.count(":") >= 5 else ""
                if call["service"] not in ("ecs", "elasticloadbalancing") or owner not in MEMBERS:
                    continue
                checked += 1
                conditions = (
                    {"ecs:cluster": call["params"]["cluster"]}
                    if "cluster" in call["params"]
                    else {}
                )
                run.check(
                    member_policy[owner].is_action_permitted(
                        action, resource, incoming_condition_values=conditions
                    )
                    == PermissionResult.PERMITTED,
                    f"{function} called {action} on {resource}: the member role does not allow it",
                )
    expected = {f"arn:aws:iam::{a}:role/{NAME}-member-{REGION}" for a in MEMBERS}
    run.check(assumed == expected, f"the functions assumed {sorted(assumed)}")
    run.notes.append(
        f"a drain in each member stopped with its member role; IAM: {checked} calls with "
        "assumed or assuming roles allowed"
    )


def _drain_event(account: str, cluster: str, task: dict[str, Any]) -> dict[str, Any]:
    """The drain as the member's forwarding rule delivers it to the hub's bus."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    return {
        "version": "0",
        "id": f"e2e-{account}",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": account,
        "time": f"{now}Z",
        "region": REGION,
        "resources": [task["taskArn"]],
        "detail": {
            "clusterArn": cluster,
            "taskArn": task["taskArn"],
            "group": "service:web",
            "launchType": "FARGATE",
            "lastStatus": "RUNNING",
            "desiredStatus": "STOPPED",
            "version": 3,
            "updatedAt": f"{now}.000Z",
            "containers": [],
        },
    }


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
            scratch = root / "invocations"
            scratch.mkdir()
            _member_drains(run, example, environment, scratch, documents)
        except (TerraformError, KeyError, ValueError, RuntimeError, AssertionError) as error:
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
