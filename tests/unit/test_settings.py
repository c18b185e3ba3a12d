"""load_settings: required variables, defaults, and loud failures on malformed values."""

from __future__ import annotations

import pytest

from serverless.domain.errors import ConfigError
from serverless.domain.model import StopAction
from serverless.settings import Settings, load_settings

BASE = {"TABLE_NAME": "ledger"}


def test_given_only_table_name_when_loaded_then_documented_defaults() -> None:
    settings = load_settings(BASE)
    assert settings == Settings(
        table_name="ledger",
        tag_prefix="drain-terminator:",
        default_wait_seconds=120,
        sweep_horizon_seconds=90,
        lease_seconds=30,
        tag_cache_seconds=60,
        record_retention_seconds=604800,
        dry_run=False,
        confirm_after_seconds=60,
        sweeper_function_name="",
        early_start_below_seconds=120,
        decision_max_age_seconds=5,
        exec_enabled=False,
        ssm_signal_enabled=False,
        escalate_after_seconds=20,
        stop_signal="TERM",
        stop_command="",
    )
    # The defaults are the dataclass's own: load_settings states none of its own.
    assert settings == Settings(table_name="ledger")


@pytest.mark.parametrize("environ", [{}, {"TABLE_NAME": ""}, {"TABLE_NAME": "   "}])
def test_given_no_table_name_when_loaded_then_config_error_names_it(
    environ: dict[str, str],
) -> None:
    with pytest.raises(ConfigError, match="TABLE_NAME"):
        load_settings(environ)


def test_given_table_name_with_spaces_when_loaded_then_stripped() -> None:
    assert load_settings({"TABLE_NAME": " ledger\n"}).table_name == "ledger"


def test_given_no_environ_argument_when_loaded_then_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "from-os")
    monkeypatch.setenv("DEFAULT_WAIT_SECONDS", "45")
    settings = load_settings()
    assert settings.table_name == "from-os"
    assert settings.default_wait_seconds == 45


def test_given_every_variable_when_loaded_then_each_is_used() -> None:
    settings = load_settings(
        {
            "TABLE_NAME": "t",
            "TAG_PREFIX": "edt/",
            "DEFAULT_WAIT_SECONDS": "30",
            "SWEEP_HORIZON_SECONDS": "100",
            "LEASE_SECONDS": "20",
            "TAG_CACHE_SECONDS": "0",
            "RECORD_RETENTION_SECONDS": "3600",
            "DRY_RUN": "true",
            "CONFIRM_AFTER_SECONDS": "45",
            "SWEEPER_FUNCTION_NAME": " sweeper ",
            "EARLY_START_BELOW_SECONDS": "0",
            "DECISION_MAX_AGE_SECONDS": "2",
        }
    )
    assert settings == Settings("t", "edt/", 30, 100, 20, 0, 3600, True, 45, "sweeper", 0, 2)


@pytest.mark.parametrize("value", ["", "  "])
def test_given_blank_int_variable_when_loaded_then_default(value: str) -> None:
    assert load_settings({**BASE, "DEFAULT_WAIT_SECONDS": value}).default_wait_seconds == 120


def test_given_zero_default_wait_when_loaded_then_accepted() -> None:
    assert load_settings({**BASE, "DEFAULT_WAIT_SECONDS": "0"}).default_wait_seconds == 0


@pytest.mark.parametrize(
    "name",
    [
        "DEFAULT_WAIT_SECONDS",
        "SWEEP_HORIZON_SECONDS",
        "LEASE_SECONDS",
        "TAG_CACHE_SECONDS",
        "RECORD_RETENTION_SECONDS",
        "CONFIRM_AFTER_SECONDS",
    ],
)
@pytest.mark.parametrize("value", ["abc", "1.5", "12s", "0x10"])
def test_given_non_integer_variable_when_loaded_then_config_error_names_variable_and_value(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=rf"^{name} must be a whole number, got '{value}'"):
        load_settings({**BASE, name: value})


@pytest.mark.parametrize(
    ("name", "value", "minimum"),
    [
        ("DEFAULT_WAIT_SECONDS", "-1", 0),
        ("SWEEP_HORIZON_SECONDS", "-5", 0),
        ("LEASE_SECONDS", "19", 20),  # must outlive the longest StopTask call (15 s)
        ("DECISION_MAX_AGE_SECONDS", "0", 1),
        ("TAG_CACHE_SECONDS", "-1", 0),
        ("RECORD_RETENTION_SECONDS", "59", 60),
        ("CONFIRM_AFTER_SECONDS", "0", 1),
    ],
)
def test_given_integer_below_minimum_when_loaded_then_config_error(
    name: str, value: str, minimum: int
) -> None:
    with pytest.raises(ConfigError, match=rf"^{name} must be >= {minimum}, got {value}$"):
        load_settings({**BASE, name: value})


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "on", " True "])
def test_given_truthy_dry_run_when_loaded_then_dry_run(value: str) -> None:
    assert load_settings({**BASE, "DRY_RUN": value}).dry_run is True


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off", ""])
def test_given_falsy_dry_run_when_loaded_then_real_stops(value: str) -> None:
    assert load_settings({**BASE, "DRY_RUN": value}).dry_run is False


@pytest.mark.parametrize("value", ["maybe", "2", "tru", "enabled"])
def test_given_invalid_dry_run_when_loaded_then_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match=rf"^DRY_RUN must be true or false, got '{value}'"):
        load_settings({**BASE, "DRY_RUN": value})


@pytest.mark.parametrize("value", ["", "  "])
def test_given_empty_tag_prefix_when_loaded_then_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="TAG_PREFIX must not be empty"):
        load_settings({**BASE, "TAG_PREFIX": value})


def test_given_settings_when_mutated_then_refused() -> None:
    settings = load_settings(BASE)
    with pytest.raises(AttributeError):
        settings.dry_run = True  # type: ignore[misc]


# -- stop actions ---------------------------------------------------------------------------


def test_given_defaults_when_loaded_then_only_stop_task_and_it_is_the_default() -> None:
    settings = load_settings(BASE)
    assert settings.enabled_actions == {StopAction.STOP_TASK}
    assert settings.default_stop_action is StopAction.STOP_TASK
    assert settings.escalate_after_seconds < 60  # well under a minute


def test_given_exec_enabled_when_loaded_then_stop_task_then_exec_is_the_default() -> None:
    settings = load_settings({**BASE, "EXEC_ENABLED": "true", "SSM_SIGNAL_ENABLED": "1"})
    assert settings.enabled_actions == {
        StopAction.STOP_TASK,
        StopAction.EXEC,
        StopAction.SSM_SIGNAL,
    }
    assert settings.default_stop_action is StopAction.STOP_TASK_THEN_EXEC


def test_given_ssm_only_when_loaded_then_default_stays_stop_task() -> None:
    settings = load_settings({**BASE, "SSM_SIGNAL_ENABLED": "true"})
    assert settings.default_stop_action is StopAction.STOP_TASK


def test_given_signal_variables_when_loaded_then_normalised_and_kept() -> None:
    settings = load_settings(
        {
            **BASE,
            "ESCALATE_AFTER_SECONDS": "7",
            "STOP_SIGNAL": " SIGQUIT ",
            "STOP_COMMAND": " /app/bin/stop ",
        }
    )
    assert settings.escalate_after_seconds == 7
    assert settings.stop_signal == "SIGQUIT"
    assert settings.stop_command == "/app/bin/stop"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EXEC_ENABLED", "maybe"),
        ("SSM_SIGNAL_ENABLED", "2"),
        ("ESCALATE_AFTER_SECONDS", "0"),
        ("ESCALATE_AFTER_SECONDS", "soon"),
        ("STOP_SIGNAL", "TERMINATE NOW"),
    ],
)
def test_given_bad_stop_action_variable_when_loaded_then_config_error_names_it(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**BASE, name: value})


def test_given_member_variables_when_loaded_then_a_hub_with_its_role_and_external_id() -> None:
    settings = load_settings(
        {
            **BASE,
            "MEMBER_ACCOUNT_IDS": " 222233334444, 555566667777 ,",
            "MEMBER_ROLE_ARN_TEMPLATE": "arn:{partition}:iam::{account}:role/hub/member-{region}",
            "MEMBER_EXTERNAL_ID": "ext-1",
        }
    )
    assert settings.is_hub
    assert settings.member_account_ids == frozenset({"222233334444", "555566667777"})
    assert settings.member_external_id == "ext-1"
    assert (
        settings.member_role_arn("aws", "222233334444", "eu-west-1")
        == "arn:aws:iam::222233334444:role/hub/member-eu-west-1"
    )


def test_given_no_member_variables_when_loaded_then_single_account_with_the_module_role() -> None:
    settings = load_settings(BASE)
    assert not settings.is_hub
    assert settings.member_external_id is None
    assert (
        settings.member_role_arn("aws", "222233334444", "us-east-1")
        == "arn:aws:iam::222233334444:role/ecs-drain-terminator-member-us-east-1"
    )


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("MEMBER_ACCOUNT_IDS", "2222333344", "12-digit"),
        ("MEMBER_ACCOUNT_IDS", "222233334444,team-b", "12-digit"),
        ("MEMBER_ROLE_ARN_TEMPLATE", "arn:aws:iam::{acount}:role/x", "may use only"),
        ("MEMBER_ROLE_ARN_TEMPLATE", "arn:aws:iam::222233334444:role/x", "with {account}"),
        ("MEMBER_ROLE_ARN_TEMPLATE", "role/{account}", "IAM role ARN"),
    ],
)
def test_given_malformed_member_variable_when_loaded_then_config_error_names_it(
    name: str, value: str, match: str
) -> None:
    with pytest.raises(ConfigError, match=name) as raised:
        load_settings({**BASE, name: value})
    assert match in str(raised.value)
