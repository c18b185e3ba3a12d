"""`drain-terminator tags`: the terminator's own rules, then TagResource (or print)."""

from __future__ import annotations

import json

from serverless.domain.tags import parse_policy
from tests.cli.conftest import Account


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


def test_given_a_service_in_dry_run_when_tags_applied_without_it_then_the_tag_is_removed(
    account: Account,
) -> None:
    arn = account.service(
        "web", {"drain-terminator:enabled": "true", "drain-terminator:dry-run": "true"}
    )

    result = account.cli("tags", "--cluster", "prod", "--service", "web", "--json")

    assert result.code == 0, result.err
    assert json.loads(result.out)["removed"] == ["drain-terminator:dry-run"]
    assert _tags(account, arn) == {"drain-terminator:enabled": "true"}


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
