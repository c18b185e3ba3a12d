"""The premise command's table and the action it points to (pure)."""

from __future__ import annotations

from serverless.cli.verify import (
    NOT_SHORTENED,
    NOT_STOPPED_BY_TERMINATOR,
    SHORTENED,
    TIMEOUT,
    Verdict,
)
from tools.premise.report import (
    EFFECTIVE,
    HEADERS,
    IGNORED,
    NO_EFFECT,
    NOT_MEASURED,
    REFUSED,
    Row,
    advice,
    render,
    row_from_verdict,
    row_not_measured,
)

DRAIN = 1_765_015_200.0  # 2025-12-06T10:00:00Z


def _verdict(kind: str, measured: float | None, text: str = "what verify said") -> Verdict:
    return Verdict(
        kind,
        text,
        task_arn="arn:aws:ecs:eu-west-1:111122223333:task/premise/abc",
        drain_started_at=DRAIN,
        stopping_at=None if measured is None else DRAIN + measured,
        measured_seconds=measured,
        deregistration_delay=600,
        wait_seconds=30,
    )


def test_given_a_shortened_drain_when_rowed_then_effective_and_the_rest_of_the_delay_saved() -> (
    None
):
    row = row_from_verdict("stop-task", "premise-fargate", _verdict(SHORTENED, 34.4))

    assert row.verdict == EFFECTIVE
    assert row.saved_seconds == 600 - 34.4
    assert row.cells() == (
        "stop-task",
        "premise-fargate",
        "10:00:00Z",
        "10:00:34Z (+34 s)",
        "600 s",
        "566 s",
        "effective",
    )


def test_given_stoptask_kept_draining_when_rowed_then_it_is_ignored_and_saves_nothing() -> None:
    row = row_from_verdict("stop-task", "web", _verdict(NOT_SHORTENED, None))

    assert (row.verdict, row.saved_seconds) == (IGNORED, 0.0)
    assert row.cells()[3] == "-"


def test_given_a_signal_action_kept_draining_when_rowed_then_it_had_no_effect() -> None:
    for action in ("exec", "stop-task-then-exec", "ssm-signal"):
        assert row_from_verdict(action, "web", _verdict(NOT_SHORTENED, 600.0)).verdict == NO_EFFECT


def test_given_no_verdict_when_rowed_then_inconclusive_or_timeout_and_no_saving() -> None:
    inconclusive = row_from_verdict("exec", "web", _verdict(NOT_STOPPED_BY_TERMINATOR, 600.0))
    timeout = row_from_verdict("exec", "web", _verdict(TIMEOUT, None))

    assert (inconclusive.verdict, inconclusive.saved_seconds) == ("inconclusive", None)
    assert (timeout.verdict, timeout.saved_seconds) == ("timeout", None)


def test_given_rows_when_rendered_then_one_aligned_table_then_each_verdict_in_full() -> None:
    rows = [
        row_from_verdict("stop-task", "web", _verdict(NOT_SHORTENED, None, "StopTask did NOT")),
        row_from_verdict("exec", "web", _verdict(SHORTENED, 52.0, "the exec action shortened")),
        row_not_measured("ssm-signal", "web-ec2", "service 'web-ec2' has not opted in"),
    ]

    lines = render(rows).splitlines()

    assert lines[0].split("  ")[0] == HEADERS[0]
    assert [line.split()[0] for line in lines[1:4]] == ["stop-task", "exec", "ssm-signal"]
    # Aligned: every row's verdict column starts where the header's does.
    column = lines[0].index("verdict")
    assert [line[column:] for line in lines[1:4]] == ["ignored", "effective", NOT_MEASURED]
    assert lines[4] == ""
    assert lines[5:] == [
        "stop-task: StopTask did NOT",
        "exec: the exec action shortened",
        "ssm-signal: service 'web-ec2' has not opted in",
    ]


def _rows(**verdicts: str) -> list[Row]:
    return [Row(action.replace("_", "-"), "web", word) for action, word in verdicts.items()]


def test_given_stoptask_effective_when_advised_then_stop_task() -> None:
    assert advice(_rows(stop_task=EFFECTIVE, exec=EFFECTIVE)).startswith("choose stop-task:")


def test_given_stoptask_ignored_and_exec_effective_when_advised_then_stop_task_then_exec() -> None:
    rows = _rows(stop_task=IGNORED, exec=NO_EFFECT, stop_task_then_exec=EFFECTIVE)

    assert advice(rows).startswith("choose stop-task-then-exec")


def test_given_exec_without_effect_and_ssm_effective_when_advised_then_ssm_signal_on_ec2() -> None:
    rows = _rows(
        stop_task=IGNORED, exec=NO_EFFECT, stop_task_then_exec=NO_EFFECT, ssm_signal=EFFECTIVE
    )

    assert advice(rows).startswith("choose ssm-signal on EC2")


def test_given_nothing_effective_when_advised_then_drains_are_left_to_ecs() -> None:
    rows = _rows(stop_task=IGNORED, exec=NO_EFFECT, stop_task_then_exec=NO_EFFECT)

    assert "left to ECS" in advice(rows)


def test_given_stoptask_unmeasured_when_advised_then_no_conclusion() -> None:
    assert advice(_rows(stop_task=NOT_MEASURED, exec=EFFECTIVE)).startswith("no conclusion")


def test_given_the_readme_when_read_then_its_table_is_what_the_renderer_prints() -> None:
    """The README's illustration of the table is this renderer's output for these rows."""
    from sim.terraform import REPO_ROOT

    start = 1_765_015_452.0  # 10:04:12Z
    rows = [
        row_from_verdict("stop-task", "drain-premise-fargate", _at(start, None)),
        row_from_verdict("exec", "drain-premise-fargate", _at(start + 748, 39.0)),
        row_from_verdict("stop-task-then-exec", "drain-premise-fargate", _at(start + 953, 59.0)),
    ]
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```text\naction ", 1)[1].split("```", 1)[0]

    assert "action " + block.rstrip("\n") == render(rows).split("\n\n", 1)[0].rstrip("\n")


def _at(drain: float, measured: float | None) -> Verdict:
    kind = SHORTENED if measured is not None else NOT_SHORTENED
    return Verdict(
        kind,
        "",
        drain_started_at=drain,
        stopping_at=None if measured is None else drain + measured,
        measured_seconds=measured,
        deregistration_delay=600,
    )


def test_given_exec_refused_and_ssm_effective_when_advised_then_ssm_signal() -> None:
    refused = row_from_verdict(
        "exec", "web", _verdict(NOT_SHORTENED, None), steps=("exec:PREREQUISITE_MISSING",)
    )
    rows = [Row("stop-task", "web", IGNORED), refused, Row("ssm-signal", "web-ec2", EFFECTIVE)]

    assert refused.verdict == REFUSED
    assert refused.detail.endswith("Steps: exec:PREREQUISITE_MISSING.")
    assert advice(rows).startswith("choose ssm-signal on EC2")
