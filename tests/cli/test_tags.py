"""`drain-terminator tags`: the terminator's own rules, then TagResource (or print)."""

from __future__ import annotations

import json
from typing import Any

from serverless.cli.prerequisites import EXEC_ROLE_ACTIONS
from serverless.domain.tags import parse_policy
from tests.cli.conftest import OPTED_IN, Account, TtyInput


def _tags(account: Account, arn: str) -> dict[str, str]:
    listed = account.ecs.list_tags_for_resource(resourceArn=arn)["tags"]
    return {t["key"]: t["value"] for t in listed}


def test_given_an_untagged_service_when_tags_applied_then_the_service_opts_in_as_asked(
    account: Account,
) -> None:
    arn = account.service("web", {"team": "payments"})

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--wait", "90",
        "--min-healthy-percent", "100", "--max-stops-per-minute", "2",
    )  # fmt: skip

    assert result.code == 0, result.err
    tags = _tags(account, arn)
    assert tags == {
        "team": "payments",
        "drain-terminator:enabled": "true",
        "drain-terminator:wait-seconds": "90",
        "drain-terminator:min-healthy-percent": "100",
        "drain-terminator:max-stops-per-minute": "2",
    }
    policy = parse_policy(tags, "drain-terminator:", 120)
    assert policy.warnings == ()
    assert (policy.policy.wait_seconds, policy.policy.max_stops_per_minute) == (90, 2)
    assert f"tagged {arn}:" in result.out


DRY_RUN_SERVICE = {
    "drain-terminator:enabled": "true",
    "drain-terminator:dry-run": "true",
    "drain-terminator:wait-seconds": "150",
}


def test_given_a_service_in_dry_run_when_one_guard_is_added_then_only_that_tag_changes(
    account: Account,
) -> None:
    arn = account.service("web", {**DRY_RUN_SERVICE, "team": "a"})

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--max-stops-per-minute", "2", "--json"
    )

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["changed"] == {"drain-terminator:max-stops-per-minute": "2"}
    assert document["removed"] == []
    assert _tags(account, arn) == {
        **DRY_RUN_SERVICE,
        "team": "a",
        "drain-terminator:max-stops-per-minute": "2",
    }


def test_given_a_service_in_dry_run_when_replace_without_yes_and_no_terminal_then_refused(
    account: Account,
) -> None:
    arn = account.service("web", DRY_RUN_SERVICE)

    result = account.cli("tags", "--cluster", "prod", "--service", "web", "--replace")

    assert result.code == 1
    assert result.err == (
        "drain-terminator: error: refusing to end dry-run of service web without "
        "confirmation: stdin is not a terminal; pass --yes\n"
    )
    assert _tags(account, arn) == DRY_RUN_SERVICE


def test_given_a_service_in_dry_run_when_replace_with_yes_then_the_set_is_exactly_the_given(
    account: Account,
) -> None:
    arn = account.service("web", {**DRY_RUN_SERVICE, "team": "a"})

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--replace", "--yes", "--json"
    )

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["ends_dry_run"] is True
    assert document["removed"] == ["drain-terminator:dry-run", "drain-terminator:wait-seconds"]
    assert _tags(account, arn) == {"drain-terminator:enabled": "true", "team": "a"}


def test_given_a_terminal_when_ending_dry_run_then_it_asks_and_no_keeps_the_tags(
    account: Account,
) -> None:
    arn = account.service("web", DRY_RUN_SERVICE)

    declined = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--no-dry-run", stdin=TtyInput("n\n")
    )
    kept = _tags(account, arn)
    accepted = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--no-dry-run", stdin=TtyInput("y\n")
    )

    assert declined.code == 1
    assert "End dry-run of service web (its draining tasks will be stopped early" in declined.err
    assert kept == DRY_RUN_SERVICE
    assert accepted.code == 0, accepted.err
    assert _tags(account, arn) == {
        "drain-terminator:enabled": "true",
        "drain-terminator:wait-seconds": "150",
    }


def test_given_an_opted_in_service_when_opt_out_without_yes_then_refused_and_with_yes_done(
    account: Account,
) -> None:
    arn = account.service("web", {"drain-terminator:enabled": "true"})

    refused = account.cli("tags", "--cluster", "prod", "--service", "web", "--opt-out")
    done = account.cli("tags", "--cluster", "prod", "--service", "web", "--opt-out", "--yes")

    assert refused.code == 1
    assert "refusing to opt out service web without confirmation" in refused.err
    assert done.code == 0, done.err
    assert _tags(account, arn) == {"drain-terminator:enabled": "false"}


def test_given_a_guard_when_removed_then_only_it_goes(account: Account) -> None:
    arn = account.service("web", {**OPTED_IN, "drain-terminator:min-healthy-percent": "50"})

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--remove", "min-healthy-percent"
    )

    assert result.code == 0, result.err
    assert _tags(account, arn) == OPTED_IN


def test_given_a_wait_not_shorter_than_the_delay_when_tagged_then_it_warns(
    account: Account,
) -> None:
    arn = account.service("web", {}, [account.target_group("web", delay=90)])

    result = account.cli("tags", "--cluster", "prod", "--service", "web", "--wait", "120")

    assert result.code == 0, result.err
    assert _tags(account, arn)["drain-terminator:wait-seconds"] == "120"
    assert (
        "drain-terminator: warning: wait-seconds 120 is not shorter than the deregistration "
        "delay of targetgroup/web/"
    ) in result.err
    assert "(90 s): ECS ends the drain first" in result.err


def test_given_an_invalid_guard_value_when_tags_then_nothing_is_tagged_and_the_rule_is_named(
    account: Account,
) -> None:
    arn = account.service("web", {})

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--min-healthy-percent", "150"
    )

    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "drain-terminator:min-healthy-percent='150' must be 0-100" in result.err
    assert _tags(account, arn) == {}


def test_given_a_wait_that_is_not_whole_seconds_when_tags_then_refused(account: Account) -> None:
    account.service("web", {})

    result = account.cli("tags", "--cluster", "prod", "--service", "web", "--wait", "2m")

    assert result.code == 1
    assert "not a whole number of seconds" in result.err


def test_given_print_when_tags_then_cli_and_terraform_forms_are_shown_without_calling_aws() -> None:
    import io

    from serverless.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    # No clients and no region: any AWS call would fail.
    code = main(
        [
            "tags", "--print", "--cluster", "arn:aws:ecs:eu-west-1:111122223333:cluster/prod",
            "--service", "web", "--wait", "120", "--dry-run",
        ],
        stdout=out, stderr=err, environ={},
    )  # fmt: skip

    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert (
        "aws ecs tag-resource --resource-arn arn:aws:ecs:eu-west-1:111122223333:service/prod/web "
        "--tags key=drain-terminator:enabled,value=true "
        "key=drain-terminator:wait-seconds,value=120 key=drain-terminator:dry-run,value=true"
    ) in text
    assert '"drain-terminator:wait-seconds" = "120"' in text
    assert "tags = {" in text


def test_given_a_service_that_does_not_exist_when_tags_then_one_line_error(
    account: Account,
) -> None:
    result = account.cli("tags", "--cluster", "prod", "--service", "nope")

    assert result.code == 1
    assert result.err == "drain-terminator: error: service 'nope' not found in cluster 'prod'\n"


def test_given_json_when_the_user_declines_then_the_answer_is_one_json_document(
    account: Account,
) -> None:
    account.service("web", DRY_RUN_SERVICE)

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--no-dry-run", "--json",
        stdin=TtyInput("n\n"),
    )  # fmt: skip

    assert result.code == 1
    assert json.loads(result.out) == {
        "error": {"type": "declined", "message": "nothing changed"},
        "exit_status": 1,
    }


def test_given_stop_action_exec_when_tags_applied_then_one_line_says_what_is_missing(
    account: Account,
) -> None:
    arn = account.service("web", {}, [account.target_group("web-tg")])

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--stop-action", "exec",
        "--stop-signal", "SIGINT",
    )  # fmt: skip

    assert result.code == 0, result.err
    assert _tags(account, arn)["drain-terminator:stop-action"] == "exec"
    assert _tags(account, arn)["drain-terminator:stop-signal"] == "SIGINT"
    [line] = [line for line in result.out.splitlines() if line.startswith("prerequisites:")]
    assert line.startswith("prerequisites: exec: missing enableExecuteCommand on service web")
    assert "a task role" in line


def test_given_exec_ready_service_when_tags_then_role_checked_by_the_iam_simulator(
    account: Account,
) -> None:
    import io

    import boto3
    from botocore.stub import Stubber

    from serverless.cli.app import main
    from tests.cli.conftest import TABLE

    role = "arn:aws:iam::111122223333:role/web-task"
    definition = account.ecs.register_task_definition(
        family="web-exec",
        networkMode="bridge",
        taskRoleArn=role,
        containerDefinitions=[{"name": "web", "image": "web:1", "essential": True, "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    account.ecs.create_service(
        cluster=account.cluster_arn,
        serviceName="api",
        taskDefinition=definition,
        desiredCount=1,
        launchType="FARGATE",
        enableExecuteCommand=True,
        loadBalancers=[
            {"targetGroupArn": account.target_group("api-tg"), "containerName": "web",
             "containerPort": 80}
        ],
    )  # fmt: skip

    def exec_enabled(parsed: dict[str, Any], **_: Any) -> None:
        # moto does not keep enableExecuteCommand: what ECS returns for this service.
        for service in parsed.get("services", []):
            service["enableExecuteCommand"] = service.get("serviceName") == "api"

    account.ecs.meta.events.register("after-call.ecs.DescribeServices", exec_enabled)
    iam = boto3.client("iam", region_name="us-east-1")
    stub = Stubber(iam)
    stub.add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {"EvalActionName": "ssmmessages:CreateControlChannel", "EvalDecision": "allowed"},
                {"EvalActionName": "ssmmessages:CreateDataChannel", "EvalDecision": "allowed"},
                {"EvalActionName": "ssmmessages:OpenControlChannel", "EvalDecision": "allowed"},
                {"EvalActionName": "ssmmessages:OpenDataChannel", "EvalDecision": "implicitDeny"},
            ],
            "IsTruncated": False,
        },
        {"PolicySourceArn": role, "ActionNames": list(EXEC_ROLE_ACTIONS)},
    )
    out, err = io.StringIO(), io.StringIO()
    with stub:
        code = main(
            ["tags", "--cluster", "prod", "--service", "api", "--stop-action",
             "stop-task-then-exec", "--json"],
            stdout=out, stderr=err, stdin=io.StringIO(), clock=account.clock,
            clients={**account.clients, "iam": iam}, environ={"TABLE_NAME": TABLE},
        )  # fmt: skip

    assert code == 0, err.getvalue()
    prerequisites = json.loads(out.getvalue())["prerequisites"]
    assert prerequisites["missing"] == [f"ssmmessages:OpenDataChannel on task role {role}"]
    assert prerequisites["unchecked"] == ["/bin/sh and kill in the image"]
    stub.assert_no_pending_responses()


def test_given_print_with_stop_action_when_tags_then_prerequisites_not_checked() -> None:
    import io

    from serverless.cli.app import main

    out = io.StringIO()
    code = main(
        ["tags", "--cluster", "prod", "--service", "web", "--stop-action", "exec", "--print"],
        stdout=out, stderr=io.StringIO(), stdin=io.StringIO(), environ={"TABLE_NAME": "t"},
    )  # fmt: skip

    assert code == 0
    assert "drain-terminator:stop-action = exec" in out.getvalue()
    assert "prerequisites: not checked (--print reads nothing from AWS)" in out.getvalue()


def test_given_an_invalid_signal_when_tags_then_refused_with_the_rule(account: Account) -> None:
    account.service("web", {})

    result = account.cli(
        "tags", "--cluster", "prod", "--service", "web", "--stop-signal", "TERMINATE NOW"
    )

    assert result.code != 0
    assert "not a signal name or number" in result.err
