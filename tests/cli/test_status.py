"""`drain-terminator status`: open drains, deferrals, recent stops, problems (on moto)."""

from __future__ import annotations

import json

from serverless.domain.model import ActionTaken, Outcome, RecordStatus, StopAction
from tests.cli.conftest import NOW, OPTED_IN, Account


def _populate(account: Account) -> dict[str, str]:
    tg = account.target_group("web")
    account.service("web", {**OPTED_IN, "drain-terminator:min-healthy-percent": "100"}, [tg])
    account.service("legacy", {}, [])
    tasks = {name: account.task("web", "RUNNING", "STOPPED") for name in ("due", "deferred")}
    tasks.update(
        {name: account.task("web", "STOPPED", "STOPPED") for name in ("stopped", "late", "unc")}
    )
    account.record(tasks["due"], drain_started_at=NOW - 30)  # due in 90 s
    account.record(
        tasks["deferred"],
        drain_started_at=NOW - 200,
        deferrals=2,
        defer_reason="1 healthy target(s) in web/0123, need 2 (100% of desired 2)",
        due_at=NOW + 10,
    )
    account.stopped_record(tasks["stopped"])
    account.stopped_record(
        tasks["late"], drain_started_at=NOW - 900, stop_requested_at=NOW - 900 + 150, deferrals=1
    )
    account.stopped_record(
        tasks["unc"],
        outcome=Outcome.UNCONFIRMED,
        stopping_at=None,
        confirmation_seconds=None,
        closed_at=NOW - 300,
    )
    # Closed long ago: outside the default one-hour window.
    account.stopped_record(account.task("web", "STOPPED", "STOPPED"), drain_started_at=NOW - 9000)
    return tasks


def test_given_open_deferred_and_stopped_drains_when_status_json_then_each_is_reported(
    account: Account,
) -> None:
    tasks = _populate(account)

    result = account.cli("status", "--json")

    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["totals"] == {
        "open": 2,
        "deferred": 1,
        "stopped": 3,
        "unconfirmed": 1,
        "stop_failed": 0,
        "prerequisite_missing": 0,
        "dry_run": 0,
        "left_to_ecs": 0,
    }
    (web,) = report["services"]
    assert web["policy"]["min_healthy_percent"] == 100
    assert web["policy"]["enabled"] is True
    deferred, due = web["open"]  # earliest due first
    assert due["task_arn"] == tasks["due"]
    assert due["due_in_seconds"] == 90.0
    assert due["deferred"] is None
    assert deferred["deferred"]["guard"] == "min-healthy-percent"
    assert deferred["deferred"]["times"] == 2
    late = next(s for s in web["recent_stops"] if s["task_arn"] == tasks["late"])
    on_time = next(s for s in web["recent_stops"] if s["task_arn"] == tasks["stopped"])
    assert late["after_deadline_seconds"] == 30.0
    assert late["deferrals"] == 1
    assert on_time["after_deadline_seconds"] == 1.0
    assert [u["task_arn"] for u in web["unconfirmed"]] == [tasks["unc"]]


def test_given_records_when_status_as_text_then_people_see_a_table_per_service(
    account: Account,
) -> None:
    tasks = _populate(account)

    result = account.cli("status")

    assert result.code == 0, result.err
    text = result.out
    assert "2 open drain(s) (1 deferred)" in text
    assert (
        "service web (cluster prod, account 111122223333, region us-east-1): "
        "opted in, wait 120 s, min-healthy 100%"
    ) in text
    due_line = next(line for line in text.splitlines() if tasks["due"].rsplit("/", 1)[-1] in line)
    assert "90 s" in due_line
    deferred_line = next(
        line for line in text.splitlines() if tasks["deferred"].rsplit("/", 1)[-1] in line
    )
    assert "min-healthy-percent: 1 healthy target(s)" in deferred_line
    assert "UNCONFIRMED stops" in text


def test_given_a_longer_window_when_status_since_3h_then_older_stops_count(
    account: Account,
) -> None:
    _populate(account)

    short = json.loads(account.cli("status", "--json").out)
    long = json.loads(account.cli("status", "--json", "--since", "3h").out)

    assert long["totals"]["stopped"] == short["totals"]["stopped"] + 1


def test_given_a_service_that_opted_out_since_when_status_then_it_says_so(
    account: Account,
) -> None:
    account.service("web", {"drain-terminator:enabled": "false"}, [])
    account.record(account.task("web", "RUNNING", "STOPPED"))

    result = account.cli("status")

    assert result.code == 0, result.err
    assert "NOT opted in now" in result.out


def test_given_a_stop_awaiting_confirmation_past_its_check_when_status_then_it_is_unconfirmed(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "RUNNING", "STOPPED")
    account.record(
        task,
        status=RecordStatus.STOP_REQUESTED,
        drain_started_at=NOW - 300,
        stop_requested_at=NOW - 180,
        due_at=NOW - 120,
    )

    report = json.loads(account.cli("status", "--json").out)

    (web,) = report["services"]
    assert [u["task_arn"] for u in web["unconfirmed"]] == [task]


def test_given_an_empty_ledger_when_status_then_it_says_nothing_drained(account: Account) -> None:
    result = account.cli("status")

    assert result.code == 0
    assert "no records" in result.out


def test_given_two_services_when_status_for_one_then_only_that_one_is_listed(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    account.service("api", OPTED_IN, [])
    account.record(account.task("web", "RUNNING", "STOPPED"), service="web")
    account.record(account.task("api", "RUNNING", "STOPPED"), service="api")

    report = json.loads(account.cli("status", "--json", "--service", "api").out)

    assert [s["service"] for s in report["services"]] == ["api"]


def test_given_an_unknown_service_when_status_for_it_then_it_is_not_found(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])

    result = account.cli("status", "--service", "nope")

    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        "drain-terminator: error: service 'nope' not found: no ledger records, and no service "
        "of that name in any cluster of region us-east-1\n"
    )


def test_given_a_service_without_records_when_status_for_it_then_it_says_no_records(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])

    result = account.cli("status", "--service", "web", "--cluster", "prod")

    assert result.code == 0, result.err
    assert (
        "service web (cluster prod, account 111122223333, region us-east-1): opted in, wait 120 s"
    ) in result.out
    assert "no records: none of its drains is in the ledger" in result.out


def test_given_stop_actions_when_status_then_who_stopped_and_missing_prerequisites_shown(
    account: Account,
) -> None:
    account.service("web", {**OPTED_IN, "drain-terminator:stop-action": "exec"}, [])
    by_exec = account.task("web", "STOPPED", "STOPPED")
    missing = account.task("web", "STOPPED", "STOPPED")
    account.stopped_record(
        by_exec,
        drain_started_at=NOW - 600,
        plan=(StopAction.EXEC,),
        actions=(ActionTaken(StopAction.EXEC, NOW - 479, "SIGNALLED"),),
    )
    account.stopped_record(
        missing,
        drain_started_at=NOW - 600,
        stop_requested_at=None,
        outcome=Outcome.PREREQUISITE_MISSING,
        plan=(StopAction.EXEC,),
        actions=(
            ActionTaken(StopAction.EXEC, NOW - 479, "PREREQUISITE_MISSING", "AGENT_NOT_CONNECTED"),
        ),
    )

    result = account.cli("status", "--json")
    report = json.loads(result.out)

    [service] = report["services"]
    assert service["policy"]["stop_action"] == "exec"
    assert [s["stopped_by"] for s in service["recent_stops"]] == ["exec"]
    assert [s["steps"] for s in service["prerequisite_missing"]] == [["exec:PREREQUISITE_MISSING"]]
    assert report["totals"]["prerequisite_missing"] == 1
    text = account.cli("status").out
    assert "stop-action exec" in text
    assert "PREREQUISITE MISSING, left to ECS" in text


def test_given_exec_enabled_in_the_environment_when_status_then_untagged_default_shown(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    task = account.task("web", "STOPPED", "STOPPED")
    account.stopped_record(task)

    plain = json.loads(account.cli("status", "--json").out)
    with_exec = json.loads(account.cli("status", "--json", EXEC_ENABLED="true").out)

    assert plain["services"][0]["policy"]["stop_action"] == "stop-task"
    assert with_exec["services"][0]["policy"]["stop_action"] == "stop-task-then-exec"


MEMBER = "222233334444"


def test_given_a_hubs_ledger_when_status_then_each_service_shows_its_account_and_region(
    account: Account,
) -> None:
    account.service("web", OPTED_IN, [])
    account.record(account.task("web", "RUNNING", "STOPPED"))
    # A member account's drain in the hub's ledger (its cluster is the member's).
    member_cluster = account.cluster_arn.replace(":111122223333:", f":{MEMBER}:")
    member_task = f"arn:aws:ecs:us-east-1:{MEMBER}:task/prod/0123456789abcdef0123456789abcdef"
    account.record(member_task, service="api", cluster_arn=member_cluster)

    report = json.loads(account.cli("status", "--json").out)
    text = account.cli("status").out

    where = {s["service"]: (s["account"], s["region"]) for s in report["services"]}
    assert where == {"web": ("111122223333", "us-east-1"), "api": (MEMBER, "us-east-1")}
    assert f"service api (cluster prod, account {MEMBER}, region us-east-1)" in text
    only = json.loads(account.cli("status", "--json", "--account", MEMBER).out)
    assert [(s["service"], s["account"]) for s in only["services"]] == [("api", MEMBER)]


def test_given_a_malformed_account_when_status_then_a_usage_error(account: Account) -> None:
    result = account.cli("status", "--account", "team-a")

    assert result.code == 2
    assert "not a 12-digit account id: 'team-a'" in result.err
