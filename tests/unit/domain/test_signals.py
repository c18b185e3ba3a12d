"""Signal delivery's values: the command to send, what an exit status means, bounds."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.domain.signals import (
    OUTPUT_LIMIT,
    Missing,
    SignalCommand,
    SignalOutcome,
    SignalResult,
    bounded_output,
    outcome_of_exit_status,
)


def test_given_defaults_when_a_command_is_made_then_it_sends_sigterm_to_pid_1() -> None:
    assert SignalCommand().shell_command == "kill -TERM 1"


@pytest.mark.parametrize(
    ("signal", "expected"),
    [("TERM", "TERM"), ("SIGTERM", "TERM"), ("sigint", "INT"), ("USR1", "USR1"), ("15", "15")],
)
def test_given_a_signal_name_or_number_when_made_then_it_is_normalised(
    signal: str, expected: str
) -> None:
    command = SignalCommand(signal=signal, pid=7)

    assert command.signal == expected
    assert command.shell_command == f"kill -{expected} 7"


@pytest.mark.parametrize("signal", ["", "TERM; reboot", "-9", "TERM 1", "$(id)"])
def test_given_something_that_is_not_a_signal_when_made_then_value_error(signal: str) -> None:
    with pytest.raises(ValueError, match="signal"):
        SignalCommand(signal=signal)


def test_given_a_non_positive_pid_or_blank_command_when_made_then_value_error() -> None:
    with pytest.raises(ValueError, match="pid"):
        SignalCommand(pid=0)
    with pytest.raises(ValueError, match="blank"):
        SignalCommand(command="  ")


def test_given_a_command_of_the_users_when_made_then_it_replaces_kill() -> None:
    assert SignalCommand(command="/app/stop --graceful").shell_command == "/app/stop --graceful"


@pytest.mark.parametrize(
    ("status", "outcome", "missing"),
    [
        (0, SignalOutcome.SIGNALLED, None),
        (1, SignalOutcome.COMMAND_FAILED, None),
        (126, SignalOutcome.PREREQUISITE_MISSING, Missing.PROGRAM_MISSING),
        (127, SignalOutcome.PREREQUISITE_MISSING, Missing.PROGRAM_MISSING),
        (137, SignalOutcome.COMMAND_FAILED, None),
    ],
)
def test_given_an_exit_status_when_judged_then_its_meaning(
    status: int, outcome: SignalOutcome, missing: Missing | None
) -> None:
    assert outcome_of_exit_status(status) == (outcome, missing)


def test_given_long_output_when_bounded_then_its_end_is_kept_and_marked() -> None:
    text = "a" * OUTPUT_LIMIT + "the error at the end"

    kept = bounded_output(text)

    assert len(kept) == OUTPUT_LIMIT
    assert kept.startswith("…")
    assert kept.endswith("the error at the end")
    assert bounded_output("short") == "short"


@pytest.mark.parametrize(
    ("outcome", "delivered"),
    [(o, o in {SignalOutcome.SIGNALLED, SignalOutcome.UNCONFIRMED}) for o in SignalOutcome],
)
def test_given_each_outcome_when_asked_then_only_signalled_or_unconfirmed_delivered(
    outcome: SignalOutcome, delivered: bool
) -> None:
    result = SignalResult(action="exec", outcome=outcome, elapsed=1.0)

    assert result.delivered is delivered


def test_given_a_result_when_changed_then_it_refuses_frozen() -> None:
    result = SignalResult(action="exec", outcome=SignalOutcome.SIGNALLED, elapsed=0.5)

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcome = SignalOutcome.REFUSED  # type: ignore[misc]
