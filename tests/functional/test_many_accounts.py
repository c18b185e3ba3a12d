"""A hub on moto with member accounts: each call made in the task's account with the member
role, a broken member isolated, an unlisted account and another region rejected.

moto serves several accounts: credentials from an assumed role into another account make
moto act in that account (``MOTO_ACCOUNT_ID``, which pins one account, is removed here).
The hub is moto's default account with the test credentials.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.utils import generate_instance_identity_document
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager
from moto.ssm.models import ssm_backends

from handlers import sweeper, task_events
from serverless import app as app_module
from serverless.adapters import AccountClients, ports_from_clients, signal_ports
from serverless.adapters.accounts import make_client
from serverless.app import App, bootstrap, install
from serverless.backstop.plan import BACKSTOP_EVENT
from serverless.domain.model import StopAction
from serverless.domain.signals import SignalCommand, SignalOutcome, SignalTarget
from serverless.settings import Settings
from sim.terraform import ledger_table_spec
from tests.support.clock import FakeContext, ManualClock
from tests.support.emf import emf_metrics
from tests.support.world import REGION, TABLE, iso, load_event

HUB = DEFAULT_ACCOUNT_ID
TEAM_A, TEAM_B, STRANGER = "222233334444", "555566667777", "999988887777"
EXTERNAL_ID = "hub-external-id"
OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}
RUNTIME_ID = "ab" * 32
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@dataclass
class Account:
    """One account's clients (assumed into it, as an operator would) and its cluster."""

    account: str
    ecs: Any
    session: Any = None
    cluster_arn: str = ""
    task_definition: str = ""

    def start(self) -> str:
        """A draining task of the opted-in service ``web``."""
        arn: str = self.ecs.run_task(
            cluster="prod",
            taskDefinition=self.task_definition,
            launchType="FARGATE",
            group="service:web",
            startedBy="ecs-svc/1",
        )["tasks"][0]["taskArn"]
        task = self.task(arn)
        task.status, task.desired_status = "DEACTIVATING", "STOPPED"
        return arn

    def task(self, arn: str) -> Any:
        return ecs_backends[self.account][REGION].tasks["prod"][arn]

    def start_on_ec2(self) -> tuple[str, str]:
        """A draining task of ``web`` on a container instance of this account: its ARN and
        the instance's EC2 id."""
        ec2 = self.session.client("ec2")
        instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
        document = generate_instance_identity_document(
            self.session.resource("ec2").Instance(instance["InstanceId"])
        )
        self.ecs.register_container_instance(
            cluster="prod", instanceIdentityDocument=json.dumps(document)
        )
        arn: str = self.ecs.run_task(
            cluster="prod",
            taskDefinition=self.task_definition,
            launchType="EC2",
            group="service:web",
            startedBy="ecs-svc/1",
        )["tasks"][0]["taskArn"]
        task = self.task(arn)
        task.status, task.desired_status = "DEACTIVATING", "STOPPED"
        task.containers[0].runtime_id = RUNTIME_ID  # what the ECS agent reports; moto lacks it
        return arn, str(instance["InstanceId"])

    def signal_with(self, action: str) -> None:
        """Tag ``web`` to be stopped with ``action`` (its first step)."""
        service = self.ecs.describe_services(cluster="prod", services=["web"])["services"][0]
        self.ecs.tag_resource(
            resourceArn=service["serviceArn"],
            tags=[{"key": "drain-terminator:stop-action", "value": action}],
        )


@dataclass
class Hub:
    clock: ManualClock
    dynamodb: Any
    accounts: dict[str, Account]
    #: AssumeRole requests the hub's functions sent: (role ARN, external id).
    assumed: list[tuple[str, str | None]] = field(default_factory=list)
    #: Accounts whose member role cannot be assumed (AccessDenied, as AWS answers).
    broken: set[str] = field(default_factory=set)

    def maker(
        self,
        session: botocore.session.Session,
        service: str,
        region: str,
        account: str,
        **keys: Any,
    ) -> Any:
        """The functions' clients, with STS watched (and refusing the broken roles)."""
        client = make_client(session, service, region, account, **keys)
        if service == "sts":
            client.meta.events.register("before-call.sts.AssumeRole", self._assume_role)
        return client

    def _assume_role(self, params: dict[str, Any], **_: Any) -> Any:
        body = params["body"]  # the serialized request (query protocol)
        self.assumed.append((body["RoleArn"], body.get("ExternalId")))
        if body["RoleArn"].split(":")[4] in self.broken:
            error = {"Error": {"Code": "AccessDenied", "Message": "not authorized: AssumeRole"}}
            return AWSResponse("https://sts.test", 403, {}, None), error
        return None

    def install(self, **overrides: Any) -> App:
        """A new warm container of the hub (its own clients and member sessions);
        ``overrides``: further settings."""
        settings = Settings(
            table_name=TABLE,
            member_account_ids=frozenset({TEAM_A, TEAM_B}),
            member_external_id=EXTERNAL_ID,
            backstop_round_minutes=1,
            **overrides,
        )
        session = boto3.session.Session(region_name=REGION)
        names = ("ecs", "elbv2", "sts", "resourcegroupstaggingapi")
        home = {name: session.client(name) for name in names}
        accounts = AccountClients(
            settings, home=home, source=botocore.session.get_session(), maker=self.maker
        )
        ports = ports_from_clients(
            settings,
            dynamodb=self.dynamodb,
            ecs=home["ecs"],
            elbv2=home["elbv2"],
            tagging=home["resourcegroupstaggingapi"],
            signals=signal_ports(settings, home["ecs"], session.client("ssm"), accounts),
            accounts=accounts,
        )
        app = bootstrap(settings, clock=self.clock, ports=ports)
        install(app)
        return app

    def event(self, task_arn: str, at: float, account: str | None = None) -> dict[str, Any]:
        """A drain event as the member's forwarding rule delivers it to the hub's bus."""
        event = copy.deepcopy(load_event("fargate-drain-deactivating.json"))
        owner = task_arn.split(":")[4]
        event["account"] = account or owner
        event["region"] = task_arn.split(":")[3]
        event["id"] = f"evt-{task_arn.rsplit('/', 1)[-1][:8]}"
        event["time"] = iso(at)[:19] + "Z"
        event["resources"] = [task_arn]
        cluster = task_arn.rsplit(":task/", 1)[0] + ":cluster/" + task_arn.split("/")[1]
        event["detail"].update(
            taskArn=task_arn,
            clusterArn=cluster,
            lastStatus="DEACTIVATING",
            desiredStatus="STOPPED",
            version=4,
            updatedAt=iso(at),
            group="service:web",
        )
        for container in event["detail"].get("containers", []):
            container["taskArn"] = task_arn
        return event

    def drain(self, task_arn: str, at: float) -> dict[str, str]:
        return task_events.handler(self.event(task_arn, at), FakeContext(self.clock))  # type: ignore[arg-type]

    def backstop(self) -> dict[str, Any]:
        return sweeper.handler(dict(BACKSTOP_EVENT), FakeContext(self.clock))  # type: ignore[arg-type]

    def sweep(self, request_id: str = "run-1", timeout: float = 180.0) -> dict[str, Any]:
        context = FakeContext(self.clock, timeout, request_id)
        return sweeper.handler(SCHEDULED, context)  # type: ignore[arg-type]


def _account(account: str) -> Account:
    """An account with a cluster ``prod`` and an opted-in service ``web`` (made through a
    role assumed into it, moto's way of acting in another account)."""
    session = boto3.session.Session(region_name=REGION)
    if account != HUB:
        credentials = session.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="setup",
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=REGION,
        )
    ecs = session.client("ecs")
    ecs.put_account_setting(name="taskLongArnFormat", value="enabled")
    made = Account(account, ecs, session)
    made.cluster_arn = ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"]
    made.task_definition = ecs.register_task_definition(
        family="web",
        networkMode="bridge",
        containerDefinitions=[{"name": "web", "image": "web:1", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition=made.task_definition,
        desiredCount=0,
        tags=[{"key": k, "value": v} for k, v in OPTED_IN.items()],
        # Behind a load balancer: a drain to shorten (a Classic one: no health to read).
        loadBalancers=[
            {"loadBalancerName": "web-clb", "containerName": "web", "containerPort": 80}
        ],
    )
    return made


@pytest.fixture
def hub(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    # One pinned account would hide every other: moto then takes the account from the
    # credentials of each request (the test credentials: moto's default account).
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    with mock_aws():
        state_manager.set_transition(
            model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
        )
        dynamodb = boto3.session.Session(region_name=REGION).client("dynamodb")
        dynamodb.create_table(**ledger_table_spec(TABLE))
        accounts = {a: _account(a) for a in (HUB, TEAM_A, TEAM_B)}
        hub = Hub(clock, dynamodb, accounts)
        hub.install()
        yield hub
        app_module.reset()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def test_given_drains_in_two_member_accounts_when_swept_then_each_stopped_with_its_own_role(
    hub: Hub, clock: ManualClock
) -> None:
    a_task = hub.accounts[TEAM_A].start()
    b_task = hub.accounts[TEAM_B].start()
    own_task = hub.accounts[HUB].start()
    for task in (a_task, b_task, own_task):
        assert hub.drain(task, clock.now() - 130)["action"] == "tracked"

    report = hub.sweep()

    assert sorted(report["stopped"]) == sorted([a_task, b_task, own_task])
    # moto acted in the account whose credentials signed the StopTask: the member role's.
    for account, task in ((TEAM_A, a_task), (TEAM_B, b_task), (HUB, own_task)):
        stopped = hub.accounts[account].task(task)
        assert stopped.desired_status == "STOPPED"
        assert stopped.stopped_reason.startswith("drain-terminator:")
    # One AssumeRole per member and warm container (task-events and the sweeper share one
    # here), with the template's role and the external id; none for the hub's own account.
    assert sorted(hub.assumed) == [
        (f"arn:aws:iam::{TEAM_A}:role/ecs-drain-terminator-member-{REGION}", EXTERNAL_ID),
        (f"arn:aws:iam::{TEAM_B}:role/ecs-drain-terminator-member-{REGION}", EXTERNAL_ID),
    ]


def test_given_member_role_broken_when_swept_then_only_its_drains_deferred_and_counted(
    hub: Hub, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    a_task = hub.accounts[TEAM_A].start()
    b_task = hub.accounts[TEAM_B].start()
    for task in (a_task, b_task):
        assert hub.drain(task, clock.now() - 130)["action"] == "tracked"
    # B's role breaks (its trust changed); a new sweeper container must assume it anew.
    hub.broken.add(TEAM_B)
    hub.install()
    capsys.readouterr()

    report = hub.sweep()

    assert report["stopped"] == [a_task]
    assert hub.accounts[TEAM_A].task(a_task).desired_status == "STOPPED"
    # B's drain is looked at again every 15 s while the run lasts, and deferred each time.
    failures = report["lookup_failed"]
    assert set(failures) == {b_task}
    assert len(failures) > 1
    assert hub.accounts[TEAM_B].task(b_task).status == "DEACTIVATING"  # left to ECS
    output = capsys.readouterr().out
    assert _lookups_failed_by_account(output) == {TEAM_B: float(len(failures))}
    assert f'"account":"{TEAM_B}"' in output
    # The failed role is not asked for again on every look (at most once per 30 s).
    asked_b = [arn for arn, _ in hub.assumed if f":{TEAM_B}:" in arn]
    assert 1 <= len(asked_b) < len(failures)


def test_given_member_role_broken_when_its_drain_arrives_then_counted_and_retried_by_lambda(
    hub: Hub, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.broken.add(TEAM_B)
    b_task = hub.accounts[TEAM_B].start()
    a_task = hub.accounts[TEAM_A].start()
    capsys.readouterr()

    with pytest.raises(Exception, match="AccessDenied"):
        hub.drain(b_task, clock.now() - 10)
    output = capsys.readouterr().out

    assert _lookups_failed_by_account(output) == {TEAM_B: 1.0}
    assert hub.drain(a_task, clock.now() - 10)["action"] == "tracked"  # others unaffected


def test_given_lost_drains_in_members_when_the_backstop_runs_then_found_with_each_role(
    hub: Hub, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # No event reached the hub for these drains; B's role is broken.
    a_task = hub.accounts[TEAM_A].start()
    b_task = hub.accounts[TEAM_B].start()
    own_task = hub.accounts[HUB].start()
    hub.broken.add(TEAM_B)
    hub.install()
    capsys.readouterr()

    report = hub.backstop()

    # Each account's opted-in services were listed with its own client (A's with its
    # member role), and their drains recorded; B's are left to ECS and counted.
    assert sorted(report["found"]) == sorted([a_task, own_task])
    assert report["calls"]["GetResources"] == 3
    records = {i["pk"]["S"] for i in hub.dynamodb.scan(TableName=TABLE)["Items"]}
    assert {a_task, own_task} <= records
    assert b_task not in records
    assert _lookups_failed_by_account(capsys.readouterr().out) == {TEAM_B: 1.0}


@pytest.mark.parametrize(
    ("make_arn", "reason"),
    [
        pytest.param(
            lambda a: a.replace(TEAM_A, STRANGER),
            "account 999988887777 is not a member of this hub",
            id="account",
        ),
        pytest.param(
            lambda a: a.replace(f":{REGION}:", ":eu-west-1:"),
            "region eu-west-1 is not this hub's region (us-east-1)",
            id="region",
        ),
    ],
)
def test_given_task_of_an_unlisted_account_or_region_when_event_arrives_then_rejected_and_counted(
    hub: Hub, clock: ManualClock, capsys: pytest.CaptureFixture[str], make_arn: Any, reason: str
) -> None:
    task = make_arn(hub.accounts[TEAM_A].start())
    capsys.readouterr()

    result = hub.drain(task, clock.now() - 10)

    assert result == {"action": "rejected", "reason": reason, "task_arn": task}
    assert emf_metrics(capsys.readouterr().out)["EventsRejected"] == [1.0]
    assert hub.assumed == []  # nothing was called for it
    items = hub.dynamodb.scan(TableName=TABLE)["Items"]
    assert items == []


def test_given_a_member_task_to_signal_when_swept_then_ssm_signal_made_with_its_role(
    hub: Hub, clock: ManualClock
) -> None:
    hub.install(ssm_signal_enabled=True)
    member = hub.accounts[TEAM_A]
    member.signal_with("ssm-signal")
    task, instance = member.start_on_ec2()
    assert hub.drain(task, clock.now() - 130)["action"] == "tracked"

    report = hub.sweep(timeout=300.0)  # the default sweeper_timeout: time for the step

    assert report["stopped"] == [task]
    # moto ran the command in the account whose credentials signed SendCommand: the
    # member role's (the hub's own SSM has none), on the task's instance.
    commands = ssm_backends[TEAM_A][REGION]._commands
    assert [c.instance_ids for c in commands] == [[instance]]
    assert commands[0].parameters["commands"] == [f"docker kill --signal TERM {RUNTIME_ID}"]
    assert ssm_backends[HUB][REGION]._commands == []
    assert hub.assumed == [
        (f"arn:aws:iam::{TEAM_A}:role/ecs-drain-terminator-member-{REGION}", EXTERNAL_ID)
    ]
    record = hub.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": task}})["Item"]
    text = json.dumps(record)
    assert "ssm-signal" in text
    assert "SIGNALLED" in text


def test_given_a_broken_member_role_when_its_signal_step_is_due_then_refused_and_counted(
    hub: Hub, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    hub.install(ssm_signal_enabled=True)
    member = hub.accounts[TEAM_B]
    member.signal_with("ssm-signal")
    task, _ = member.start_on_ec2()
    assert hub.drain(task, clock.now() - 130)["action"] == "tracked"
    app = hub.install(ssm_signal_enabled=True)  # a new container: B's role must be assumed
    hub.broken.add(TEAM_B)
    refused = app.ports.signals[StopAction.SSM_SIGNAL].signal(
        SignalTarget(member.cluster_arn, task, "web"), SignalCommand()
    )
    capsys.readouterr()

    assert refused.outcome is SignalOutcome.REFUSED
    assert f"member role of account {TEAM_B} unavailable" in refused.detail
    assert ssm_backends[TEAM_B][REGION]._commands == []  # nothing sent with any role
    assert ssm_backends[HUB][REGION]._commands == []


def _lookups_failed_by_account(output: str) -> dict[str, float]:
    """``LookupsFailed`` of the series with the ``account`` dimension, by account."""
    found: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            names = {m["Name"] for m in directive["Metrics"]}
            if "LookupsFailed" in names and ["service", "account"] in directive["Dimensions"]:
                value = blob["LookupsFailed"]
                total = sum(value) if isinstance(value, list) else value
                found[blob["account"]] = found.get(blob["account"], 0.0) + total
    return found
