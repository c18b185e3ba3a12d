"""`drain-terminator drain TASK`: out of rotation now, an operator drain in the ledger for
the sweeper; refused with one line (or one JSON document) whenever that would be wrong."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.ecs.models import ecs_backends

from serverless.adapters.dynamodb_ledger import from_item
from serverless.domain.model import RecordStatus, StopCause, TaskRecord
from tests.cli.conftest import ACCOUNT, NOW, OPTED_IN, REGION, TABLE, Account, TtyInput

TAGGED = {**OPTED_IN, "drain-terminator:min-healthy-percent": "50"}


@dataclass
class Fleet:
    """An opted-in service behind one NLB group, with its running tasks registered."""

    target_group: str
    tasks: list[str]
    ips: list[str]


def attach(account: Account, task_arn: str, ip: str) -> None:
    """Give a moto task the ENI attachment an awsvpc task carries (moto 5 cannot create
    the ENI itself; DescribeTasks then shows it as ECS does)."""
    task = ecs_backends[ACCOUNT][REGION].tasks["prod"][task_arn]
    task.attachments = [
        {
            "id": "eni-attachment",
            "type": "ElasticNetworkInterface",
            "status": "ATTACHED",
            "details": [
                {"name": "networkInterfaceId", "value": "eni-0123"},
                {"name": "privateIPv4Address", "value": ip},
            ],
        }
    ]


def fleet(
    account: Account,
    tags: dict[str, str] | None = None,
    count: int = 3,
    protocol_delay: int = 300,
) -> Fleet:
    group = account.target_group("web-tg", delay=protocol_delay)
    account.service("web", TAGGED if tags is None else tags, [group], desired_count=count)
    tasks, ips = [], []
    for index in range(count):
        arn = account.task("web")
        ip = f"10.30.1.{10 + index}"
        attach(account, arn, ip)
        account.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": ip, "Port": 80}])
        tasks.append(arn)
        ips.append(ip)
    return Fleet(group, tasks, ips)


def registered(account: Account, group: str) -> set[str]:
    health = account.elbv2.describe_target_health(TargetGroupArn=group)
    return {d["Target"]["Id"] for d in health["TargetHealthDescriptions"]}


def ledger_record(account: Account, task_arn: str) -> TaskRecord | None:
    item = account.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": task_arn}}).get("Item")
    return from_item(item) if item else None


def assert_refused(result: Any, *fragments: str) -> None:
    assert result.code == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("drain-terminator: error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0]


# -- the happy path ----------------------------------------------------------------------------


def test_given_a_healthy_fleet_when_a_task_is_drained_then_out_of_rotation_and_recorded(
    account: Account,
) -> None:
    web = fleet(account)

    result = account.cli("drain", web.tasks[0], "--yes")

    assert result.code == 0, result.err
    assert registered(account, web.target_group) == set(web.ips[1:])
    record = ledger_record(account, web.tasks[0])
    assert record is not None
    assert record.status is RecordStatus.DRAINING
    assert record.cause == StopCause.OPERATOR.value
    assert (record.drain_started_at, record.wait_seconds, record.due_at) == (NOW, 120, NOW + 120)
    assert (record.service_name, record.cluster_arn) == ("web", account.cluster_arn)
    assert "deregistered 10.30.1.10:80 from web-tg (NLB, deregistration delay 300 s)" in (
        result.out
    )
    assert "wait 120 s (the service's wait-seconds tag)" in result.out
    assert "no stop before 2026-11-28 10:02:00Z" in result.out


def test_given_wait_and_json_when_drained_then_the_document_states_the_drain(
    account: Account,
) -> None:
    web = fleet(account)
    task_id = web.tasks[1].rsplit("/", 1)[-1]

    result = account.cli("drain", task_id, "--cluster", "prod", "--wait", "300", "--yes", "--json")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["changed"] is True
    assert document["cause"] == "operator"
    assert (document["wait_seconds"], document["wait_from"]) == (300, "--wait")
    assert document["targets"] == [
        {
            "target_group_arn": web.target_group,
            "id": "10.30.1.11",
            "port": 80,
            "state": "healthy",
            "nlb": True,
            "deregistration_delay_seconds": 300,
        }
    ]
    assert document["drain_started_at"] == "2026-11-28T10:00:00Z"
    assert document["due_at"] == "2026-11-28T10:05:00Z"
    assert document["stop_action"] == "stop-task"
    record = ledger_record(account, web.tasks[1])
    assert record is not None
    assert record.wait_seconds == 300


def test_given_dry_run_when_drained_then_it_says_what_it_would_do_and_changes_nothing(
    account: Account,
) -> None:
    web = fleet(account)

    result = account.cli("drain", web.tasks[0], "--dry-run")

    assert result.code == 0, result.err
    assert "would deregister 10.30.1.10:80 from web-tg" in result.out
    assert "would record an operator drain in the ledger, wait 120 s" in result.out
    assert result.out.rstrip().endswith("nothing changed (--dry-run)")
    assert registered(account, web.target_group) == set(web.ips)
    assert ledger_record(account, web.tasks[0]) is None


def test_given_exec_enabled_and_no_stop_action_tag_when_dry_run_then_the_functions_default(
    account: Account,
) -> None:
    web = fleet(account)

    result = account.cli("drain", web.tasks[0], "--dry-run", "--json", EXEC_ENABLED="true")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert (document["changed"], document["dry_run"]) == (False, True)
    assert document["stop_action"] == "stop-task-then-exec"
    assert document["drain_started_at"] is None


def test_given_a_closed_record_of_the_task_when_drained_then_the_record_is_replaced(
    account: Account,
) -> None:
    web = fleet(account)
    account.record(
        web.tasks[0], status=RecordStatus.CLOSED, outcome=None, rev=4, closed_at=NOW - 30
    )

    result = account.cli("drain", web.tasks[0], "--yes")

    assert result.code == 0, result.err
    record = ledger_record(account, web.tasks[0])
    assert record is not None
    assert (record.status, record.cause, record.rev) == (RecordStatus.DRAINING, "operator", 5)


# -- asking first ------------------------------------------------------------------------------


def test_given_a_terminal_when_the_answer_is_no_then_nothing_changes(account: Account) -> None:
    web = fleet(account)

    result = account.cli("drain", web.tasks[0], stdin=TtyInput("n\n"))

    assert result.code == 1
    assert "Take task" in result.err
    assert "out of rotation now (1 target(s))" in result.err
    assert "nothing changed" in result.err
    assert registered(account, web.target_group) == set(web.ips)
    assert ledger_record(account, web.tasks[0]) is None


def test_given_a_terminal_when_the_answer_is_yes_then_drained(account: Account) -> None:
    web = fleet(account)

    result = account.cli("drain", web.tasks[0], stdin=TtyInput("y\n"))

    assert result.code == 0, result.err
    assert ledger_record(account, web.tasks[0]) is not None


class AnswerAfter(TtyInput):
    """A terminal whose answer comes after something changed in the account."""

    def __init__(self, answer: str, meanwhile: Any) -> None:
        super().__init__(answer)
        self.meanwhile = meanwhile

    def readline(self, size: int | None = -1) -> str:
        self.meanwhile()
        return super().readline()


def test_given_the_fleet_lost_targets_while_asking_when_answered_yes_then_guards_refuse(
    account: Account,
) -> None:
    web = fleet(account, OPTED_IN)
    others = [{"Id": ip, "Port": 80} for ip in web.ips[1:]]

    def lose_the_others() -> None:
        account.elbv2.deregister_targets(TargetGroupArn=web.target_group, Targets=others)

    result = account.cli("drain", web.tasks[0], stdin=AnswerAfter("y\n", lose_the_others))

    assert result.code == 1
    assert (
        f"drain-terminator: error: task {web.tasks[0].rsplit('/', 1)[-1]} is the only healthy "
        "target of web-tg"
    ) in result.err.splitlines()[-1]  # after the question (the terminal echoes the answer)
    assert registered(account, web.target_group) == {web.ips[0]}
    assert ledger_record(account, web.tasks[0]) is None


def test_given_no_terminal_and_no_yes_when_drained_then_refused(account: Account) -> None:
    web = fleet(account)

    result = account.cli("drain", web.tasks[0])

    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        f"drain-terminator: error: refusing to take task {web.tasks[0].rsplit('/', 1)[-1]} out "
        "of rotation without confirmation: stdin is not a terminal; pass --yes"
    )
    assert registered(account, web.target_group) == set(web.ips)


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "fragments"),
    [
        pytest.param({}, ("service web is not opted in", "drain-terminator tags"), id="opted-out"),
        pytest.param(
            {**OPTED_IN, "drain-terminator:dry-run": "true"},
            ("service web is in dry-run", "--no-dry-run"),
            id="dry-run",
        ),
    ],
)
def test_given_a_service_the_sweeper_would_not_stop_when_drained_then_refused(
    account: Account, tags: dict[str, str], fragments: tuple[str, ...]
) -> None:
    web = fleet(account, tags)

    result = account.cli("drain", web.tasks[0], "--yes")

    assert_refused(result, *fragments)
    assert registered(account, web.target_group) == set(web.ips)
    assert ledger_record(account, web.tasks[0]) is None


def test_given_the_only_healthy_target_when_drained_then_refused(account: Account) -> None:
    web = fleet(account, OPTED_IN, count=1)

    result = account.cli("drain", web.tasks[0], "--yes")

    assert_refused(result, "is the only healthy target of web-tg")
    assert registered(account, web.target_group) == set(web.ips)


def test_given_min_healthy_would_break_when_drained_then_refused(account: Account) -> None:
    web = fleet(account, {**OPTED_IN, "drain-terminator:min-healthy-percent": "100"})

    result = account.cli("drain", web.tasks[0], "--yes")

    assert_refused(
        result,
        "would leave 2 healthy target(s) in web-tg",
        "min-healthy-percent 100% of desired 3 (3)",
    )
    assert ledger_record(account, web.tasks[0]) is None


@pytest.mark.parametrize(
    ("last", "desired", "fragment"),
    [
        pytest.param("PENDING", "RUNNING", "is PENDING, not RUNNING", id="pending"),
        pytest.param("RUNNING", "STOPPED", "ECS is already stopping task", id="draining"),
        pytest.param("STOPPED", "STOPPED", "ECS is already stopping task", id="stopped"),
    ],
)
def test_given_a_task_not_running_or_being_stopped_when_drained_then_refused(
    account: Account, last: str, desired: str, fragment: str
) -> None:
    web = fleet(account)
    task = ecs_backends[ACCOUNT][REGION].tasks["prod"][web.tasks[0]]
    task.status, task.desired_status = last, desired

    result = account.cli("drain", web.tasks[0], "--yes")

    assert_refused(result, fragment)
    assert registered(account, web.target_group) == set(web.ips)


def test_given_a_standalone_task_when_drained_then_refused(account: Account) -> None:
    fleet(account)
    batch = account.task(None)

    result = account.cli("drain", batch, "--yes")

    assert_refused(result, "is not a service task (group 'family:batch')")


def test_given_an_unknown_task_when_drained_then_refused(account: Account) -> None:
    fleet(account)

    result = account.cli("drain", "0123456789abcdef", "--cluster", "prod", "--yes")

    assert_refused(result, "task 0123456789abcdef not found in cluster prod")


def test_given_a_task_id_without_cluster_when_drained_then_asked_for_the_cluster(
    account: Account,
) -> None:
    result = account.cli("drain", "0123456789abcdef", "--yes")

    assert_refused(result, "pass --cluster")


def test_given_an_open_drain_of_the_task_when_drained_then_refused(account: Account) -> None:
    web = fleet(account)
    account.record(web.tasks[0], cause="deployment")

    result = account.cli("drain", web.tasks[0], "--yes")

    assert_refused(result, "already has an open drain in the ledger", "cause deployment")
    assert registered(account, web.target_group) == set(web.ips)


def test_given_a_task_without_a_target_in_the_serving_groups_when_drained_then_refused(
    account: Account,
) -> None:
    web = fleet(account)
    account.elbv2.deregister_targets(
        TargetGroupArn=web.target_group, Targets=[{"Id": web.ips[0], "Port": 80}]
    )

    result = account.cli("drain", web.tasks[0], "--yes")

    assert_refused(result, "has no target in rotation in the target groups serving traffic now")


def test_given_a_wait_shorter_than_the_nlb_floor_when_drained_then_it_needs_yes(
    account: Account,
) -> None:
    web = fleet(account)

    refused = account.cli("drain", web.tasks[0], "--wait", "30", stdin=TtyInput("y\n"))
    accepted = account.cli("drain", web.tasks[0], "--wait", "30", "--yes")

    assert_refused(refused, "wait 30 s is shorter than the ~120 s", "pass --yes")
    assert accepted.code == 0, accepted.err
    assert "drain-terminator: warning: wait 30 s is shorter" in accepted.err
    record = ledger_record(account, web.tasks[0])
    assert record is not None
    assert record.wait_seconds == 30


def test_given_json_when_refused_then_one_json_document(account: Account) -> None:
    web = fleet(account, {})

    result = account.cli("drain", web.tasks[0], "--yes", "--json")

    assert result.code == 1
    document = json.loads(result.out)
    assert document["error"]["type"] == "DrainRefused"
    assert "not opted in" in document["error"]["message"]
    assert document["exit_status"] == 1


def test_given_a_negative_wait_when_parsed_then_a_usage_error(account: Account) -> None:
    result = account.cli("drain", "abc", "--cluster", "prod", "--wait", "-5")

    assert result.code == 2
    assert "not whole seconds >= 0" in result.err


# -- nothing lost --------------------------------------------------------------------------------


def test_given_the_ledger_write_fails_when_drained_then_the_targets_are_registered_again(
    account: Account,
) -> None:
    web = fleet(account)

    def refuse(params: dict[str, Any], **_: Any) -> Any:
        body = {"Error": {"Code": "AccessDeniedException", "Message": "no PutItem for you"}}
        return AWSResponse("https://dynamodb.test", 400, {}, None), body

    event = "before-call.dynamodb.PutItem"
    account.dynamodb.meta.events.register_first(event, refuse)
    try:
        result = account.cli("drain", web.tasks[0], "--yes")
    finally:
        account.dynamodb.meta.events.unregister(event, refuse)

    assert_refused(result, "the drain could not be recorded", "its targets were registered again")
    assert registered(account, web.target_group) == set(web.ips)
    assert ledger_record(account, web.tasks[0]) is None


# -- status and explain --------------------------------------------------------------------------


def test_given_an_operator_drain_when_status_and_explain_run_then_they_show_its_cause(
    account: Account,
) -> None:
    web = fleet(account)
    assert account.cli("drain", web.tasks[0], "--yes").code == 0
    task_id = web.tasks[0].rsplit("/", 1)[-1]

    status = account.cli("status", "--json")
    explained = account.cli("explain", web.tasks[0])

    (service,) = json.loads(status.out)["services"]
    assert [(o["task_arn"], o["cause"]) for o in service["open"]] == [(web.tasks[0], "operator")]
    assert f"{task_id}  operator  draining" in account.cli("status").out
    assert "  cause: operator" in explained.out
    assert "operator drain began (drain-terminator drain: its targets deregistered" in (
        explained.out
    )
    assert "decision (not-yet)" in explained.out
