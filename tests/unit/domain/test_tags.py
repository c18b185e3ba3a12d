"""Tags to policy: opt-in, wait, guards and dry-run, with a warning for each bad value."""

from __future__ import annotations

import pytest

from serverless.domain.model import (
    ServicePolicy,
    StopAction,
    UnhealthyAction,
)
from serverless.domain.tags import parse_policy
from tests.support.fakes import task_arn

P = "drain-terminator:"
DEFAULT = 120
T0 = 1_795_341_600.0  # 2026-11-22T10:00:00Z
TASK = task_arn("a1")
RETENTION = 7 * 24 * 3600
CONFIRM = 60.0


def policy_of(**tags: str) -> tuple[ServicePolicy, tuple[str, ...]]:
    result = parse_policy({P + k.replace("_", "-"): v for k, v in tags.items()}, P, DEFAULT)
    return result.policy, result.warnings


# -- parse_policy: enabled ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "tRuE", " true ", "true\n"])
def test_given_enabled_tag_true_in_any_case_when_parsed_then_opted_in(value: str) -> None:
    policy, warnings = policy_of(enabled=value)
    assert policy.enabled is True
    assert warnings == ()


@pytest.mark.parametrize("value", ["false", "yes", "1", "on", "", "truee", "t"])
def test_given_enabled_tag_not_true_when_parsed_then_not_opted_in(value: str) -> None:
    assert policy_of(enabled=value)[0].enabled is False


def test_given_no_tags_when_parsed_then_disabled_with_defaults_and_no_warnings() -> None:
    result = parse_policy({}, P, DEFAULT)
    assert result.policy == ServicePolicy(enabled=False, wait_seconds=DEFAULT)
    assert result.warnings == ()


def test_given_tags_with_other_prefix_when_parsed_then_they_are_ignored() -> None:
    result = parse_policy({"other:enabled": "true", "enabled": "true"}, P, DEFAULT)
    assert result.policy.enabled is False


def test_given_custom_prefix_when_parsed_then_tags_read_under_it() -> None:
    result = parse_policy({"edt/enabled": "true", "edt/wait-seconds": "30"}, "edt/", DEFAULT)
    assert result.policy.enabled is True
    assert result.policy.wait_seconds == 30


# -- parse_policy: wait-seconds -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("1", 1), ("30", 30), ("0300", 300), (" 45 ", 45), ("999999999", 999_999_999)],
)
def test_given_valid_wait_tag_when_parsed_then_wait_is_the_tag(value: str, expected: int) -> None:
    policy, warnings = policy_of(enabled="true", wait_seconds=value)
    assert policy.wait_seconds == expected
    assert warnings == ()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("-5", id="negative"),
        pytest.param("1.5", id="fraction"),
        pytest.param("30s", id="unit"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("\u0663\u0660", id="arabic-indic-digits"),
        pytest.param("\uff13\uff10", id="fullwidth-digits"),
        pytest.param("\u00b2", id="superscript-two"),
        pytest.param("+30", id="plus-sign"),
        pytest.param("1_000", id="underscore"),
        pytest.param("0x1e", id="hex"),
        pytest.param("ten", id="word"),
        pytest.param("1000000000", id="ten-digits"),
        pytest.param("9" * 39, id="more-than-dynamodb-holds"),
        pytest.param("1" * 255, id="as-long-as-a-tag-value"),
    ],
)
def test_given_invalid_wait_tag_when_parsed_then_default_wait_and_warning_naming_tag_and_value(
    value: str,
) -> None:
    policy, warnings = policy_of(enabled="true", wait_seconds=value)
    assert policy.wait_seconds == DEFAULT
    assert policy.wait_seconds != 0
    assert len(warnings) == 1
    assert f"{P}wait-seconds" in warnings[0]
    assert repr(value) in warnings[0]
    assert f"default {DEFAULT}s" in warnings[0]


@pytest.mark.parametrize("value", ["9" * 39, "0" * 8 + "1" * 9])
def test_given_guard_values_of_more_than_nine_digits_when_parsed_then_guards_off_with_warnings(
    value: str,
) -> None:
    policy, warnings = policy_of(
        enabled="true", max_stops_per_minute=value, min_healthy_percent=value
    )
    assert policy.max_stops_per_minute is None
    assert policy.min_healthy_percent is None
    assert len(warnings) == 2
    assert policy_of(enabled="true", max_stops_per_minute="9" * 9)[0].max_stops_per_minute


def test_given_invalid_wait_tag_and_zero_default_when_parsed_then_zero_default_is_used() -> None:
    result = parse_policy({P + "wait-seconds": "x"}, P, 0)
    assert result.policy.wait_seconds == 0
    assert len(result.warnings) == 1


# -- parse_policy: guards ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("50", 50), ("100", 100), (" 7", 7)])
def test_given_valid_min_healthy_tag_when_parsed_then_guard_set(value: str, expected: int) -> None:
    policy, warnings = policy_of(min_healthy_percent=value)
    assert policy.min_healthy_percent == expected
    assert warnings == ()


@pytest.mark.parametrize("value", ["101", "-1", "50%", "", "half", "\u0665\u0660"])
def test_given_invalid_min_healthy_tag_when_parsed_then_guard_off_with_warning(value: str) -> None:
    policy, warnings = policy_of(min_healthy_percent=value)
    assert policy.min_healthy_percent is None
    assert len(warnings) == 1
    assert f"{P}min-healthy-percent={value!r}" in warnings[0]
    assert "guard is off" in warnings[0]


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("6", 6), ("600", 600)])
def test_given_valid_max_stops_tag_when_parsed_then_guard_set(value: str, expected: int) -> None:
    policy, warnings = policy_of(max_stops_per_minute=value)
    assert policy.max_stops_per_minute == expected
    assert warnings == ()


@pytest.mark.parametrize("value", ["0", "-2", "1.5", "", "many"])
def test_given_invalid_max_stops_tag_when_parsed_then_not_staggered_with_warning(
    value: str,
) -> None:
    policy, warnings = policy_of(max_stops_per_minute=value)
    assert policy.max_stops_per_minute is None
    assert len(warnings) == 1
    assert f"{P}max-stops-per-minute={value!r}" in warnings[0]


# -- parse_policy: dry-run ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), ("false", False)])
def test_given_valid_dry_run_tag_when_parsed_then_as_tagged(value: str, expected: bool) -> None:
    policy, warnings = policy_of(dry_run=value)
    assert policy.dry_run is expected
    assert warnings == ()


def test_given_no_dry_run_tag_when_parsed_then_real_stops() -> None:
    assert policy_of(enabled="true")[0].dry_run is False


@pytest.mark.parametrize("value", ["yes", "flase", "", "0", "no"])
def test_given_mistyped_dry_run_tag_when_parsed_then_fail_safe_dry_run_with_warning(
    value: str,
) -> None:
    policy, warnings = policy_of(enabled="true", dry_run=value)
    assert policy.dry_run is True
    assert len(warnings) == 1
    assert f"{P}dry-run={value!r}" in warnings[0]


def test_given_several_invalid_tags_when_parsed_then_one_warning_each() -> None:
    _, warnings = policy_of(
        enabled="true", wait_seconds="x", min_healthy_percent="y", max_stops_per_minute="z"
    )
    assert len(warnings) == 3


# -- parse_policy: unhealthy -----------------------------------------------------------------


def test_given_no_unhealthy_tag_when_parsed_then_unhealthy_drains_are_stopped_early() -> None:
    policy, warnings = policy_of(enabled="true")
    assert policy.unhealthy is UnhealthyAction.STOP_EARLY
    assert warnings == ()


@pytest.mark.parametrize(
    ("value", "action"),
    [
        ("leave", UnhealthyAction.LEAVE),
        (" LEAVE ", UnhealthyAction.LEAVE),
        ("stop-early", UnhealthyAction.STOP_EARLY),
    ],
)
def test_given_unhealthy_tag_when_parsed_then_its_action(
    value: str, action: UnhealthyAction
) -> None:
    policy, warnings = policy_of(enabled="true", unhealthy=value)
    assert policy.unhealthy is action
    assert warnings == ()


def test_given_mistyped_unhealthy_tag_when_parsed_then_left_to_ecs_with_a_warning() -> None:
    # Fail safe, as for dry-run: a typo must not turn early stops on.
    policy, warnings = policy_of(enabled="true", unhealthy="stop")
    assert policy.unhealthy is UnhealthyAction.LEAVE
    assert len(warnings) == 1
    assert "drain-terminator:unhealthy='stop'" in warnings[0]


# -- parse_policy: stop action ----------------------------------------------------------------


def stop_policy_of(
    default: StopAction = StopAction.STOP_TASK, **tags: str
) -> tuple[ServicePolicy, tuple[str, ...]]:
    result = parse_policy(
        {P + k.replace("_", "-"): v for k, v in tags.items()}, P, DEFAULT, default
    )
    return result.policy, result.warnings


@pytest.mark.parametrize("action", list(StopAction))
def test_given_stop_action_tag_when_parsed_then_that_action(action: StopAction) -> None:
    policy, warnings = stop_policy_of(stop_action=f" {str(action).upper()} ")
    assert policy.stop_action is action
    assert warnings == ()


@pytest.mark.parametrize(
    "default", [StopAction.STOP_TASK, StopAction.STOP_TASK_THEN_EXEC], ids=["plain", "exec-on"]
)
def test_given_no_stop_action_tag_when_parsed_then_module_default(default: StopAction) -> None:
    policy, warnings = stop_policy_of(default)
    assert policy.stop_action is default
    assert warnings == ()


@pytest.mark.parametrize("value", ["", "kill", "stop_task", "exec,ssm-signal"])
def test_given_invalid_stop_action_when_parsed_then_default_and_warning(value: str) -> None:
    policy, warnings = stop_policy_of(StopAction.STOP_TASK_THEN_EXEC, stop_action=value)
    assert policy.stop_action is StopAction.STOP_TASK_THEN_EXEC
    [warning] = warnings
    assert f"{P}stop-action={value!r}" in warning
    assert "using the default stop-task-then-exec" in warning


def test_given_signal_tags_when_parsed_then_container_signal_command_fallback_set() -> None:
    policy, warnings = stop_policy_of(
        exec_container=" app ",
        stop_signal="sigint",
        stop_command="/app/bin/drain --now",
        ssm_fallback="TRUE",
    )
    assert (policy.exec_container, policy.stop_signal, policy.stop_command) == (
        "app",
        "INT",
        "/app/bin/drain --now",
    )
    assert policy.ssm_fallback is True
    assert warnings == ()


def test_given_no_signal_tags_when_parsed_then_module_defaults_apply() -> None:
    policy, _ = stop_policy_of()
    assert policy.exec_container is None
    assert policy.stop_signal is None
    assert policy.stop_command is None
    assert policy.ssm_fallback is False


@pytest.mark.parametrize(
    ("tag", "value", "says"),
    [
        ("stop_signal", "TERMINATE NOW", "not a signal name or number"),
        ("stop_signal", "", "not a signal name or number"),
        ("exec_container", "  ", "is empty"),
        ("stop_command", " ", "is empty"),
        ("ssm_fallback", "yes", "is not true or false; no ssm-signal fallback"),
    ],
)
def test_given_invalid_signal_tag_when_parsed_then_default_and_warning(
    tag: str, value: str, says: str
) -> None:
    policy, warnings = stop_policy_of(**{tag: value})
    assert getattr(policy, tag) in {None, False}
    [warning] = warnings
    assert says in warning
