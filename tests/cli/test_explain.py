"""`drain-terminator explain TASK`: history and decision in words (on moto)."""

from __future__ import annotations

import json

import pytest

from serverless.domain.model import ActionTaken, Outcome, RecordStatus, StopAction
from tests.cli.conftest import NOW, OPTED_IN, REASON, Account


def _short(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def test_given_a_task_the_terminator_stopped_when_explained_then_it_says_when_and_why(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "STOPPED", "STOPPED")
    account.stopped_record(task, drain_started_at=NOW - 600)

    result = account.cli("explain", task)

    assert result.code == 0, result.err
    assert "decision (stopped)" in result.out
    assert f"stopped at 2026-11-28 09:52:01Z for reason '{REASON}', 121 s after" in result.out
    assert "began stopping 1 s later" in result.out
    history = result.out.split("history\n", 1)[1].split("decision", 1)[0].splitlines()
    assert history[0].startswith("  2026-11-28 09:50:00Z  drain began")
    assert "StopTask sent" in history[1]
    assert "record closed: stopped_by_terminator" in history[-1]
    # Which account and region the task is in (a hub acts for several accounts).
    facts = json.loads(account.cli("explain", task, "--json").out)
    assert (facts["account"], facts["region"]) == ("111122223333", "us-east-1")
    assert "account: 111122223333" in result.out


def test_given_a_task_id_instead_of_an_arn_when_explained_then_the_record_is_found(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "RUNNING", "STOPPED")
    account.record(task, drain_started_at=NOW - 30)

    result = account.cli("explain", _short(task), "--json")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["task_arn"] == task
    assert document["decision"]["kind"] == "not-yet"
    assert "due in 90 s" in document["decision"]["text"]


def test_given_a_deferred_drain_when_explained_then_the_guard_and_its_value_are_named(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "RUNNING", "STOPPED")
    account.record(
        task,
        drain_started_at=NOW - 200,
        deferrals=1,
        defer_reason="max 2 stop(s) per minute for the service",
        due_at=NOW + 20,
    )

    document = json.loads(account.cli("explain", task, "--json").out)

    assert document["decision"]["kind"] == "deferred"
    assert "stagger (max-stops-per-minute)" in document["decision"]["text"]
    assert "max 2 stop(s) per minute" in document["decision"]["text"]
    assert "looks again in 20 s" in document["decision"]["text"]


def test_given_a_drain_ecs_ended_itself_when_explained_then_it_was_left_to_ecs(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "STOPPED", "STOPPED")
    account.record(
        task,
        drain_started_at=NOW - 600,
        status=RecordStatus.CLOSED,
        outcome=Outcome.STOPPED_BY_ECS,
        closed_at=NOW - 590,
        stopped_reason="Essential container in task exited",
    )

    document = json.loads(account.cli("explain", task, "--json").out)

    assert document["decision"]["kind"] == "left-to-ecs"
    assert "before the terminator's deadline" in document["decision"]["text"]
    assert "Essential container in task exited" in document["decision"]["text"]


def test_given_an_unconfirmed_stop_when_explained_then_it_says_the_stop_had_no_effect(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "RUNNING", "STOPPED")
    account.stopped_record(
        task, outcome=Outcome.UNCONFIRMED, stopping_at=None, confirmation_seconds=None
    )

    document = json.loads(account.cli("explain", task, "--json").out)

    assert document["decision"]["kind"] == "unconfirmed"
    assert "had no effect" in document["decision"]["text"]


def test_given_a_task_of_a_service_that_did_not_opt_in_when_explained_then_tags_are_shown(
    account: Account,
) -> None:
    account.service("legacy", {"drain-terminator:enabled": "no", "team": "a"}, [])
    task = account.task("legacy", "RUNNING", "STOPPED")

    result = account.cli("explain", task)

    assert result.code == 0, result.err
    assert "decision (not-opted-in)" in result.out
    assert "service 'legacy' has drain-terminator:enabled=no (tags read now" in result.out


def test_given_a_standalone_task_when_explained_then_it_is_not_a_service_task(
    account: Account,
) -> None:
    task = account.task(None)

    document = json.loads(account.cli("explain", task, "--json").out)

    assert document["decision"]["kind"] == "not-a-service-task"


def test_given_an_opted_in_draining_task_without_record_when_explained_then_it_says_untracked(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "RUNNING", "STOPPED")

    document = json.loads(account.cli("explain", task, "--json").out)

    assert document["decision"]["kind"] == "not-tracked"
    assert "did not receive the event" in document["decision"]["text"]


def test_given_an_unknown_task_when_explained_then_one_line_error_and_exit_1(
    account: Account,
) -> None:
    result = account.cli(
        "explain", "arn:aws:ecs:us-east-1:111122223333:task/prod/0123456789abcdef0123456789abcdef"
    )

    assert result.code == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert result.err.startswith("drain-terminator: error: task ")
    assert "not found" in result.err


def test_given_a_bare_id_without_record_or_cluster_when_explained_then_it_asks_for_the_cluster(
    account: Account,
) -> None:
    result = account.cli("explain", "0123456789abcdef0123456789abcdef")

    assert result.code == 1
    assert "pass --cluster" in result.err


@pytest.mark.parametrize(
    ("partition", "region"),
    [("aws", "us-east-1"), ("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")],
)
def test_given_old_format_task_arn_without_record_or_cluster_when_explained_then_asks_cluster(
    account: Account, partition: str, region: str
) -> None:
    # task/<id> names no cluster (started before the account enabled long ARNs).
    arn = f"arn:{partition}:ecs:{region}:111122223333:task/0123456789abcdef0123456789abcdef"

    result = account.cli("explain", arn)

    assert result.code == 1
    assert "pass --cluster" in result.err


def test_given_a_tombstone_when_explained_then_it_says_the_stop_came_before_any_drain_event(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "STOPPED", "STOPPED")
    account.record(
        task,
        drain_started_at=NOW - 100,
        status=RecordStatus.CLOSED,
        outcome=Outcome.STOPPED_BY_ECS,
        stopped_at=NOW - 101,
        closed_at=NOW - 99,
        stopped_reason="Scaling activity initiated by (deployment ecs-svc/1)",
    )

    document = json.loads(account.cli("explain", task, "--json").out)

    assert document["decision"]["kind"] == "left-to-ecs"
    assert "before any drain event reached the terminator" in document["decision"]["text"]
    assert "tombstone" in document["history"][0]["event"]
    assert all("drain began" not in h["event"] for h in document["history"])


def test_given_a_due_drain_of_a_dry_run_service_when_explained_then_it_is_only_logged(
    account: Account,
) -> None:
    account.service("web", {**OPTED_IN, "drain-terminator:dry-run": "true"}, [])
    task = account.task("web", "RUNNING", "STOPPED")
    account.record(task, drain_started_at=NOW - 200)

    decision = json.loads(account.cli("explain", task, "--json").out)["decision"]

    assert decision["kind"] == "due"
    assert "the next sweeper pass stops it" not in decision["text"]
    assert "the service is in dry-run: the next sweeper pass only logs" in decision["text"]
    assert "StopTask is not called" in decision["text"]


def test_given_a_due_drain_of_a_live_service_when_explained_then_the_next_pass_stops_it(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "RUNNING", "STOPPED")
    account.record(task, drain_started_at=NOW - 200)

    decision = json.loads(account.cli("explain", task, "--json").out)["decision"]

    assert decision["text"] == "due 80 s ago; the next sweeper pass stops it"


def test_given_a_deactivating_task_without_record_when_explained_then_not_called_not_draining(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "DEACTIVATING", "RUNNING")

    decision = json.loads(account.cli("explain", task, "--json").out)["decision"]

    assert decision["kind"] == "deactivating"
    assert "not draining" not in decision["text"]
    assert "targets are being deregistered" in decision["text"]


def _escalated(account: Account, task: str, exec_outcome: str, **fields: object) -> None:
    started = NOW - 600
    account.stopped_record(
        task,
        drain_started_at=started,
        plan=(StopAction.STOP_TASK, StopAction.EXEC),
        actions=(
            ActionTaken(StopAction.STOP_TASK, started + 121, "SENT"),
            ActionTaken(
                StopAction.EXEC,
                started + 141,
                exec_outcome,
                missing="EXEC_NOT_ENABLED" if exec_outcome == "PREREQUISITE_MISSING" else None,
                detail="fake detail",
            ),
        ),
        **fields,
    )


def test_given_a_task_exec_stopped_after_stoptask_when_explained_then_each_step_shown(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "STOPPED", "STOPPED")
    _escalated(account, task, "SIGNALLED", stopping_at=NOW - 600 + 142)

    result = account.cli("explain", task)

    assert result.code == 0, result.err
    assert "stop plan: stop-task, exec" in result.out
    assert "stopped by: exec" in result.out
    assert "stop action stop-task: SENT, 121 s after drain start" in result.out
    assert "stop action exec: SIGNALLED, 141 s after drain start" in result.out
    assert "stopped by exec (steps: stop-task SENT, exec SIGNALLED)" in result.out


def test_given_exec_missing_a_prerequisite_when_explained_then_cause_and_left_to_ecs(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "STOPPED", "STOPPED")
    _escalated(account, task, "PREREQUISITE_MISSING", outcome=Outcome.PREREQUISITE_MISSING)

    result = account.cli("explain", task, "--json")

    assert result.code == 0, result.err
    decision = json.loads(result.out)["decision"]
    assert decision["kind"] == "prerequisite-missing"
    assert decision["text"].startswith("left to ECS: exec lacks EXEC_NOT_ENABLED")


def test_given_an_escalation_pending_when_explained_then_the_next_step_and_when(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "DEACTIVATING", "STOPPED")
    account.record(
        task,
        drain_started_at=NOW - 130,
        plan=(StopAction.STOP_TASK, StopAction.EXEC),
        actions=(ActionTaken(StopAction.STOP_TASK, NOW - 10, "SENT"),),
        stop_requested_at=NOW - 10,
        due_at=NOW + 10,
    )

    result = account.cli("explain", task, "--json")

    decision = json.loads(result.out)["decision"]
    assert decision["kind"] == "escalating"
    assert "steps so far: stop-task SENT; exec follows at" in decision["text"]


def test_given_a_run_died_during_the_last_step_when_explained_then_awaiting_confirmation(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "DEACTIVATING", "STOPPED")
    account.record(
        task,
        drain_started_at=NOW - 200,
        plan=(StopAction.EXEC,),
        actions=(ActionTaken(StopAction.EXEC, NOW - 79, "STARTED"),),
        due_at=NOW + 6,
    )

    decision = json.loads(account.cli("explain", task, "--json").out)["decision"]

    assert decision["kind"] == "awaiting-confirmation"
    assert decision["text"].startswith("steps: exec STARTED; every step of the plan was taken")
