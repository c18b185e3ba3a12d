"""`drain-terminator verify`: refusals on moto; the measurement end to end in the simulator."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sim.aws.embedded import AwsCall, Reply
from tests.cli.conftest import OPTED_IN, Account, TtyInput
from tests.cli.sim_verify import run_verify, verify_scenario

VERIFY = ["verify", "--cluster", "demo", "--service", "web"]
FIXTURES = Path(__file__).parent / "fixtures"


def _count_updates(account: Account) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    account.ecs.meta.events.register(
        "before-parameter-build.ecs.UpdateService", lambda params, **_: calls.append(dict(params))
    )
    return calls


# -- refusals (moto) ----------------------------------------------------------------------


def test_given_a_service_that_did_not_opt_in_when_verify_then_refused_and_nothing_deployed(
    account: Account,
) -> None:
    account.service("legacy", {"team": "a"}, [account.target_group("legacy")])
    updates = _count_updates(account)

    result = account.cli("verify", "--cluster", "prod", "--service", "legacy", "--yes")

    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "has not opted in" in result.err
    assert "verify only deploys opted-in services" in result.err
    assert updates == []


def test_given_a_dry_run_service_when_verify_then_refused(account: Account) -> None:
    tags = {**OPTED_IN, "drain-terminator:dry-run": "true"}
    account.service("web", tags, [account.target_group("web")])

    result = account.cli("verify", "--cluster", "prod", "--service", "web", "--yes")

    assert result.code == 1
    assert "is in dry-run" in result.err


def test_given_a_wait_as_long_as_the_delay_when_verify_then_refused(account: Account) -> None:
    account.service("web", OPTED_IN, [account.target_group("web", delay=120)])

    result = account.cli("verify", "--cluster", "prod", "--service", "web", "--yes")

    assert result.code == 1
    assert "not shorter than the deregistration delay (120 s)" in result.err


def test_given_a_service_still_running_the_sidecar_when_verify_then_refused(
    account: Account,
) -> None:
    sidecar_env = [
        {"name": "DEREGISTRATION_WAIT", "value": "120"},
        {"name": "TARGET_CONTAINER_NAME", "value": "web"},
    ]
    definition = account.ecs.register_task_definition(
        family="web-with-sidecar",
        containerDefinitions=[
            {"name": "web", "image": "web:1", "essential": True, "memory": 512},
            {"name": "drain", "image": "sidecar:1", "memory": 32, "environment": sidecar_env},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    account.service("web", OPTED_IN, [account.target_group("web")], task_definition=definition)
    updates = _count_updates(account)

    result = account.cli("verify", "--cluster", "prod", "--service", "web", "--yes")

    assert result.code == 1
    assert "still runs the NLB sidecar ('drain' in web-with-sidecar:1" in result.err
    assert updates == []


@pytest.mark.parametrize(
    "fixture",
    [
        "sidecar-readme-first-fargate.json",
        "sidecar-readme-fargate.json",
        "sidecar-readme-bridge.json",
    ],
)
def test_given_a_service_running_a_task_definition_of_the_sidecars_readme_when_verify_then_refused(
    account: Account, fixture: str
) -> None:
    document = json.loads((FIXTURES / fixture).read_text())
    for container in document["containerDefinitions"]:
        container.pop("logConfiguration", None)  # moto checks no log group; keep it simple
    definition = account.ecs.register_task_definition(**document)["taskDefinition"]
    tg = account.target_group("web")
    application = document["containerDefinitions"][0]["name"]
    account.ecs.create_service(
        cluster=account.cluster_arn, serviceName="web", desiredCount=1,
        taskDefinition=definition["taskDefinitionArn"],
        tags=[{"key": k, "value": v} for k, v in OPTED_IN.items()],
        loadBalancers=[{"targetGroupArn": tg, "containerName": application, "containerPort": 80}],
    )  # fmt: skip
    updates = _count_updates(account)

    result = account.cli("verify", "--cluster", "prod", "--service", "web", "--yes")

    assert result.code == 1
    assert "still runs the NLB sidecar ('sidecar' in web-application-example:1" in result.err
    assert "DEREGISTRATION_WAIT" in result.err
    assert updates == []


def test_given_sidecar_names_the_load_balanced_container_when_verify_then_refused(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [account.target_group("web")])

    result = account.cli(
        "verify", "--cluster", "prod", "--service", "web", "--yes", "--sidecar", "web"
    )

    assert result.code == 1
    assert "container 'web' carries none of the sidecar's marks" in result.err
    assert "load balancer sends traffic to it" in result.err


def test_given_a_named_sidecar_without_marks_when_verify_then_it_is_recognised(
    account: Account,
) -> None:
    definition = account.ecs.register_task_definition(
        family="web-quiet-sidecar",
        containerDefinitions=[
            {"name": "web", "image": "web:1", "essential": True, "memory": 512},
            {"name": "drainer", "image": "registry.example/drainer:3", "memory": 32},
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    account.service("web", OPTED_IN, [account.target_group("web")], task_definition=definition)

    unnamed = account.cli(
        "verify", "--cluster", "prod", "--service", "web", "--timeout", "5", "--yes"
    )
    named = account.cli(
        "verify", "--cluster", "prod", "--service", "web", "--yes", "--sidecar", "drainer"
    )

    assert unnamed.code == 3  # no mark: nothing recognised, the measurement ran (moto: timeout)
    assert named.code == 1
    assert "still runs the NLB sidecar ('drainer'" in named.err


def test_given_no_terminal_and_no_yes_when_verify_then_refused_before_deploying(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [account.target_group("web")])
    updates = _count_updates(account)

    result = account.cli("verify", "--cluster", "prod", "--service", "web")

    assert result.code == 1
    assert "stdin is not a terminal; pass --yes" in result.err
    assert updates == []


def test_given_a_terminal_when_the_user_answers_no_then_nothing_is_deployed(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [account.target_group("web")])
    updates = _count_updates(account)

    result = account.cli("verify", "--cluster", "prod", "--service", "web", stdin=TtyInput("n\n"))

    assert result.code == 1
    assert "Force a new deployment of web" in result.err
    assert "nothing changed" in result.err
    assert updates == []


def test_given_a_terminal_when_the_user_answers_yes_then_one_forced_deployment_is_started(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [account.target_group("web")])
    updates = _count_updates(account)

    result = account.cli(
        "verify", "--cluster", "prod", "--service", "web", "--timeout", "20",
        stdin=TtyInput("y\n"),
    )  # fmt: skip

    # moto has no ECS lifecycle: nothing drains, so the measurement ends at the timeout.
    assert result.code == 3
    assert [u.get("forceNewDeployment") for u in updates] == [True]
    assert "no verdict within 20 s" in result.out


def test_given_no_drain_happens_when_verify_waits_naturally_then_it_gives_up_at_the_timeout(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [account.target_group("web")])
    start = account.clock.value

    result = account.cli(
        "verify", "--cluster", "prod", "--service", "web", "--wait-natural",
        "--timeout", "10m", "--json",
    )  # fmt: skip

    assert result.code == 3
    verdict = json.loads(result.out)
    assert verdict["verdict"] == "timeout"
    assert verdict["deregistration_delay_seconds"] == 300
    assert account.clock.value - start == pytest.approx(600.0)
    assert max(account.clock.slept) <= 5.0


def test_given_a_service_on_exec_when_verify_then_the_plan_says_what_exec_lacks(
    account: Account,
) -> None:
    tags = {**OPTED_IN, "drain-terminator:stop-action": "exec"}
    account.service("web", tags, [account.target_group("web")])

    result = account.cli(
        "verify", "--cluster", "prod", "--service", "web", "--wait-natural",
        "--timeout", "10s", "--json",
    )  # fmt: skip

    [line] = [x for x in result.err.splitlines() if x.startswith("stop action ")]
    assert line.startswith("stop action exec: missing enableExecuteCommand on service web")
    prerequisites = json.loads(result.out)["prerequisites"]
    assert prerequisites["action"] == "exec"
    assert prerequisites["ok"] is False


# -- the measurement, end to end in the simulator -----------------------------------------


def test_given_an_opted_in_service_when_verify_forces_a_deployment_then_stoptask_shortened_it() -> (
    None
):
    run = run_verify([*VERIFY, "--yes"])

    assert run.code == 0, run.err
    assert [c.get("forceNewDeployment") for c in run.update_service_calls] == [True]
    verdict = run.out.strip().splitlines()[-1]
    match = re.fullmatch(
        r"StopTask shortened the drain: stopped (\d+) s after drain start, "
        r"deregistration delay 300 s \(task \w+ began stopping \d+ s after our StopTask; "
        r"\d+ s saved\)",
        verdict,
    )
    assert match, verdict
    assert 120 <= int(match.group(1)) <= 125  # wait-seconds 120, stopped within a second or so
    assert "forced a new deployment" in run.out


def test_given_json_when_verify_in_the_simulator_then_the_measurement_is_one_document() -> None:
    run = run_verify([*VERIFY, "--yes", "--json"])

    assert run.code == 0, run.err
    verdict = json.loads(run.out)
    assert verdict["verdict"] == "shortened"
    assert verdict["drain_start_source"].startswith("ledger")
    assert verdict["deregistration_delay_seconds"] == 300
    assert 120.0 <= verdict["measured_seconds"] <= 125.0
    assert verdict["deployment_id"]
    assert "forced a new deployment" in run.err  # progress goes to stderr with --json


def test_given_wait_natural_when_the_service_deploys_by_itself_then_that_drain_is_measured() -> (
    None
):
    run = run_verify([*VERIFY, "--wait-natural", "--json"], verify_scenario(natural_deploy_at=60.0))

    assert run.code == 0, run.err
    # Only the scenario's own deployment: verify changed nothing.
    assert [bool(c.get("forceNewDeployment")) for c in run.update_service_calls] == [False]
    verdict = json.loads(run.out)
    assert verdict["verdict"] == "shortened"
    assert verdict["deployment_id"] is None


def test_given_stoptask_has_no_effect_when_verify_then_it_reports_the_drain_was_not_shortened() -> (
    None
):
    def ineffective_stop(call: AwsCall) -> Reply | None:
        # StopTask succeeds but ECS keeps the task draining: the case the product must detect.
        if call.service == "ecs" and call.operation == "StopTask":
            return Reply.json({"task": {"taskArn": call.params.get("task")}})
        return None

    run = run_verify([*VERIFY, "--yes", "--json"], hooks=[ineffective_stop])

    assert run.code == 3, run.err
    verdict = json.loads(run.out)
    assert verdict["verdict"] == "not-shortened"
    assert verdict["stop_requested_at"] is not None
    assert "did NOT shorten" in verdict["text"]
    assert "still draining" in verdict["text"]


def test_given_stoptask_is_denied_when_verify_then_the_task_was_not_stopped_by_the_terminator() -> (
    None
):
    def denied(call: AwsCall) -> Reply | None:
        if call.service == "ecs" and call.operation == "StopTask":
            return Reply.error("ecs", "AccessDeniedException", "not authorized to StopTask")
        return None

    run = run_verify([*VERIFY, "--yes", "--json"], hooks=[denied])

    assert run.code == 3, run.err
    verdict = json.loads(run.out)
    assert verdict["verdict"] == "not-stopped-by-terminator"
    assert verdict["stop_requested_at"] is None
    assert verdict["measured_seconds"] == pytest.approx(300.0, abs=5.0)  # ECS's own deadline
    # explain's decision for the record: the sweeper gave up after its five attempts.
    assert "StopTask was refused 5 time(s); left to ECS" in verdict["text"]


def test_given_an_action_when_verify_then_the_service_is_tagged_with_it_before_the_deployment() -> (
    None
):
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(call: AwsCall) -> Reply | None:
        recorded = {"TagResource", "UpdateService"}
        if call.service == "ecs" and call.attempt == 1 and call.operation in recorded:
            calls.append((call.operation, dict(call.params)))
        return None

    run = run_verify([*VERIFY, "--yes", "--json", "--action", "stop-task"], hooks=[record])

    assert run.code == 0, run.err
    assert [operation for operation, _ in calls] == ["TagResource", "UpdateService"]
    assert calls[0][1]["tags"] == [{"key": "drain-terminator:stop-action", "value": "stop-task"}]
    verdict = json.loads(run.out)
    assert verdict["verdict"] == "shortened"
    assert verdict["action"] == "stop-task"
    assert "stop action: drain-terminator:stop-action=stop-task" in run.err


def test_given_an_unknown_action_when_verify_then_it_is_a_usage_error(account: Account) -> None:
    account.service("web", OPTED_IN, [account.target_group("web")])

    result = account.cli("verify", "--cluster", "prod", "--service", "web", "--action", "kill-9")

    assert result.code == 2
    assert "invalid choice: 'kill-9'" in result.err
