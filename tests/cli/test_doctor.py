"""`drain-terminator doctor`: one line per check, its fix, and exit 3 on a problem (moto);
the demo's whole world reports all ok (simulator: tests/cli/sim_doctor.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import NOW, OPTED_IN, TABLE, Account, session
from tests.cli.module_world import ModuleResources, deploy_module
from tests.cli.sim_doctor import run_doctor

PREFIX = TABLE.removesuffix("-ledger")
FIXTURES = Path(__file__).parent / "fixtures"  # the module names everything <name_prefix>-...


@pytest.fixture
def world(account: Account) -> ModuleResources:
    """The account with the module deployed and one healthy opted-in service."""
    resources = deploy_module(PREFIX)
    account.service("web", OPTED_IN, [account.target_group("web", delay=300)])
    return resources


def _checks(result: Any) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in json.loads(result.out)["checks"]}


def _level(checks: dict[str, dict[str, Any]], level: str) -> list[str]:
    return sorted(name for name, check in checks.items() if check["level"] == level)


def _stopped_task(account: Account, service: str, stopped_at: float) -> str:
    from datetime import UTC, datetime

    from moto.ecs.models import ecs_backends

    arn = account.task(service, "STOPPED", "STOPPED")
    task = ecs_backends["111122223333"]["us-east-1"].tasks["prod"][arn]
    task.stopped_at = datetime.fromtimestamp(stopped_at, tz=UTC)
    return arn


def test_given_a_healthy_deployment_when_doctor_then_every_check_is_ok(
    account: Account, world: ModuleResources
) -> None:
    task = _stopped_task(account, "web", NOW - 600)
    account.stopped_record(task, drain_started_at=NOW - 800)

    result = account.cli("doctor", "--json")

    assert result.code == 0, result.out + result.err
    checks = _checks(result)
    assert _level(checks, "problem") == []
    assert _level(checks, "warning") == []
    assert set(checks) >= {
        f"ledger {TABLE}",
        "function task-events",
        "function sweeper",
        "rule task-state-change",
        "rule sweeper schedule",
        "services",
        "events",
        "dead-letter queue",
        "service prod/web tags",
        "alarms",
        f"alarm topic {PREFIX}-alarms",
    }
    assert (
        "all 1 task(s) of opted-in services that stopped in the last hour"
        in (checks["events"]["message"])
    )


def test_given_a_healthy_deployment_when_doctor_as_text_then_one_line_per_check(
    account: Account, world: ModuleResources
) -> None:
    result = account.cli("doctor")

    lines = result.out.splitlines()
    assert result.code == 0, result.out
    assert lines[0] == f"ok       ledger {TABLE}: table active"
    assert f"ok       function task-events: {PREFIX}-task-events active" in lines
    assert (
        "ok       service prod/web wait vs web: wait 120 s, deregistration delay 300 s "
        "(NLB): 180 s saved per drain"
    ) in lines
    assert lines[-1].endswith("ok, 1 warning(s), 0 problem(s)")  # events: no record yet


def test_given_stopped_tasks_without_records_when_doctor_then_events_not_arriving_is_a_problem(
    account: Account, world: ModuleResources
) -> None:
    _stopped_task(account, "web", NOW - 600)
    _stopped_task(account, "web", NOW - 300)

    result = account.cli("doctor", "--json")

    assert result.code == 3
    events = _checks(result)["events"]
    assert events["level"] == "problem"
    assert (
        "2 of 2 task(s) of opted-in services that stopped in the last hour have no"
        in (events["message"])
    )
    assert "task-state events are not reaching the ledger" in events["message"]
    assert "task-state-change rule" in events["fix"]


def test_given_a_wait_shorter_than_the_nlb_floor_when_doctor_then_live_traffic_cut_is_named(
    account: Account, world: ModuleResources
) -> None:
    tags = {**OPTED_IN, "drain-terminator:wait-seconds": "30"}
    account.service("api", tags, [account.target_group("api", delay=300)])

    result = account.cli("doctor", "--json")

    assert result.code == 3
    check = _checks(result)["service prod/api wait vs api"]
    assert check["level"] == "problem"
    assert "wait 30 s is shorter than the NLB's ~120 s propagation" in check["message"]
    assert "live traffic is cut" in check["message"]
    assert check["fix"] == (
        "drain-terminator tags --cluster prod --service api --wait 120 (or more, below 300)"
    )


def test_given_a_wait_not_below_the_delay_when_doctor_then_ecs_wins_is_a_warning(
    account: Account, world: ModuleResources
) -> None:
    account.service("api", OPTED_IN, [account.target_group("api", delay=60)])

    result = account.cli("doctor", "--json")

    check = _checks(result)["service prod/api wait vs api"]
    assert result.code == 0
    assert check["level"] == "warning"
    assert "ECS ends the drain first" in check["message"]


def test_given_an_exec_stop_action_without_execute_command_when_doctor_then_it_is_named(
    account: Account, world: ModuleResources
) -> None:
    tags = {**OPTED_IN, "drain-terminator:stop-action": "exec"}
    account.service("api", tags, [account.target_group("api")])

    result = account.cli("doctor", "--json")

    assert result.code == 3
    check = _checks(result)["service prod/api stop action"]
    assert check["level"] == "problem"
    assert "enableExecuteCommand is off" in check["message"]
    assert "--enable-execute-command" in check["fix"]


def test_given_stop_task_then_exec_without_execute_command_when_doctor_then_it_is_named(
    account: Account, world: ModuleResources
) -> None:
    tags = {**OPTED_IN, "drain-terminator:stop-action": "stop-task-then-exec"}
    account.service("api", tags, [account.target_group("api")])

    check = _checks(account.cli("doctor", "--json"))["service prod/api stop action"]

    assert check["level"] == "problem"
    assert "enableExecuteCommand is off" in check["message"]


def test_given_an_ssm_signal_stop_action_on_fargate_when_doctor_then_it_is_named(
    account: Account, world: ModuleResources
) -> None:
    tags = {**OPTED_IN, "drain-terminator:stop-action": "ssm-signal"}
    account.service("api", tags, [account.target_group("api")])  # a Fargate service

    check = _checks(account.cli("doctor", "--json"))["service prod/api stop action"]

    assert check["level"] == "problem"
    assert (
        "it runs on FARGATE: SSM Run Command reaches EC2 container instances only"
        in (check["message"])
    )
    assert check["fix"].startswith("use the exec stop action on Fargate")


def test_given_an_exec_stop_action_with_execute_command_when_doctor_then_ok(
    account: Account, world: ModuleResources
) -> None:
    tags = {**OPTED_IN, "drain-terminator:stop-action": "exec"}
    account.service("api", tags, [account.target_group("api")])
    account.ecs.update_service(cluster="prod", service="api", enableExecuteCommand=True)

    check = _checks(account.cli("doctor", "--json"))["service prod/api stop action"]

    assert check["level"] == "ok"


def test_given_a_service_still_running_the_sidecar_when_doctor_then_it_warns(
    account: Account, world: ModuleResources
) -> None:
    document = json.loads((FIXTURES / "sidecar-readme-fargate.json").read_text())
    definition = account.ecs.register_task_definition(**document)["taskDefinition"]
    account.service(
        "api",
        OPTED_IN,
        [account.target_group("api")],
        task_definition=definition["taskDefinitionArn"],
    )

    result = account.cli("doctor", "--json")

    check = _checks(result)["service prod/api sidecar"]
    assert result.code == 0
    assert check["level"] == "warning"
    assert (
        "web-application-example:1 still runs the NLB sidecar ('sidecar', recognised by"
        in (check["message"])
    )
    assert "migrate-sidecar" in check["fix"]
    assert _checks(result)["service prod/web sidecar"]["level"] == "ok"


def test_given_broken_module_pieces_when_doctor_then_each_is_named_with_its_fix(
    account: Account, world: ModuleResources
) -> None:
    session().client("events").disable_rule(Name=f"{PREFIX}-sweeper")
    session().client("lambda").put_function_concurrency(
        FunctionName=f"{PREFIX}-task-events", ReservedConcurrentExecutions=0
    )
    session().client("sqs").send_message(QueueUrl=world.queue_url, MessageBody="{}")
    account.service("bare", OPTED_IN, [])
    account.service("odd", {**OPTED_IN, "drain-terminator:min-healthy-percent": "150"}, [])

    result = account.cli("doctor", "--json")

    assert result.code == 3
    checks = _checks(result)
    assert (
        checks["rule sweeper schedule"]["fix"] == f"aws events enable-rule --name {PREFIX}-sweeper"
    )
    assert "reserved concurrency 0" in checks["function task-events"]["message"]
    assert checks["dead-letter queue"]["message"].startswith("1 message(s) waiting")
    assert checks["dead-letter queue"]["fix"].endswith("then replay them: drain-terminator redrive")
    assert "no load balancer target group" in checks["service prod/bare target groups"]["message"]
    assert "must be 0-100" in checks["service prod/odd tags"]["message"]


def test_given_an_unsubscribed_alarm_topic_when_doctor_then_alarms_reach_nobody(
    account: Account,
) -> None:
    deploy_module(PREFIX, subscribe=False)
    account.service("web", OPTED_IN, [account.target_group("web")])

    result = account.cli("doctor", "--json")

    check = _checks(result)[f"alarm topic {PREFIX}-alarms"]
    assert result.code == 3
    assert check["message"] == "no confirmed subscription: alarms reach nobody"
    assert check["fix"].startswith("aws sns subscribe --topic-arn arn:aws:sns:")


def test_given_nothing_deployed_but_the_table_when_doctor_then_missing_resources_are_problems(
    account: Account,
) -> None:
    result = account.cli("doctor", "--json")

    checks = _checks(result)
    assert result.code == 3
    assert checks["function task-events"]["message"] == f"{PREFIX}-task-events does not exist"
    assert checks["rule task-state-change"]["level"] == "problem"
    assert checks["dead-letter queue"]["message"] == f"{PREFIX}-dlq does not exist"
    assert checks["services"]["level"] == "warning"


@pytest.mark.parametrize("reexported", [False, True], ids=["module-root", "re-exported"])
def test_given_terraform_outputs_when_doctor_from_terraform_then_their_names_are_used(
    account: Account,
    world: ModuleResources,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reexported: bool,
) -> None:
    outputs = world.outputs(TABLE, reexported=reexported)
    script = tmp_path / "terraform"
    script.write_text(f"#!/bin/sh\necho '{json.dumps(outputs)}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")

    result = account.cli(
        "doctor", "--json", "--from-terraform", str(tmp_path), "--name-prefix", "unused",
        TABLE_NAME="",
    )  # fmt: skip

    assert result.code == 0, result.out
    checks = _checks(result)
    assert _level(checks, "problem") == []
    # The names came from the outputs, not from --name-prefix.
    assert checks["function task-events"]["message"] == f"{PREFIX}-task-events active"
    assert checks["dead-letter queue"]["message"] == "empty"


def test_given_an_unknown_table_when_doctor_then_the_ledger_is_a_problem_and_others_still_run(
    account: Account,
) -> None:
    result = account.cli("doctor", "--table", "other-ledger")

    assert result.code == 3
    assert result.out.startswith(
        "problem  ledger other-ledger: the table does not exist in this region"
    )
    assert "function task-events: other-task-events does not exist" in result.out


# -- the demo's world, in the simulator ------------------------------------------------------


def test_given_the_demos_world_after_its_deployment_when_doctor_then_all_ok() -> None:
    run = run_doctor(["doctor", "--json"])

    assert run.code == 0, run.out + run.err
    checks = json.loads(run.out)["checks"]
    assert [c for c in checks if c["level"] != "ok"] == []
    events = next(c for c in checks if c["check"] == "events")
    assert (
        "task(s) of opted-in services that stopped in the last hour are in the ledger"
        in (events["message"])
    )


def test_given_the_demos_world_with_a_disabled_rule_when_doctor_then_events_are_named() -> None:
    run = run_doctor(["doctor", "--json"], break_task_events=True)

    assert run.code == 3
    checks = {c["check"]: c for c in json.loads(run.out)["checks"]}
    assert checks["rule task-state-change"]["level"] == "problem"
    assert checks["events"]["level"] == "problem"
    assert "task-state events are not reaching the ledger" in checks["events"]["message"]
